"""Messages held by quiet hours follow a change of them, and sending a message again.

- A confirmation (or any message sent as soon as written) that quiet hours held is given the time the
  new quiet hours say when the owner changes them, in the same transaction; a retry waiting after a
  failure keeps its time; the settings' answer counts them.
- A resend is written afresh, in the language the patient is written to now.
- A failure sent again that went is no longer in the log's Failed part nor its count; a further
  resend is made only when asked for on purpose (``confirm``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications import services
from notifications.dispatch import messages_dispatch
from notifications.exceptions import MessageResentAlready
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from notifications.selectors import SHOW_FAILED, MessageFilters, message_list, message_log_counts
from patients import services as patients
from patients.models import Patient
from scheduling.intervals import wall_clock
from tenants.org.models import ChainSettings
from tests.conftest import WORLD
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import committed, race
from tests.notifications.message_world import settled, written
from tests.notifications.sent_world import messaging, settings_in, shared_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    messaging(quiet=(time(21), time(8)))
    return clinic_setup(in_a, doctors=1)


def _confirmation(clinic: Clinic, patient: Patient, *, due_at: datetime) -> Message:
    """A confirmation by e-mail, written due now as the booking writes it."""
    return message_enqueue(
        kind=Kind.CONFIRMATION,
        channel=Channel.EMAIL,
        recipient=patient.email,
        due_at=due_at,
        patient_id=patient.pk,
        branch_id=clinic.branch.pk,
        context={"patient": patient.first_name, "service": "Consultation"},
    )


def _held_at_ten_pm(clinic: Clinic, time_machine) -> tuple[Message, datetime]:  # type: ignore[no-untyped-def]
    """A confirmation written at 22:00 on the branch's clock, held by the dispatcher until 08:00."""
    day = clinic.days_ahead(2)
    night = wall_clock(day, time(22), clinic.tz)
    time_machine.move_to(night, tick=False)
    patient = patients.patient_create(
        actor=clinic.owner, first_name="Isla", last_name="Morgan", email="isla@example.com", ignore_duplicates=True
    )
    message = _confirmation(clinic, patient, due_at=night)
    messages_dispatch(now=night)
    message.refresh_from_db()
    assert (message.status, message.due_at) == (
        MessageStatus.PENDING,
        wall_clock(day + timedelta(days=1), time(8), clinic.tz),
    )
    return message, night


def test_a_confirmation_held_by_quiet_hours_goes_now_when_the_new_quiet_hours_no_longer_hold_it(
    clinic: Clinic, time_machine
):
    # given a confirmation written at 22:00 and held until 08:00 by quiet hours 21:00-08:00
    message, night = _held_at_ten_pm(clinic, time_machine)
    # when the owner moves quiet hours to 23:00-07:00
    change = services.messaging_settings_change(
        actor=clinic.owner, values=settings_in(quiet_hours_start=time(23), quiet_hours_end=time(7))
    )
    # then the confirmation is due now, and the settings' answer counts it
    message.refresh_from_db()
    assert (message.status, message.due_at) == (MessageStatus.PENDING, night)
    assert change.held_retimed == 1


def test_a_confirmation_held_by_quiet_hours_waits_for_the_new_end_when_they_still_hold_it(clinic: Clinic, time_machine):
    # given a confirmation held until 08:00, and a receipt waiting after a failed try until 23:00
    message, night = _held_at_ten_pm(clinic, time_machine)
    patient = Patient.objects.get(pk=message.patient_id)
    retry = message_enqueue(
        kind=Kind.RECEIPT,
        channel=Channel.EMAIL,
        recipient=patient.email,
        due_at=night + timedelta(hours=1),
        patient_id=patient.pk,
        branch_id=clinic.branch.pk,
    )
    # when the owner makes quiet hours end at 09:30
    change = services.messaging_settings_change(
        actor=clinic.owner, values=settings_in(quiet_hours_start=time(21), quiet_hours_end=time(9, 30))
    )
    # then the confirmation waits for 09:30, the end of the new quiet hours, and the retry keeps its time
    message.refresh_from_db()
    assert message.due_at == wall_clock(night.astimezone(clinic.tz).date() + timedelta(days=1), time(9, 30), clinic.tz)
    retry.refresh_from_db()
    assert retry.due_at == night + timedelta(hours=1)
    assert change.held_retimed == 1


def test_a_resend_is_written_in_the_language_the_patient_is_written_to_now(in_a: Chain):
    # given a British chain and a failed confirmation stored in plain English ("en")
    ChainSettings.objects.filter(pk=1).update(locale="en-gb")
    clinic = clinic_setup(in_a, doctors=1)
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    failed = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)
    Message.objects.filter(pk=failed.pk).update(language="en")  # as rows were stored before
    failed.refresh_from_db()
    # when reception sends it again
    resent = services.message_resend(actor=clinic.receptionist, message=failed)
    # then the resend is written in the chain's British English (dates "24 November", times "14:00")
    assert resent.language == "en-gb"


def _resent_and_gone(clinic: Clinic) -> tuple[Message, Message]:
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    failed = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)
    resent = services.message_resend(actor=clinic.receptionist, message=failed)
    return failed, settled(resent, MessageStatus.SENT)


