"""The message log and a message's page as staff read them: each message names the appointment it
is about (its day and time on the branch's clock, service, doctor, linked on the book); a waiting
message shows its text as the sender would write it now (secrets masked as the log masks them, no
link issued for it); the log opens on what matters (the failures counted, what is due next the
soonest first, what was sent the latest first); the language reads as a name."""

from __future__ import annotations

import html as html_lib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, timezone

from notifications.dispatch import messages_dispatch_all, messages_recover
from notifications.models import Channel, Kind, Message, MessageStatus, MessagingSettings
from scheduling import services as sched
from scheduling.models import Appointment, ManageLink
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import sign_in
from tests.notifications.message_world import settled, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Chain) -> Iterator[Clinic]:
    """One doctor; the clock at 10:00 tomorrow on the branch's wall (outside quiet hours: texts go
    when dispatched)."""
    clinic = clinic_setup(in_a, doctors=1)
    with clinic.morning_of(clinic.days_ahead(1)):
        yield clinic


def _on_the_branch_clock(appointment: Appointment) -> str:
    with timezone.override(ZoneInfo(appointment.branch.timezone)):
        return formats.date_format(timezone.localtime(appointment.span.lower), "SHORT_DATETIME_FORMAT")


def _names(html: str, appointment: Appointment) -> bool:
    day = timezone.localtime(appointment.span.lower, ZoneInfo(appointment.branch.timezone)).date()
    link = f'href="/desk/{appointment.branch_id}/?day={day.isoformat()}&amp;focus={appointment.pk}"'
    doctor = appointment.doctor.user.get_full_name()
    return (
        link in html
        and _on_the_branch_clock(appointment) in html
        and str(appointment.service) in html
        and doctor in html
    )


