"""What staff read on the message pages after acting: a failure sent again (the Failed part and its
count leave it out, its page says what happened and asks before one more resend), the settings'
answer counting the messages held by quiet hours, the wording page after a refused Save and for a
reader who may not save, and a refusal logged as one line."""

from __future__ import annotations

import logging
from datetime import time
from typing import Any

import pytest

from notifications import services
from notifications.models import Message, MessageStatus
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import sign_in
from tests.notifications.message_world import settled, written

pytestmark = pytest.mark.django_db

EDIT = "/settings/messages/templates/reminder/sms/en/"


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    return clinic_setup(in_a, doctors=1)


def _failed(clinic: Clinic) -> Message:
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    return settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)


def test_a_failure_sent_again_leaves_the_failed_tab_and_its_page_asks_before_one_more(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a failed reminder that reception sent again, and the resend was sent
    failed = _failed(clinic)
    settled(services.message_resend(actor=clinic.receptionist, message=failed), MessageStatus.SENT)
    sign_in(client, in_a.users["receptionist"])
    # when reception opens the log's Failed part
    html = client.get("/messages/?show=failed", HTTP_HOST=in_a.host).content.decode()
    # then the handled failure is not listed and not counted
    assert f'href="/messages/{failed.pk}/"' not in html
    assert "Failed (1)" not in html
    assert "one sent again that went (sent or delivered) is left out" in html
    # when she opens the failure's page
    page = client.get(f"/messages/{failed.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then it says it was sent again and went, and asks before sending it once more
    assert "Sent again on" in page
    assert "This message was sent again already." in page
    assert 'name="confirm" value="1" required' in page
    assert ">Send again</button>" not in page
    # when she posts Send again without confirming, then nothing more is written and she is told why
    answer = client.post(f"/messages/{failed.pk}/resend/", HTTP_HOST=in_a.host, follow=True)
    assert "was sent again on" in answer.content.decode()
    assert Message.objects.filter(resend_of=failed).count() == 1
    # when she confirms, then one more resend is written
    client.post(f"/messages/{failed.pk}/resend/", {"confirm": "1"}, HTTP_HOST=in_a.host)
    assert Message.objects.filter(resend_of=failed).count() == 2


def test_after_a_refused_save_the_preview_says_save_would_refuse_it(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    # when the owner saves a wording with a misspelt placeholder
    answer = client.post(EDIT, {"action": "save", "body": "Hi {paitent}, see you {when}."}, HTTP_HOST=in_a.host)
    # then the save is refused, and the preview box says it shows what was typed, which Save refused
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "{paitent}" in html
    assert "Preview of what you typed" in html
    assert "Save would refuse it" in html


def test_a_manager_reading_the_built_in_wording_is_not_asked_to_save_her_own(in_a: Chain, client: Any):
    sign_in(client, in_a.users["branch_manager"])
    html = client.get(EDIT, HTTP_HOST=in_a.host).content.decode()
    assert "The built-in wording." in html
    assert "save your own" not in html


def test_saving_new_quiet_hours_counts_the_messages_they_held(in_a: Chain, client: Any, time_machine):
    from notifications.dispatch import messages_dispatch
    from scheduling.intervals import wall_clock
    from tests.notifications.sent_world import messaging
    from tests.notifications.test_held_and_resent import _confirmation

    # given a confirmation written at 22:00, held by quiet hours 21:00-08:00
    messaging(quiet=(time(21), time(8)))
    clinic = clinic_setup(in_a, doctors=1)
    night = wall_clock(clinic.days_ahead(2), time(22), clinic.tz)
    time_machine.move_to(night, tick=False)
    patient = clinic.patient()
    patient.email = "held@example.com"
    patient.save(update_fields=["email"])
    message = _confirmation(clinic, patient, due_at=night)
    messages_dispatch(now=night)
    sign_in(client, in_a.users["owner"])
    # when the owner sets quiet hours 23:00-07:00 on the settings page
    data = {
        "reminder_offsets": "1d, 2h",
        "quiet_hours_start": "23:00",
        "quiet_hours_end": "07:00",
        "email_enabled": "on",
    }
    page = client.post("/settings/messages/", data, HTTP_HOST=in_a.host, follow=True).content.decode()
    # then the confirmation is due now, and the page counts it and states the rule
    message.refresh_from_db()
    assert message.due_at == night
    assert "Held for quiet hours and given the new time: 1 message (confirmations, notices); 1 goes now." in page
    assert "Changing the quiet hours gives each one still waiting the new end" in page


def test_a_refused_page_is_logged_as_one_line_without_a_traceback(in_a: Chain, client: Any, caplog):
    sign_in(client, in_a.users["doctor"])
    # when a doctor opens the replies page she may not see
    with caplog.at_level(logging.WARNING, logger="django.request"):
        answer = client.get("/messages/replies/", HTTP_HOST=in_a.host)
    # then she is refused, and the refusal is logged once, as one line
    assert answer.status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert len(refusals) == 1
    assert refusals[0].exc_info is None
    assert "Forbidden" in refusals[0].getMessage()
