"""Messages at a 1024x768 desk: the owner writes the clinic's own reminder wording, previews it with
sample values (rendered by the server: no script), saves it, finds a failed reminder in the message
log with the provider's error, and sends it again. Screenshots and axe on each page."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from notifications.models import Channel, Message, MessageStatus, Template
from tenants.org.models import Branch, ChainSettings
from tests.browser.conftest import recovery_code, sign_in
from tests.factories.scheduling import book, clinic_setup, daytime_branch
from tests.helpers import committed, second_factor_code
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
    with committed(), schema_context(browser_chain.schema):  # the preview names the chain's own first branch
        first_branch = Branch.objects.filter(is_active=True).order_by("name").values_list("name", flat=True).first()
    expect(preview).to_have_text(f"Charlie Clinic: Anna, see you Mon 2 Mar, 10:30 at {first_branch}. Reply C or X.")
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
    expect(page.get_by_role("heading", name="Reminder by e-mail")).to_be_visible()
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
        settled(resent, MessageStatus.SENT)

    # once the resend went, the failure's page says what happened and asks before sending it once more
    page.goto(f"{live}/messages/{failed.pk}/")
    expect(page.get_by_role("link", name=re.compile("^Sent again on"))).to_be_visible()
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
    expect(page.get_by_label("Yes, send it once more")).not_to_be_checked()
    shot("messages-detail-sent-again-1024")
    axe("messages-detail-sent-again")

    # the patient's record leads to her messages: the bounced one and the one sent again
    page.goto(f"{live}/patients/{failed.patient_id}/")
    expect(page.get_by_text("E-mail: about visits unless withdrawn; follow-ups not agreed")).to_be_visible()
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


def test_the_log_opens_on_failures_and_what_is_due_and_a_waiting_reminder_shows_its_text(
    page, live, browser_chain, shot, axe
):
    # given a bounced reminder e-mail and the SMS reminder of the same visit, due in two hours
    failed = _failed_reminder(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        appointment = failed.appointment
        waiting = written(
            patient=failed.patient,
            appointment=appointment,
            recipient="+447911123470",
            due_at=timezone.now() + timedelta(hours=2),
        )
        service, doctor = str(appointment.service), appointment.doctor.user.get_full_name()
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["owner"].email, recovery_code(browser_chain, "owner"))

    # when the owner opens the message log
    page.goto(f"{live}/messages/")
    # then the failures are counted on opening, the waiting reminder is due next, naming its visit with a link
    expect(page.get_by_role("link", name=re.compile(r"^Failed \(\d+\)$"))).to_be_visible()
    due = page.locator("#messages-due tbody tr", has_text="+447911123470")
    expect(due).to_contain_text(service)
    expect(due).to_contain_text(doctor)
    expect(due.get_by_role("link", name=re.compile("^The appointment on"))).to_have_attribute(
        "href", re.compile(rf"focus={appointment.pk}$")
    )
    shot("messages-log-opens-1024")
    axe("messages-log-opens")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]

    # and the failures' tab lists the bounced e-mail
    page.get_by_role("link", name=re.compile(r"^Failed \(")).click()
    expect(page.locator(f"#messages a[href='/messages/{failed.pk}/']")).to_be_visible()
    expect(page.locator("#messages tbody tr", has_text="+447911123470")).to_have_count(0)
    shot("messages-log-failed-tab-1024")
    axe("messages-log-failed-tab")

    # and the waiting reminder's page shows its text as it would be sent now, and its language by name
    page.goto(f"{live}/messages/{waiting.pk}/")
    expect(page.get_by_text("As it would be sent now", exact=False)).to_be_visible()
    expect(page.locator("#preview")).to_contain_text(doctor)
    expect(page.get_by_text("English", exact=False).first).to_be_visible()
    shot("messages-detail-preview-1024")
    axe("messages-detail-preview")
    with committed(), schema_context(browser_chain.schema):
        Message.objects.filter(pk=waiting.pk).delete()


def _cut(page, selector: str) -> bool:
    """Whether the element's text is cut (wider than its box)."""
    return page.evaluate(
        f"(() => {{ const e = document.querySelector({selector!r}); return e.scrollWidth > e.clientWidth; }})()"
    )


@pytest.mark.parametrize("role", ["owner", "receptionist", "branch_manager", "doctor"])
def test_the_top_navigation_fits_at_1024_without_cutting_the_chain_or_account(page, live, browser_chain, shot, role):
    # given a chain with a long name
    with committed(), schema_context(browser_chain.schema):
        chain = ChainSettings.objects.get(pk=1)
        name = chain.name
        ChainSettings.objects.filter(pk=1).update(name="Northwind Health and Wellbeing")
        code = second_factor_code(browser_chain.users[role])
    try:
        page.set_viewport_size(DESK)
        sign_in(page, live, browser_chain.users[role].email, code)
        # when each role opens its home page at 1024x768
        page.goto(f"{live}/")
        bar = page.get_by_role("navigation", name="Main")
        expect(bar.get_by_role("link", name="Northwind Health and Wellbeing")).to_be_visible()
        # then neither the chain's name nor "Account" is cut, and every place is on screen
        assert not _cut(page, "header.top .brand")
        assert not _cut(page, "header.top .who")
        assert not _cut(page, "header.top .nav-links")
        for link in bar.locator(".nav-links a").all():
            box = link.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= DESK["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
        shot(f"nav-{role}-1024")
        # and at 390 px the bar still fits the phone, every place in sight (they wrap onto rows of their own)
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.querySelector('header.top').scrollWidth") <= 390
        assert not _cut(page, "header.top .who")
        for link in bar.locator(".nav-links a").all():
            box = link.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 390, link.inner_text()
        shot(f"nav-{role}-390")
    finally:
        with committed(), schema_context(browser_chain.schema):
            ChainSettings.objects.filter(pk=1).update(name=name)
