"""The dispatcher sends the outbox through the real Twilio SDK (to the local fake) and Django's e-mail
backend: once, with backoff for transient failures, failed at once for permanent ones, skipped
without consent, postponed when policy says so."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications.dispatch import messages_dispatch, messages_dispatch_all, messages_recover
from notifications.models import Channel, Kind, Message, MessageStatus, MessagingSettings, Template
from notifications.outbox import message_enqueue
from patients.models import Patient
from tenants.org.selectors import chain_settings_get
from tests.conftest import Chain
from tests.fakes.twilio_server import FakeTwilio

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_wording(in_a: Chain) -> None:
    """The chain words its answers to replies as the text given, whatever the defaults say."""
    for channel in Channel:
        Template.objects.update_or_create(
            kind=Kind.REPLY, channel=channel, language="en", defaults={"body": "{text}", "subject": "Your answer"}
        )
    # and whatever the hour the tests run at, it is not in quiet hours
    MessagingSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_start": None, "quiet_hours_end": None})


def sms(to: str = "+447700900001", *, due_in: timedelta = timedelta(0), code: str = "") -> Message:
    return message_enqueue(
        kind=Kind.REPLY,
        channel=Channel.SMS,
        recipient=to,
        due_at=timezone.now() + due_in,
        context={"text": f"Your code is {code}", "code": code, "secret": ["code"]} if code else {"text": "Hello"},
    )


def test_a_due_sms_is_sent_once_through_the_messaging_service(in_a: Chain, twilio_fake: FakeTwilio) -> None:
    # given a sign-in code due now, its code a secret
    message = sms(code="482913")
    MessagingSettings.objects.filter(pk=1).update(twilio_messaging_service_sid="MG" + "1" * 32)

    # when the dispatcher runs twice
    first = messages_dispatch_all()
    second = messages_dispatch_all()

    # then Twilio received it once, through the chain's Messaging Service, with a status callback naming the row
    (received,) = twilio_fake.sent_to("+447700900001")
    assert received.body == "Your code is 482913"
    assert received.messaging_service_sid == "MG" + "1" * 32
    assert received.status_callback.endswith(f"/twilio/status/?m={message.pk}")
    assert received.status_callback.startswith("http://alpha.")
    assert (first.claimed, second.claimed) == (1, 0)
    # and the row is sent with Twilio's sid, the log's text masks the code, the context no longer holds it
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_id == received.sid
    assert message.sent_at is not None
    assert message.body == "Your code is …"
    assert "code" not in message.context
    assert message.attempts == 1
    assert message.last_error == ""


def test_a_message_not_yet_due_waits(in_a: Chain, twilio_fake: FakeTwilio) -> None:
    # given a reminder due in an hour
    message = sms(due_in=timedelta(hours=1))

    # when the dispatcher runs now
    tally = messages_dispatch()

    # then nothing is sent; an hour later it is
    assert tally.claimed == 0
    assert twilio_fake.received == []
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert messages_dispatch().claimed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(twilio_fake.received) == 1


def test_transient_failures_back_off_then_fail(in_a: Chain, twilio_fake: FakeTwilio) -> None:
    # given Twilio answers 500 to this number every time
    twilio_fake.fail_transiently("+447700900002", times=100)
    message = sms("+447700900002")
    start = timezone.now()

    # when the dispatcher tries, each time after the message's wait is over
    waits = []
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(6):
            messages_dispatch()
            message.refresh_from_db()
            if message.status != MessageStatus.PENDING:
                break
            waits.append(message.due_at - timezone.now())
            clock.move_to(message.due_at)

    # then it waited 1 min, 5, 30, 2 h and 6 h, and after the sixth try it is failed, visibly
    assert waits == [timedelta(minutes=m) for m in (1, 5, 30, 120, 360)]
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 6
    assert message.last_error.startswith("Gave up: Twilio 500")
    assert twilio_fake.received == []


def test_a_transient_failure_then_success_sends_once(in_a: Chain, twilio_fake: FakeTwilio) -> None:
    # given Twilio is rate-limiting this number once
    twilio_fake.fail_transiently("+447700900003", times=1, status=429)
    message = sms("+447700900003")

    # when the dispatcher runs, and again after the minute's wait
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert "429" in message.last_error
    with time_machine.travel(timezone.now() + timedelta(minutes=1, seconds=1)):
        messages_dispatch()

    # then it went out once, on the second try
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.SENT, 2, "")
    assert len(twilio_fake.sent_to("+447700900003")) == 1


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_a_permanent_refusal_fails_at_once(in_a: Chain, twilio_fake: FakeTwilio, code: int) -> None:
    # given a number Twilio refuses for good (invalid, unsubscribed, not a mobile)
    twilio_fake.fail_permanently("+15005550001", code=code)
    message = sms("+15005550001")

    # when the dispatcher runs
    messages_dispatch()

    # then the message failed at once with Twilio's code, and is not tried again
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert message.last_error.startswith(f"Twilio {code}")
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert messages_dispatch().claimed == 0


def test_no_consent_skips_the_message(in_a: Chain, twilio_fake: FakeTwilio) -> None:
    # given a patient who never agreed to SMS
    patient = Patient.objects.create(first_name="Nadia", last_name="Quiet", phone="+447700900004")
    message = message_enqueue(
        kind=Kind.RECEIPT, channel=Channel.SMS, recipient=patient.phone, due_at=timezone.now(), patient_id=patient.pk
    )

    # when the dispatcher runs
    messages_dispatch()

    # then nothing is sent and the log says why
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED
    assert message.last_error  # the reason the policy gives
    assert message.attempts == 0
    assert twilio_fake.received == []


def test_a_postponed_message_goes_back_to_pending(
    in_a: Chain, twilio_fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the policy puts the message off by eight hours (quiet hours)
    later = timezone.now() + timedelta(hours=8)
    monkeypatch.setattr("notifications.dispatch.postponed", lambda message, now: later)
    message = sms()

    # when the dispatcher runs
    messages_dispatch()

    # then it waits for the new time, not counted as a try, nothing sent
    message.refresh_from_db()
    assert (message.status, message.due_at, message.attempts) == (MessageStatus.PENDING, later, 0)
    assert twilio_fake.received == []


def test_an_email_goes_through_django_with_its_attachment_and_a_stable_message_id(
    in_a: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a confirmation e-mail whose values carry an .ics
    from notifications import placeholders

    real = placeholders.placeholders

    def with_ics(message: Message, *, preview: bool = False) -> placeholders.Values:
        values = real(message, preview=preview)
        return placeholders.Values(values.values, values.secrets, (("visit.ics", "BEGIN:VCALENDAR", "text/calendar"),))

    monkeypatch.setattr("notifications.compose.placeholders", with_ics)
    message = message_enqueue(
        kind=Kind.REPLY,
        channel=Channel.EMAIL,
        recipient="nadia@example.com",
        due_at=timezone.now(),
        context={"clinic": "Alpha", "text": "See you then."},
    )
    mail.outbox.clear()

    # when the dispatcher runs
    messages_dispatch()

    # then one e-mail left, with the .ics and the row's own Message-ID as the provider id
    (sent,) = mail.outbox
    assert sent.to == ["nadia@example.com"]
    assert (sent.subject, sent.body) == ("Your answer", "See you then.")
    assert sent.attachments[0][:2] == ("visit.ics", "BEGIN:VCALENDAR")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert sent.extra_headers["Message-ID"] == message.provider_id
    assert message.provider_id.startswith(f"<message-{message.pk}.{in_a.schema}@")


def test_an_invalid_email_address_fails_at_once(in_a: Chain) -> None:
    # given an e-mail to an address that is not one
    message = message_enqueue(kind=Kind.REPLY, channel=Channel.EMAIL, recipient="nadia@", due_at=timezone.now())
    mail.outbox.clear()

    # when the dispatcher runs
    messages_dispatch()

    # then it failed at once, visibly, and nothing left
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert "Not a valid e-mail address" in message.last_error
    assert mail.outbox == []


def test_a_kick_that_cannot_reach_the_broker_is_logged_and_loses_nothing(
    in_a: Chain,
    settings: object,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a broker that cannot be reached
    settings.NOTIFICATIONS_DISPATCH_INLINE = False  # type: ignore[attr-defined]

    def unreachable() -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr("notifications.tasks.outbox_dispatch.delay", unreachable)

    # when two messages due now are committed in one transaction
    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # type: ignore[operator]
        first, second = sms("+447700900011"), sms("+447700900012")

    # then one kick was tried, its failure logged, not raised, and both messages wait for the periodic run
    assert len(callbacks) == 1
    assert "dispatch_on_commit" in caplog.text
    assert {m.status for m in Message.objects.filter(pk__in=[first.pk, second.pk])} == {MessageStatus.PENDING}


def test_a_message_due_in_the_chains_quiet_hours_waits_until_they_end(in_a: Chain) -> None:
    # given quiet hours from an hour ago to an hour ahead on the chain's clock, and a receipt due now
    tz = ZoneInfo(chain_settings_get().default_timezone)
    local = timezone.now().astimezone(tz)
    start, end = ((local + timedelta(hours=h)).time().replace(second=0, microsecond=0) for h in (-1, 1))
    MessagingSettings.objects.filter(pk=1).update(quiet_hours_start=start, quiet_hours_end=end)
    message = message_enqueue(
        kind=Kind.RECEIPT, channel=Channel.EMAIL, recipient="nadia@example.com", due_at=timezone.now()
    )
    mail.outbox.clear()

    # when the dispatcher runs
    messages_dispatch()

    # then nothing left: the message waits, untried, until the quiet hours end
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 0)
    assert message.due_at.astimezone(tz).time() == end
    assert timezone.now() < message.due_at <= timezone.now() + timedelta(hours=1)
    assert mail.outbox == []


def test_an_sms_whose_answer_never_came_is_not_sent_again_blindly(
    in_a: Chain, twilio_fake: FakeTwilio, settings: object
) -> None:
    # given Twilio that takes a text but answers after the dispatcher stops waiting
    settings.TWILIO_TIMEOUT_SECONDS = 0.5  # type: ignore[attr-defined]
    twilio_fake.delay("+447700900009", 1.5)
    message = sms("+447700900009")

    # when the dispatcher runs, and runs again at once
    messages_dispatch()
    messages_dispatch()

    # then the row stays with this attempt (Twilio may hold it), and nothing is sent a second time
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENDING, 1)
    assert "did not answer" in message.last_error
    assert len(twilio_fake.sent_to("+447700900009")) == 1

    # when the lease is over and the recovery sweep asks Twilio
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS + 1)  # type: ignore[attr-defined]
    messages_recover(now=later)
    messages_dispatch_all(now=later)

    # then Twilio's copy settles it as sent, under Twilio's id, and it was still received once
    message.refresh_from_db()
    (received,) = twilio_fake.sent_to("+447700900009")
    assert message.status == MessageStatus.SENT
    assert message.provider_id == received.sid


@pytest.mark.parametrize("report", ["queued", "accepted", "sending"])
def test_a_timed_out_text_twilio_reported_on_is_not_sent_again(
    in_a: Chain, twilio_fake: FakeTwilio, settings: object, report: str
) -> None:
    from notifications.delivery import delivery_status_record

    # given a text whose answer never came, and Twilio's status callback reporting it `report` under its id
    settings.TWILIO_TIMEOUT_SECONDS = 0.5  # type: ignore[attr-defined]
    twilio_fake.delay("+447700900019", 1.5)
    message = sms("+447700900019")
    messages_dispatch()
    (received,) = twilio_fake.sent_to("+447700900019")
    delivery_status_record(sid=received.sid, status=report, message_id=message.pk)

    # when the lease is over, the recovery sweep runs, then the dispatcher
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS + 1)  # type: ignore[attr-defined]
    messages_recover(now=later)
    messages_dispatch_all(now=later)

    # then the row is sent under the id Twilio reported, and the patient got it once
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (MessageStatus.SENT, received.sid)
    assert len(twilio_fake.sent_to("+447700900019")) == 1


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])
def test_a_batch_slower_than_half_the_lease_hands_back_what_it_has_not_begun(
    in_a: Chain, twilio_fake: FakeTwilio, settings: object, monkeypatch: pytest.MonkeyPatch, channel: Channel
) -> None:
    from notifications import dispatch as dispatch_module

    # given three messages claimed in one batch, sent one after the other, the provider slow that day:
    # by the end of the first call more than half the lease has passed
    settings.OUTBOX_SEND_THREADS = 1  # type: ignore[attr-defined]
    lease = settings.OUTBOX_SENDING_LEASE_SECONDS  # type: ignore[attr-defined]
    to = ["+447700900031", "+447700900032", "+447700900033"]
    if channel == Channel.EMAIL:
        to = ["a@example.com", "b@example.com", "c@example.com"]
    rows = [
        message_enqueue(kind=Kind.REPLY, channel=channel, recipient=r, due_at=timezone.now(), context={"text": "Hi"})
        for r in to
    ]
    clock = time_machine.travel(timezone.now(), tick=True)
    traveller = clock.start()
    real = dispatch_module._Sender.send

    def slow(self: object, message: Message, composed: object) -> str:
        sid = real(self, message, composed)  # type: ignore[arg-type]
        traveller.shift(timedelta(seconds=lease / 2 + 1))
        return sid

    monkeypatch.setattr(dispatch_module._Sender, "send", slow)
    try:
        # when the batch runs
        first = messages_dispatch()
        # then it sent the first, and handed the two it had not begun back, due, unattempted
        sent = {m.recipient: m for m in Message.objects.filter(pk__in=[r.pk for r in rows])}
        assert sent[to[0]].status == MessageStatus.SENT
        assert [(sent[r].status, sent[r].attempts) for r in to[1:]] == [(MessageStatus.PENDING, 0)] * 2
        assert first.claimed == 3
        # and when the recovery sweep runs after the lease, then dispatchers, each went once
        messages_recover()
        monkeypatch.setattr(dispatch_module._Sender, "send", real)
        messages_dispatch_all()
    finally:
        clock.stop()
    for r in to:
        got = twilio_fake.sent_to(r) if channel == Channel.SMS else [m for m in mail.outbox if r in m.to]
        assert len(got) == 1, r
