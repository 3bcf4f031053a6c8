"""Messages at a 1024x768 desk: the owner writes the clinic's own reminder wording, previews it with
sample values (rendered by the server: no script), saves it, finds a failed reminder in the message
log with the provider's error, and sends it again. Screenshots and axe on each page."""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from notifications.models import Channel, Message, MessageStatus, Template
from tests.browser.conftest import recovery_code, sign_in
from tests.factories.scheduling import book, clinic_setup, daytime_branch
from tests.helpers import committed
from tests.notifications.message_world import settled, written

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}


def _failed_reminder(chain):  # type: ignore[no-untyped-def]
    """A patient booked in three days whose reminder e-mail bounced (a mistyped address)."""
    with committed(), schema_context(chain.schema):
        branch = daytime_branch(chain)
        clinic = clinic_setup(
            chain, branch=branch, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
        )
        patient = clinic.patient("Wanda")
        appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner, patient=patient)
        return settled(
            written(patient=patient, appointment=appointment, channel=Channel.EMAIL, recipient="wanda@example.com"),
            MessageStatus.FAILED,
            error="550 5.1.1 The address does not exist.",
        )


def test_the_owner_words_the_reminder_previews_it_and_resends_a_failed_one(page, live, browser_chain, shot, axe):
    failed = _failed_reminder(browser_chain)
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["owner"].email, recovery_code(browser_chain, "owner"))

    # the owner opens Settings, then Messaging, then the wording of the SMS reminder in English
    page.goto(f"{live}/settings/messages/")
    expect(page.get_by_role("heading", name="Reminders and messages", level=1)).to_be_visible()
    expect(page.get_by_label("Reminders before each appointment")).to_have_value("1d, 2h")
    shot("messages-settings-1024")
    axe("messages-settings")
    page.get_by_role("link", name="What the messages say").click()
    expect(page.get_by_role("heading", name="Message wording", level=1)).to_be_visible()
    shot("messages-wording-1024")
    axe("messages-wording")
    page.get_by_role("link", name="Edit the reminder by SMS in English").click()
    expect(page.get_by_role("heading", name="Reminder by SMS, English")).to_be_visible()

    # she types the clinic's own wording and previews it: filled with sample values, nothing saved
    page.get_by_label("Message").fill("Charlie Clinic: {patient}, see you {when} at {branch}. Reply C or X.")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview-body")
    expect(preview).to_have_text("Charlie Clinic: Anna, see you Mon 2 Mar, 10:30 at Riverside. Reply C or X.")
    expect(page.get_by_text("one SMS.")).to_be_visible()
    shot("messages-wording-preview-1024")
    axe("messages-wording-preview")
    with committed(), schema_context(browser_chain.schema):
        assert not Template.objects.filter(kind="reminder", channel="sms", language="en").exists()

    # template code is refused, naming the placeholders she may use
    page.get_by_label("Message").fill("Hi {{ patient.__class__ }}")
    page.get_by_role("button", name="Save wording").click()
    expect(
        page.get_by_text(re.compile(r"Template code is not allowed\. Use only these placeholders: \{patient\}")).first
    ).to_be_visible()
    axe("messages-wording-refused")

    # she saves her wording
    page.get_by_label("Message").fill("Charlie Clinic: {patient}, see you {when} at {branch}. Reply C or X.")
    page.get_by_role("button", name="Save wording").click()
    expect(page.get_by_text("Wording saved: messages written from now on use it.")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        assert Template.objects.get(kind="reminder", channel="sms", language="en").body.startswith("Charlie Clinic")

    # the message log shows the failed reminder with the provider's error
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages", exact=True).click()
    expect(page.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show").click()
    row = page.locator("#messages tbody tr", has_text="wanda@example.com")
    expect(row.get_by_text("Failed", exact=True)).to_be_visible()
    expect(row.get_by_text(re.compile("Error: 550 5.1.1"))).to_be_visible()
    shot("messages-log-failed-1024")
    axe("messages-log")

    # she opens it and sends it again: a new message, due now, in the log
    row.get_by_role("link", name=re.compile("Details of the reminder")).click()
    expect(page.get_by_role("heading", name="Reminder by E-mail")).to_be_visible()
    shot("messages-detail-failed-1024")
    axe("messages-detail")
    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("Sent again: the new message below goes out now.")).to_be_visible()
    shot("messages-detail-resent-1024")
    axe("messages-detail-resent")
    with committed(), schema_context(browser_chain.schema):
        resent = Message.objects.get(resend_of_id=failed.pk)
        assert resent.due_at <= timezone.now()
        assert resent.status in (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.SENT), resent.last_error

    # the patient's record leads to her messages: the bounced one and the one sent again
    page.goto(f"{live}/patients/{failed.patient_id}/")
    page.get_by_role("main").get_by_role("link", name="Messages", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Messages to Wanda"), level=1)).to_be_visible()
    expect(page.locator("#patient-messages tbody tr", has_text="wanda@example.com")).to_have_count(2)
    shot("messages-patient-1024")
    axe("messages-patient")

    # nothing scrolls sideways at the desk
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
    with committed(), schema_context(browser_chain.schema):
        Message.objects.filter(resend_of_id=failed.pk).delete()
        Template.objects.filter(kind="reminder").delete()