def test_each_message_names_its_appointment_on_the_log_the_chart_and_its_page(clinic: Clinic, in_a: Chain, client: Any):
    # given a reminder of an appointment three days ahead, waiting to be sent
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    reminder = written(patient=appointment.patient, appointment=appointment, due_at=timezone.now() + timedelta(hours=2))
    sign_in(client, in_a.users["receptionist"])
    # when reception reads the log, the patient's messages and the message's page
    log = client.get("/messages/", HTTP_HOST=in_a.host).content.decode()
    chart = client.get(f"/patients/{appointment.patient_id}/messages/", HTTP_HOST=in_a.host).content.decode()
    page = client.get(f"/messages/{reminder.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then each names the appointment (day and time on the branch's clock, service, doctor) with a link to it
    assert _names(log, appointment)
    assert _names(chart, appointment)
    assert _names(page, appointment)
    assert '<th scope="col">Appointment</th>' in log
    assert '<th scope="col">Appointment</th>' in chart


def test_a_waiting_message_shows_the_text_the_sender_then_sends_with_its_link_masked(
    clinic: Clinic, in_a: Chain, client: Any, twilio_fake: FakeTwilio
):
    # given a booking confirmation by SMS waiting to be sent (its wording carries a manage link), outside quiet hours
    MessagingSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_start": None, "quiet_hours_end": None})
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    message = written(patient=appointment.patient, appointment=appointment, kind=Kind.CONFIRMATION)
    links = ManageLink.objects.count()
    sign_in(client, in_a.users["receptionist"])
    # when reception opens its page
    page = client.get(f"/messages/{message.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then it shows the text as it would be sent now, the link's secret as "…", and no link was issued for it
    assert "As it would be sent now" in page
    preview = html_lib.unescape(page.split('<p class="pre-wrap" id="preview">', 1)[1].split("</p>", 1)[0])
    assert appointment.branch.name in preview
    assert "Change/cancel: …" in preview
    assert "preview" not in preview
    assert ManageLink.objects.count() == links
    # and when the sender sends it, the log keeps exactly that text
    messages_dispatch_all()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.body == preview
    # and the page of the sent message shows the text as sent, no preview
    page = client.get(f"/messages/{message.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert "As sent;" in page
    assert "As it would be sent now" not in page


def test_the_log_opens_on_the_failures_counted_the_due_soonest_first_and_the_sent_latest_first(
    clinic: Clinic, in_a: Chain, client: Any
):
    # given a failed SMS, two sent ones (an older and a newer) and two waiting (one due tomorrow, one next month)
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    patient = appointment.patient
    now = timezone.now()
    failed = settled(
        written(patient=patient, recipient="+447700900301"), MessageStatus.FAILED, error="30006: unreachable"
    )
    older = settled(written(patient=patient, recipient="+447700900302"), MessageStatus.DELIVERED)
    newer = settled(written(patient=patient, recipient="+447700900303"), MessageStatus.SENT)
    Message.objects.filter(pk=older.pk).update(sent_at=now - timedelta(days=2))
    later = written(patient=patient, recipient="+447700900304", due_at=now + timedelta(days=30))
    sooner = written(patient=patient, recipient="+447700900305", due_at=now + timedelta(days=1))
    sign_in(client, in_a.users["receptionist"])
    # when reception opens the log
    html = client.get("/messages/", HTTP_HOST=in_a.host).content.decode()
    # then the failures' tab counts them, the waiting ones come the soonest first, then the sent ones the latest first
    assert 'aria-current="page">Latest</a>' in html
    assert ">Failed (1)</a>" in html
    assert ">Due (2)</a>" in html
    due, sent = html.split('id="messages-due"', 1)[1].split('id="messages"', 1)
    assert due.index(sooner.recipient) < due.index(later.recipient)
    assert failed.recipient not in due
    assert sent.index(newer.recipient) < sent.index(failed.recipient) < sent.index(older.recipient)
    assert later.recipient not in sent
    # and the failures' tab lists the failure only
    failures = client.get("/messages/?show=failed", HTTP_HOST=in_a.host).content.decode()
    assert failed.recipient in failures
    assert newer.recipient not in failures
    assert sooner.recipient not in failures
    assert 'aria-current="page">Failed (1)</a>' in failures
    # and the due tab lists the waiting ones the soonest first
    due_tab = client.get("/messages/?show=due", HTTP_HOST=in_a.host).content.decode()
    assert due_tab.index(sooner.recipient) < due_tab.index(later.recipient)
    assert newer.recipient not in due_tab


def test_filters_and_pages_keep_the_tab_and_each_other(clinic: Clinic, in_a: Chain, client: Any):
    # given 51 failed SMS and one failed e-mail
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    for n in range(51):
        settled(written(patient=appointment.patient, recipient=f"+4477009004{n:02d}"), MessageStatus.FAILED)
    settled(
        written(patient=appointment.patient, channel=Channel.EMAIL, recipient="e@example.com"), MessageStatus.FAILED
    )
    sign_in(client, in_a.users["receptionist"])
    # when reception narrows the failures to SMS
    html = client.get("/messages/?show=failed&channel=sms", HTTP_HOST=in_a.host).content.decode()
    # then the form keeps the tab, the e-mail is out, and the next page keeps both
    assert '<input type="hidden" name="show" value="failed">' in html
    assert "e@example.com" not in html
    assert 'href="?show=failed&amp;channel=sms&amp;page=2">Older</a>' in html
    second = client.get("/messages/?show=failed&channel=sms&page=2", HTTP_HOST=in_a.host).content.decode()
    assert second.count('aria-label="Details of the') == 1
    # and the tabs keep the channel filter
    assert 'href="?show=due&amp;channel=sms"' in html
    # and the status filter still narrows the first view
    delivered = client.get("/messages/?status=delivered", HTTP_HOST=in_a.host).content.decode()
    assert "+4477009004" not in delivered


def test_a_messages_language_reads_as_its_name(clinic: Clinic, in_a: Chain, client: Any):
    # given a reminder in British English and one in German
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    british = written(patient=appointment.patient, appointment=appointment)
    german = written(patient=appointment.patient, recipient="+447700900999")
    Message.objects.filter(pk=british.pk).update(language="en-gb")
    Message.objects.filter(pk=german.pk).update(language="de")
    sign_in(client, in_a.users["receptionist"])
    # when reception opens their pages
    en = client.get(f"/messages/{british.pk}/", HTTP_HOST=in_a.host).content.decode()
    de = client.get(f"/messages/{german.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then the language is named, not coded
    assert "<dt>Language</dt><dd>English (United Kingdom)</dd>" in en
    assert "<dt>Language</dt><dd>Deutsch</dd>" in de


def test_a_sent_message_about_a_visit_moved_since_reads_the_time_it_gave(clinic: Clinic, in_a: Chain, client: Any):
    # given a confirmation sent for an appointment three days ahead
    day = clinic.days_ahead(3)
    appointment = book(clinic, clinic.free_slot(day), actor=clinic.owner)
    told = _on_the_branch_clock(appointment)
    confirmation = settled(
        written(patient=appointment.patient, appointment=appointment, kind=Kind.CONFIRMATION), MessageStatus.SENT
    )
    # when the visit is moved afterwards
    moved = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=appointment.span.lower + timedelta(hours=2)
    )
    sign_in(client, in_a.users["receptionist"])
    log = client.get("/messages/", HTTP_HOST=in_a.host).content.decode()
    page = client.get(f"/messages/{confirmation.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then the confirmation reads the time it gave, and where the visit is now
    for html in (log, page):
        assert f'{told}, <span class="muted">moved since to</span> <a ' in html
        assert _names(html, moved)
    # and a message still waiting reads only the visit's time
    waiting = written(patient=appointment.patient, appointment=moved, due_at=timezone.now() + timedelta(hours=2))
    waiting_page = client.get(f"/messages/{waiting.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert "moved since" not in waiting_page
    assert _names(waiting_page, moved)


def test_a_text_settled_after_the_visit_moved_reads_the_time_it_gave(
    clinic: Clinic, in_a: Chain, client: Any, twilio_fake: FakeTwilio, settings: Any
):
    # given a reminder text handed to Twilio, whose answer never came (the worker stopped waiting)
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    told = _on_the_branch_clock(appointment)
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    twilio_fake.delay("+447700900777", 1.5)
    reminder = written(patient=appointment.patient, appointment=appointment, recipient="+447700900777")
    messages_dispatch_all()
    assert Message.objects.get(pk=reminder.pk).status == MessageStatus.SENDING
    # when the visit is moved, and then the recovery sweep finds Twilio's copy and settles the text sent
    sched.appointment_reschedule(
        actor=clinic.owner, appointment=appointment, start=appointment.span.lower + timedelta(hours=2)
    )
    messages_recover(now=timezone.now() + timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS + 1))
    assert Message.objects.get(pk=reminder.pk).status == MessageStatus.SENT
    # then its page reads the time the text gave, and that the visit moved since
    sign_in(client, in_a.users["receptionist"])
    page = client.get(f"/messages/{reminder.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert f'{told}, <span class="muted">moved since to</span> <a ' in page