def test_a_message_written_without_a_language_takes_the_patients_not_a_bare_en(in_a: Chain):
    # given a British chain
    ChainSettings.objects.filter(pk=1).update(locale="en-gb")
    clinic = clinic_setup(in_a, doctors=1)
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    # when a message is written to the outbox without naming a language (as the demo's history is)
    message = written(patient=appointment.patient, appointment=appointment)
    # then it is in the chain's British English, as the patient is written to
    assert message.language == "en-gb"


def test_a_failure_sent_again_that_went_leaves_the_failed_part_of_the_log_and_its_count(clinic: Clinic):
    # given a failed reminder, and another failure nobody handled yet
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(4)), actor=clinic.owner)
    waiting = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)
    failed, _ = _resent_and_gone(clinic)
    # when reception's resend of the first has been sent
    failures = MessageFilters(show=SHOW_FAILED)
    # then the log's Failed part and count hold only the failure nobody handled
    shown = list(message_list(actor=clinic.receptionist, filters=failures))
    assert [m.pk for m in shown] == [waiting.pk]
    assert message_log_counts(actor=clinic.receptionist, filters=failures).failed == 1
    # and the handled failure stays in the whole log, failed
    assert failed.pk in {m.pk for m in message_list(actor=clinic.receptionist)}


def test_a_failure_whose_resend_failed_too_stays_in_the_failed_part(clinic: Clinic):
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    failed = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)
    settled(services.message_resend(actor=clinic.receptionist, message=failed), MessageStatus.FAILED)
    shown = {m.pk for m in message_list(actor=clinic.receptionist, filters=MessageFilters(show=SHOW_FAILED))}
    assert failed.pk in shown


def test_a_message_sent_again_already_is_sent_once_more_only_when_confirmed(clinic: Clinic):
    # given a failure whose resend was sent
    failed, resent = _resent_and_gone(clinic)
    # when a second receptionist presses Send again without confirming
    with pytest.raises(MessageResentAlready) as refused:
        services.message_resend(actor=clinic.receptionist, message=failed)
    # then nothing more is written, and the refusal says it was sent again already
    assert list(Message.objects.filter(resend_of=failed)) == [resent]
    assert refused.value.code == "message_resent_already"
    # when she confirms
    again = services.message_resend(actor=clinic.receptionist, message=failed, confirm=True)
    # then one more resend is written, due now
    assert again.resend_of_id == failed.pk
    assert again.due_at <= timezone.now()
    assert Message.objects.filter(resend_of=failed).count() == 2


# --- against the dispatcher, on real concurrent connections ------------------------------------------


@pytest.fixture
def shared(django_db_setup, django_db_blocker) -> Iterator[Clinic]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), shared_clinic(chain) as clinic:
        yield clinic
        with committed(), schema_context(chain.schema):
            Message.objects.filter(context__race="held").delete()


@pytest.mark.parametrize("round_", range(2))
def test_a_change_of_quiet_hours_and_the_dispatcher_at_once_send_each_held_confirmation_once(shared, round_):
    # given quiet hours from an hour ago to an hour from now, and confirmations they hold until their end
    with committed(), schema_context(shared.chain.schema):
        now = timezone.now()
        local = now.astimezone(shared.tz)
        ends = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
        messaging(quiet=((local - timedelta(hours=1)).time().replace(second=0, microsecond=0), ends))
        held = []
        for n in range(4):
            patient = patients.patient_create(
                actor=shared.owner,
                first_name="Held",
                last_name=f"Race{round_}{n}",
                email=f"held{round_}{n}@example.com",
                ignore_duplicates=True,
            )
            held.append(
                message_enqueue(
                    kind=Kind.CONFIRMATION,
                    channel=Channel.EMAIL,
                    recipient=patient.email,
                    due_at=now,
                    patient_id=patient.pk,
                    branch_id=shared.branch.pk,
                    context={"race": "held"},
                )
            )
        messages_dispatch(now=timezone.now())
        assert all(m.status == MessageStatus.PENDING for m in Message.objects.filter(pk__in=[h.pk for h in held]))
        owner = shared.owner
        later = (now + timedelta(hours=12)).astimezone(shared.tz).replace(second=0, microsecond=0)
        values = settings_in(quiet_hours_start=later.time(), quiet_hours_end=(later + timedelta(minutes=2)).time())
    sent_before = len(mail.outbox)

    # when the owner ends quiet hours now while the dispatcher runs, each on its own connection
    def attempt(i: int) -> None:
        if i == 0:
            services.messaging_settings_change(actor=owner, values=values)
        else:
            messages_dispatch(now=timezone.now())

    outcomes = race(3, attempt, shared.chain.schema)

    # then all finish, and after one more dispatch each confirmation was sent exactly once
    assert outcomes == ["ok", "ok", "ok"]
    with committed(), schema_context(shared.chain.schema):
        messages_dispatch(now=timezone.now())
        rows = Message.objects.filter(pk__in=[h.pk for h in held])
        assert {m.status for m in rows} == {MessageStatus.SENT}
    recipients = [address for m in mail.outbox[sent_before:] for address in m.to]
    for h in held:
        assert recipients.count(h.recipient) == 1
