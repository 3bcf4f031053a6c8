"""The message log and resending: staff see the messages of the branches they see (failures with
the provider's error), a failed, undelivered or sent message is sent again as a new outbox row
(``resend_of``, due now, to the patient's current contact), never a code and never about an
appointment that is over or off; two resends at once make one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from config.errors import PermissionDenied
from notifications import services
from notifications.exceptions import MessageNotResendable, MessageResendPending
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.selectors import MessageFilters, message_get, message_list, patient_messages
from patients import services as patient_services
from scheduling import services as sched
from tests.conftest import WORLD
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import committed, race
from tests.notifications.message_world import settled, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    return clinic_setup(in_a, doctors=1)


def _upcoming(clinic: Clinic):  # type: ignore[no-untyped-def]
    day = clinic.days_ahead(3)
    return book(clinic, clinic.free_slot(day), actor=clinic.owner)


def test_a_failed_reminder_is_sent_again_now_to_the_patients_corrected_number(clinic: Clinic):
    # given a reminder that failed: the number on file was wrong
    appointment = _upcoming(clinic)
    patient = appointment.patient
    failed = settled(
        written(patient=patient, appointment=appointment, recipient="+15005550001"),
        MessageStatus.FAILED,
        error="21211: The 'To' number is not a valid phone number.",
    )
    # and reception has since corrected the patient's number
    patient_services.patient_update(actor=clinic.owner, patient=patient, phone="+447911123456")
    # when reception resends it
    before = timezone.now()
    resent = services.message_resend(actor=clinic.receptionist, message=failed)
    # then a new outbox row is due now, to the corrected number, with the same kind and values
    resent.refresh_from_db()
    assert resent.pk != failed.pk
    assert resent.resend_of_id == failed.pk
    assert resent.status == MessageStatus.PENDING
    assert before - timedelta(seconds=1) <= resent.due_at <= timezone.now()
    assert resent.recipient == "+447911123456"
    assert (resent.kind, resent.channel, resent.appointment_id) == (Kind.REMINDER, Channel.SMS, appointment.pk)
    assert resent.context == failed.context
    # and the failed one stays failed, with its error, in the log
    failed.refresh_from_db()
    assert failed.status == MessageStatus.FAILED
    assert failed.last_error.startswith("21211")


def test_a_second_resend_while_the_first_is_on_its_way_is_refused(clinic: Clinic):
    appointment = _upcoming(clinic)
    failed = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.UNDELIVERED)
    services.message_resend(actor=clinic.receptionist, message=failed)
    with pytest.raises(MessageResendPending):
        services.message_resend(actor=clinic.receptionist, message=failed)
    assert Message.objects.filter(resend_of=failed).count() == 1


@pytest.mark.parametrize("status", [MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.CANCELLED])
def test_a_message_not_yet_sent_or_not_needed_is_not_resent(clinic: Clinic, status: MessageStatus):
    appointment = _upcoming(clinic)
    message = written(patient=appointment.patient, appointment=appointment)
    Message.objects.filter(pk=message.pk).update(status=status)
    message.refresh_from_db()
    with pytest.raises(MessageResendPending):
        services.message_resend(actor=clinic.receptionist, message=message)
    assert not Message.objects.filter(resend_of=message).exists()


def test_a_code_is_never_resent(clinic: Clinic):
    patient = clinic.patient()
    code = settled(written(patient=patient, kind=Kind.SIGN_IN_CODE), MessageStatus.FAILED, error="timeout")
    with pytest.raises(MessageNotResendable):
        services.message_resend(actor=clinic.owner, message=code)
    assert not Message.objects.filter(resend_of=code).exists()


def test_a_text_to_a_patient_who_never_agreed_to_texts_is_not_resent_and_says_why(clinic: Clinic):
    # given an SMS that failed, to a patient who has not agreed to texts
    appointment = _upcoming(clinic)
    failed = settled(
        written(patient=appointment.patient, appointment=appointment, consented=False), MessageStatus.FAILED
    )
    # when reception sends it again, then she is told why, and nothing is written
    with pytest.raises(MessageNotResendable) as refused:
        services.message_resend(actor=clinic.receptionist, message=failed)
    assert "has not agreed" in refused.value.message
    assert not Message.objects.filter(resend_of=failed).exists()


def test_a_reminder_of_a_cancelled_appointment_is_not_resent(clinic: Clinic):
    appointment = _upcoming(clinic)
    failed = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)
    sched.appointment_cancel(actor=clinic.receptionist, appointment=appointment, reason="patient phoned")
    with pytest.raises(MessageNotResendable):
        services.message_resend(actor=clinic.receptionist, message=failed)
    assert not Message.objects.filter(resend_of=failed).exists()


def test_reception_of_another_branch_neither_sees_nor_resends_the_message(in_a: Chain):
    # given a failed message at branch 2 (reception works at branch 1 only)
    other = clinic_setup(in_a, branch=in_a.branches[1], doctors=1)
    appointment = _upcoming(other)
    failed = settled(written(patient=appointment.patient, appointment=appointment), MessageStatus.FAILED)
    receptionist = in_a.users["receptionist"]
    # then reception's log does not list it, and a resend is refused
    assert failed.pk not in set(message_list(actor=receptionist).values_list("pk", flat=True))
    assert message_get(actor=receptionist, pk=failed.pk) is None
    with pytest.raises(PermissionDenied):
        services.message_resend(actor=receptionist, message=failed)
    assert not Message.objects.filter(resend_of=failed).exists()
    # and the owner sees it
    assert message_get(actor=in_a.users["owner"], pk=failed.pk) is not None


def test_doctors_have_no_message_log(clinic: Clinic):
    with pytest.raises(PermissionDenied):
        message_list(actor=clinic.chain.users["doctor"])


def test_the_log_filters_by_status_kind_channel_and_recipient(clinic: Clinic):
    appointment = _upcoming(clinic)
    patient = appointment.patient
    failed = settled(written(patient=patient, appointment=appointment, recipient="+447700900999"), MessageStatus.FAILED)
    settled(
        written(patient=patient, appointment=appointment, channel=Channel.EMAIL, recipient="a@example.com"),
        MessageStatus.DELIVERED,
    )
    owner = clinic.owner
    assert [m.pk for m in message_list(actor=owner, filters=MessageFilters(status=MessageStatus.FAILED))] == [failed.pk]
    assert [m.pk for m in message_list(actor=owner, filters=MessageFilters(recipient="900999"))] == [failed.pk]
    emails = message_list(actor=owner, filters=MessageFilters(channel=Channel.EMAIL, kind=Kind.REMINDER))
    assert [m.recipient for m in emails] == ["a@example.com"]


def test_the_patients_messages_are_theirs_only(clinic: Clinic):
    appointment = _upcoming(clinic)
    mine = written(patient=appointment.patient, appointment=appointment)
    theirs = written(patient=clinic.patient())
    shown = {m.pk for m in patient_messages(actor=clinic.receptionist, patient=appointment.patient)}
    assert mine.pk in shown
    assert theirs.pk not in shown


# --- two people resending at once ------------------------------------------------------------------


@pytest.fixture
def shared() -> Iterator[tuple[Chain, Message]]:
    chain = WORLD["b"]
    with committed(), schema_context(chain.schema):
        patient = patient_services.patient_create(actor=chain.users["owner"], first_name="Rita", last_name="Race")
        message = settled(written(patient=patient, branch_id=chain.branches[0].pk), MessageStatus.FAILED)
    yield chain, message
    with committed(), schema_context(chain.schema):
        Message.objects.filter(resend_of=message).delete()
        Message.objects.filter(pk=message.pk).delete()


def test_two_people_resending_one_message_at_once_make_one_resend(shared: tuple[Chain, Message]):
    chain, message = shared
    users = [chain.users["owner"], chain.users["receptionist"], chain.users["branch_manager"], chain.users["owner"]]
    # when four people press "Send again" at the same moment, each on a connection of their own
    outcomes = race(len(users), lambda i: services.message_resend(actor=users[i], message=message), chain.schema)
    # then one resend was written and the others were told it is on its way
    assert sorted(outcomes) == sorted(["ok"] + ["message_resend_pending"] * (len(users) - 1))
    with committed(), schema_context(chain.schema):
        assert Message.objects.filter(resend_of=message).count() == 1
