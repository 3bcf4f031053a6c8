"""Twilio delivering one text several times at once (its retries can overlap a slow answer): on real
concurrent connections, the text is recorded once, the appointment cancelled once, one answer written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from notifications.models import InboundMessage, Kind, Message
from notifications.replies import Inbound, inbound_message_receive
from patients import services as patients
from scheduling.models import Appointment, CalendarEntry, Status
from tests.conftest import WORLD
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import committed, race
from tests.notifications.twilio_signing import new_sid

pytestmark = pytest.mark.django_db

PHONE = "+447911123999"
CLIENTS = 6


@pytest.fixture
def shared(django_db_setup, django_db_blocker) -> Iterator[Clinic]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = clinic_setup(chain, branch=chain.branches[0], doctors=1)
    yield clinic
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        InboundMessage.objects.filter(from_number=PHONE).delete()
        Message.objects.filter(recipient=PHONE).delete()
        CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()


def test_one_text_delivered_several_times_at_once_is_handled_once(shared):
    # given a patient's booked appointment, committed for other connections to see
    with committed(), schema_context(shared.chain.schema):
        mum = patients.patient_create(
            actor=shared.owner, first_name="Mary", last_name="Race", phone=PHONE, ignore_duplicates=True
        )
        appointment = book(shared, shared.at(shared.days_ahead(4), 10), patient=mum)
    inbound = Inbound(sid=new_sid(), from_number=PHONE, body="X")

    # when six deliveries of her "X" arrive at once, each on its own connection
    outcomes = race(CLIENTS, lambda _: inbound_message_receive(inbound=inbound), shared.chain.schema)

    # then all are answered, one row records it, the appointment is cancelled, and one answer is written
    assert outcomes == ["ok"] * CLIENTS
    with committed(), schema_context(shared.chain.schema):
        assert InboundMessage.objects.filter(sid=inbound.sid).count() == 1
        assert Appointment.objects.get(pk=appointment.pk).status == Status.CANCELLED
        assert Message.objects.filter(recipient=PHONE, kind=Kind.REPLY).count() == 1


def test_x_and_the_desks_cancel_at_once_cancel_once_and_the_text_is_answered(shared):
    # given a patient's booked appointment, reminded by SMS, committed for other connections to see
    from django.utils import timezone

    from notifications.models import Channel, MessageStatus, ReplyOutcome
    from notifications.outbox import message_enqueue
    from scheduling import services as sched

    with committed(), schema_context(shared.chain.schema):
        mum = patients.patient_create(
            actor=shared.owner, first_name="Mary", last_name="Race", phone=PHONE, ignore_duplicates=True
        )
        appointment = book(shared, shared.at(shared.days_ahead(5), 11), patient=mum)
        reminder = message_enqueue(
            kind=Kind.REMINDER,
            channel=Channel.SMS,
            recipient=PHONE,
            due_at=timezone.now(),
            patient_id=mum.pk,
            appointment_id=appointment.pk,
        )
        Message.objects.filter(pk=reminder.pk).update(status=MessageStatus.DELIVERED, sent_at=timezone.now())
    inbound = Inbound(sid=new_sid(), from_number=PHONE, body="X")

    def attempt(i: int) -> None:
        if i == 0:
            inbound_message_receive(inbound=inbound)
        else:
            sched.appointment_cancel(
                actor=shared.receptionist, appointment=Appointment.objects.get(pk=appointment.pk), reason="Called"
            )

    # when her "X" and the desk's cancellation arrive at once, each on its own connection
    outcomes = race(2, attempt, shared.chain.schema)

    # then the text is always answered; the appointment is cancelled once, by whichever came first
    assert outcomes[0] == "ok"
    assert outcomes[1] in ("ok", "illegal_transition")
    with committed(), schema_context(shared.chain.schema):
        stored = Appointment.objects.get(pk=appointment.pk)
        row = InboundMessage.objects.get(sid=inbound.sid)
    assert stored.status == Status.CANCELLED
    if outcomes[1] == "ok":  # the desk won: the text is told the appointment is already cancelled
        assert row.outcome == ReplyOutcome.NOT_CHANGEABLE
    else:
        assert row.outcome == ReplyOutcome.CANCELLED
