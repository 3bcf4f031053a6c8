"""The chain's quiet hours change while a waitlist offer waits for them to end: in the same
transaction the offer is held from when the new quiet hours let its message go (at once when they no
longer hold it back), its message is due then and says the new end of the hold, and the held time is
kept only that long; an offer whose time now begins too soon is withdrawn and its time given back.
Other messages parked by quiet hours follow the new ones too. Against the dispatcher and
the offer-expiry sweep on real concurrent connections, nothing is sent twice and nothing deadlocks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications import services
from notifications.dispatch import messages_dispatch
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from notifications.services import MessagingSettingsIn
from notifications.waitlist_messages import hold_until
from scheduling import services as sched
from scheduling.intervals import wall_clock
from scheduling.models import OfferStatus, Status, WaitlistFreedTime, WaitlistOffer
from scheduling.services.waitlist import HOLD_GRACE, RETIME_WITHDRAWN
from scheduling.waitlist import waitlist_freed_of, waitlist_freed_said
from tests.conftest import WORLD
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import calendar_clear, committed, race
from tests.notifications.sent_world import messaging, settings_in, shared_clinic
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, join, offers_of

pytestmark = pytest.mark.django_db


def _quiet(start: time, end: time) -> MessagingSettingsIn:
    return settings_in(quiet_hours_start=start, quiet_hours_end=end)


@pytest.fixture
def clinic(in_a):
    messaging(quiet=(time(21), time(8)))
    return clinic_setup(in_a)


def _offered_at_dawn(clinic: Clinic, time_machine, *, hour: int = 10) -> tuple[WaitlistOffer, datetime]:
    """A visit at ``hour`` on a day ahead is cancelled at 06:53 of that day (quiet hours 21:00-08:00):
    its time is offered to a waiting patient, held from 08:00."""
    morning = DAY
    appointment = booked_at(clinic, hour, day=morning)
    entry = join(clinic, day=morning)
    dawn = wall_clock(morning, time(6, 53), clinic.tz)
    time_machine.move_to(dawn, tick=False)
    cancel(clinic, appointment)
    (offer,) = offers_of(entry)
    assert offer.reaches_at == wall_clock(morning, time(8), clinic.tz)
    return offer, dawn


def test_shorter_quiet_hours_send_a_waiting_offer_now_and_hold_its_time_from_now(clinic, time_machine):
    # given an offer made at 06:53 whose message waits for 08:00, the end of quiet hours
    offer, dawn = _offered_at_dawn(clinic, time_machine)
    # when the owner makes quiet hours end at 06:00
    services.messaging_settings_change(actor=clinic.owner, values=_quiet(time(21), time(6)))
    # then the offer goes now and is held 30 minutes from now, and so is its time
    offer.refresh_from_db()
    assert offer.reaches_at is None
    assert offer.expires_at == dawn + timedelta(minutes=30)
    assert offer.hold.hold_expires_at == offer.expires_at + HOLD_GRACE
    # and its message is due now, saying the new end of the hold
    message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email")
    assert (message.status, message.due_at) == (MessageStatus.PENDING, dawn)
    assert (
        hold_until(dawn + timedelta(minutes=30), tz=clinic.tz, language=message.language, now=dawn)
        in message.context["text"]
    )
    # and the desk no longer reads "not sent yet (quiet hours until ...)"
    freed = waitlist_freed_of(appointment_id=_cancelled_id(offer))
    assert freed is not None
    assert "not sent yet" not in waitlist_freed_said(freed=freed, now=dawn)


def _cancelled_id(offer: WaitlistOffer) -> int:
    return WaitlistFreedTime.objects.get(hold_id=offer.hold_id).appointment_id  # type: ignore[return-value]


def test_longer_quiet_hours_hold_a_waiting_offer_from_their_new_end(clinic, time_machine):
    # given an offer made at 06:53 whose message waits for 08:00
    offer, _ = _offered_at_dawn(clinic, time_machine)
    nine = wall_clock(DAY, time(9), clinic.tz)
    # when the owner makes quiet hours end at 09:00
    services.messaging_settings_change(actor=clinic.owner, values=_quiet(time(21), time(9)))
    # then the offer reaches the patient at 09:00 and is held until 09:30, and its time as long
    offer.refresh_from_db()
    assert offer.reaches_at == nine
    assert offer.expires_at == nine + timedelta(minutes=30)
    assert offer.hold.hold_expires_at == nine + timedelta(minutes=30) + HOLD_GRACE
    # and its message waits for 09:00, saying 09:30 of that day
    message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email")
    assert message.due_at == nine
    assert (
        hold_until(nine + timedelta(minutes=30), tz=clinic.tz, language=message.language, now=nine)
        in message.context["text"]
    )
    # and the sweep at 08:45 (after the old hold) leaves it open
    sched.waitlist_offers_expire(now=wall_clock(DAY, time(8, 45), clinic.tz))
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN


def test_quiet_hours_ending_too_close_to_the_offered_time_withdraw_the_offer_and_free_the_time(clinic, time_machine):
    # given an offer of a 10:00 time made at 06:53, waiting for 08:00
    offer, _ = _offered_at_dawn(clinic, time_machine)
    # when the owner makes quiet hours end at 09:50
    services.messaging_settings_change(actor=clinic.owner, values=_quiet(time(21), time(9, 50)))
    # then the offer is withdrawn, its message never goes (saying why), and the time is free again
    offer.refresh_from_db()
    assert offer.status == OfferStatus.WITHDRAWN
    message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email")
    assert (message.status, message.last_error) == (MessageStatus.CANCELLED, RETIME_WITHDRAWN)
    assert offer.hold.status == Status.CANCELLED


def test_the_same_quiet_hours_saved_again_leave_a_waiting_offer_as_it_was(clinic, time_machine):
    # given an offer waiting for 08:00
    offer, _ = _offered_at_dawn(clinic, time_machine)
    before = (offer.reaches_at, offer.expires_at)
    # when the owner saves the settings with the same quiet hours
    services.messaging_settings_change(actor=clinic.owner, values=_quiet(time(21), time(8)))
    # then nothing about the offer changed
    offer.refresh_from_db()
    assert (offer.reaches_at, offer.expires_at) == before


def test_another_message_parked_by_quiet_hours_follows_the_new_ones_at_once(clinic, time_machine):
    # Messages other than reminders and offers that the dispatcher put back until the old end of quiet
    # hours are re-timed by the change too (notifications.services.held_messages_retime).
    dawn = wall_clock(DAY, time(6, 53), clinic.tz)
    time_machine.move_to(dawn, tick=False)
    message = message_enqueue(
        kind=Kind.FOLLOW_UP,
        channel=Channel.EMAIL,
        recipient="parked@example.com",
        due_at=wall_clock(DAY, time(8), clinic.tz),
        branch_id=clinic.branch.pk,
        context={"text": "How was your visit?"},
        key="parked-follow-up",
    )
    # when the owner makes quiet hours end at 09:00
    change = services.messaging_settings_change(actor=clinic.owner, values=_quiet(time(21), time(9)))
    # then it waits for 09:00, the end of the new quiet hours, and the change counts it
    message.refresh_from_db()
    assert message.due_at == wall_clock(DAY, time(9), clinic.tz)
    assert change.held_retimed == 1


# --- against the dispatcher and the expiry sweep, on real concurrent connections ---------------------------------


@pytest.fixture
def shared(django_db_setup, django_db_blocker) -> Iterator[Clinic]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), shared_clinic(chain) as clinic:
        yield clinic
        with committed(), schema_context(chain.schema):
            WaitlistOffer.objects.filter(hold__doctor__in=clinic.doctors).delete()
            Message.objects.filter(kind=Kind.WAITLIST_OFFER, branch_id=clinic.branch.pk).delete()
            calendar_clear(clinic.doctors)


def _around(moment: datetime, clinic: Clinic, hours: int) -> tuple[time, time]:
    local = moment.astimezone(clinic.tz)
    return (
        (local - timedelta(hours=hours)).time().replace(second=0, microsecond=0),
        (local + timedelta(hours=hours)).time().replace(second=0, microsecond=0),
    )


@pytest.mark.parametrize("round_", range(3))
def test_a_retime_the_dispatcher_and_the_expiry_sweep_at_once_send_each_offer_once(shared, round_):
    # given quiet hours from an hour ago to an hour from now, and offers whose messages wait for their end
    with committed(), schema_context(shared.chain.schema):
        now = timezone.now()
        messaging(quiet=_around(now, shared, 1))
        day = shared.days_ahead(5 + round_)
        entries = [join(shared, day=day) for _ in range(2)]
        for hour in (10, 11):
            cancel(shared, booked_at(shared, hour, day=day))
        offers = [o for e in entries for o in offers_of(e)]
        assert offers
        assert all(o.reaches_at and o.reaches_at > now for o in offers)
        owner = shared.owner
        later = (now + timedelta(hours=12)).astimezone(shared.tz)
        start = later.replace(second=0, microsecond=0)
        values = _quiet(start.time(), (start + timedelta(minutes=2)).time())

    # when the owner ends quiet hours now while the dispatcher and the expiry sweep run, each on its own connection
    def attempt(i: int) -> None:
        if i == 0:
            services.messaging_settings_change(actor=owner, values=values)
        elif i == 1:
            messages_dispatch(now=timezone.now())
        else:
            sched.waitlist_offers_expire(now=timezone.now())

    outcomes = race(3, attempt, shared.chain.schema)

    # then all finish; each offer is open, goes now and is held from the change; its message exists once,
    # waiting or sent once
    assert outcomes == ["ok", "ok", "ok"]
    with committed(), schema_context(shared.chain.schema):
        for offer in WaitlistOffer.objects.filter(pk__in=[o.pk for o in offers]):
            assert offer.status == OfferStatus.OPEN
            assert offer.reaches_at is None
            assert offer.expires_at <= timezone.now() + timedelta(minutes=30)
            rows = Message.objects.filter(key=f"waitlist-offer:{offer.pk}:email")
            assert rows.count() == 1
            assert rows.get().status in (MessageStatus.PENDING, MessageStatus.SENT)
        messages_dispatch(now=timezone.now())
        assert not Message.objects.filter(
            key__in=[f"waitlist-offer:{o.pk}:email" for o in offers], status=MessageStatus.PENDING
        ).exists()
