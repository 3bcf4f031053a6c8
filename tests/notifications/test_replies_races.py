"""Twilio delivering one text several times at once (its retries can overlap a slow answer): on real
concurrent connections, the text is recorded once, the appointment cancelled once, one answer written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from notifications.models import InboundMessage, Kind, Message, NumberAnswered, ReplyOutcome
from notifications.replies import Inbound, inbound_message_receive
from notifications.selectors import messaging_settings_get
from patients import services as patients
from scheduling.models import Appointment, CalendarEntry, Status
from tenants.models import MessagingService
from tests.conftest import WORLD
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import committed, race
from tests.notifications.twilio_signing import name_service, new_sid, own_service, service_sid

pytestmark = pytest.mark.django_db

PHONE = "+447911123999"
BOT = "+447700900777"
CLIENTS = 6


@pytest.fixture
def shared(django_db_setup, django_db_blocker) -> Iterator[Clinic]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = clinic_setup(chain, branch=chain.branches[0], doctors=1)
        own_service(chain)
    yield clinic
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        InboundMessage.objects.filter(from_number__in=(PHONE, BOT)).delete()
        Message.objects.filter(recipient__in=(PHONE, BOT)).delete()
        NumberAnswered.objects.filter(number__in=(PHONE, BOT)).delete()
        CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
        name_service(chain, "")


def test_one_text_delivered_several_times_at_once_is_handled_once(shared):
    # given a patient's booked appointment, committed for other connections to see
    with committed(), schema_context(shared.chain.schema):
        mum = patients.patient_create(
            actor=shared.owner, first_name="Mary", last_name="Race", phone=PHONE, ignore_duplicates=True
        )
        appointment = book(shared, shared.at(shared.days_ahead(4), 10), patient=mum)
    inbound = Inbound(
        sid=new_sid(), from_number=PHONE, body="X", messaging_service_sid=service_sid(shared.chain.schema)
    )

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
    inbound = Inbound(
        sid=new_sid(), from_number=PHONE, body="X", messaging_service_sid=service_sid(shared.chain.schema)
    )

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


def test_texts_of_one_number_arriving_at_once_get_one_helpful_answer(shared):
    # given an unknown number (an auto-responder), whose texts arrive together
    service = service_sid(shared.chain.schema)
    texts = [
        Inbound(sid=new_sid(), from_number=BOT, body=f"Away ({i})", messaging_service_sid=service)
        for i in range(CLIENTS)
    ]

    # when six of its texts arrive at once, each on its own connection
    outcomes = race(CLIENTS, lambda i: inbound_message_receive(inbound=texts[i]), shared.chain.schema)

    # then all are recorded, one is answered and the others are recorded as not answered again
    assert outcomes == ["ok"] * CLIENTS
    with committed(), schema_context(shared.chain.schema):
        rows = InboundMessage.objects.filter(from_number=BOT)
        assert rows.count() == CLIENTS
        assert rows.filter(outcome=ReplyOutcome.SILENT).count() == CLIENTS - 1
        assert Message.objects.filter(recipient=BOT, kind=Kind.REPLY).count() == 1


RACED_SID = "MG" + "c3" * 16


@pytest.fixture
def two_chains(django_db_setup, django_db_blocker) -> Iterator[list[Chain]]:
    chains = [WORLD["a"], WORLD["b"]]
    yield chains
    with django_db_blocker.unblock(), committed():
        for chain in chains:
            name_service(chain, "")


def test_two_chains_naming_one_messaging_service_at_once_give_it_to_one(two_chains):
    # when the owners of two chains name the same Messaging Service at once, twice each
    def attempt(i: int) -> None:
        name_service(two_chains[i % 2], RACED_SID)

    outcomes = race(4, attempt, "public")

    # then one chain has it (both its saves succeed) and the other is refused both times
    by_chain = {outcomes[0], outcomes[2]}, {outcomes[1], outcomes[3]}
    assert sorted(by_chain, key=sorted) == sorted(({"ok"}, {"messaging_service_taken"}), key=sorted), outcomes
    with committed():
        owners = list(MessagingService.objects.filter(sid=RACED_SID).values_list("clinic_id", flat=True))
        winner = two_chains[0] if outcomes[0] == "ok" else two_chains[1]
        assert owners == [winner.clinic.pk]
        for chain in two_chains:
            with schema_context(chain.schema):
                named = messaging_settings_get().twilio_messaging_service_sid
            assert (named == RACED_SID) == (chain is winner)
