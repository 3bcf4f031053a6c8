"""The waitlist as a new user met it: an offer made in the chain's quiet hours is held from their
end (on the branch's clock, also on the night the clocks change); a freed time is never offered back
to the patient who gave it up, and when it goes to nobody the desk is told why; the offer's messages
write the time and the hold in the patient's language, with the hold's day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.compose import compose
from notifications.models import Kind, Message
from notifications.placeholders import local_time
from scheduling import services as sched
from scheduling.intervals import wall_clock
from scheduling.models import OfferStatus, WaitlistFreedTime
from scheduling.waitlist import waitlist_freed_of, waitlist_freed_said
from tenants.org.models import ChainSettings
from tests.factories.scheduling import book
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, join, offers_of, patient

pytestmark = pytest.mark.django_db


def _next_clock_change(tz: ZoneInfo, after: date) -> date | None:
    """The first day after ``after`` whose noon has another UTC offset than the day before's."""
    day = after
    for _ in range(400):
        before = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        if datetime.combine(day + timedelta(days=1), time(12), tzinfo=tz).utcoffset() != before:
            return day + timedelta(days=1)
        day += timedelta(days=1)
    return None


def _nights(clinic) -> list[date]:
    """An ordinary morning a few days before DAY, and the morning of the next clock change."""
    nights = [DAY - timedelta(days=2)]
    change = _next_clock_change(clinic.tz, DAY)
    if change is not None:
        nights.append(change)
    return nights


def test_an_offer_made_in_quiet_hours_is_held_from_their_end_also_when_the_clocks_change(clinic, time_machine):
    for morning in _nights(clinic):
        # given a waiting patient and a booked visit two days after an early morning (quiet hours
        # 21:00-08:00, the chain's default, on the branch's clock)
        visit_day = morning + timedelta(days=2)
        appointment = booked_at(clinic, day=visit_day)
        entry = join(clinic, day=visit_day)
        time_machine.move_to(wall_clock(morning, time(6, 53), clinic.tz), tick=False)

        # when the visit is cancelled at 06:53
        cancel(clinic, appointment)

        # then the offer reaches the patient at 08:00 and is held 30 minutes from then, not from 06:53
        (offer,) = offers_of(entry)
        eight = wall_clock(morning, time(8), clinic.tz)
        assert offer.reaches_at == eight
        assert offer.expires_at == eight + timedelta(minutes=30)
        assert offer.hold.hold_expires_at >= offer.expires_at
        # and its message waits for 08:00, saying it is held until 08:30 of that day (today, when it is read)
        message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email")
        assert message.due_at == eight
        assert message.context["text"].replace("\u202f", " ") == "We keep it for you until today 8:30 AM."

        # when the expiry task runs at 08:20 (after the hold would have ended had it begun at 06:53)
        sched.waitlist_offers_expire(now=eight + timedelta(minutes=20))

        # then the offer is still open
        offer.refresh_from_db()
        assert offer.status == OfferStatus.OPEN
        time_machine.move_to(datetime.now(tz=clinic.tz) + timedelta(days=3), tick=True)


def test_an_offer_made_outside_quiet_hours_is_held_from_now(clinic, time_machine):
    # given a waiting patient and a visit, at 10:00 on the branch's clock
    morning = DAY - timedelta(days=2)
    appointment = booked_at(clinic, day=DAY)
    entry = join(clinic)
    ten = wall_clock(morning, time(10), clinic.tz)
    time_machine.move_to(ten, tick=False)

    # when the visit is cancelled
    cancel(clinic, appointment)

    # then the offer goes at once and is held from now
    (offer,) = offers_of(entry)
    assert offer.reaches_at is None
    assert offer.expires_at == ten + timedelta(minutes=30)


def test_a_cancelled_time_is_not_offered_back_to_its_patient(clinic):
    # given Leo, waiting for a time between 09:00 and 13:00, and booked at 10:00 meanwhile; Ana waits too
    leo = patient(clinic, "Leo")
    leo_waits = join(clinic, leo)
    ana_waits = join(clinic)
    appointment = book(clinic, clinic.at(DAY, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=leo)

    # when the clinic cancels Leo's 10:00
    cancel(clinic, appointment)

    # then the time goes to Ana, not back to Leo
    assert offers_of(leo_waits) == []
    assert len(offers_of(ana_waits)) == 1
    freed = waitlist_freed_of(appointment_id=appointment.pk)
    assert freed is not None
    assert freed.patient_id == leo.pk
    assert "offered to" in waitlist_freed_said(freed=freed)


def test_a_moved_visits_previous_time_is_not_offered_back_to_its_patient(clinic):
    # given Leo waiting (09:00-13:00) and booked at 10:00, and nobody else waiting
    leo = patient(clinic, "Leo")
    leo_waits = join(clinic, leo)
    appointment = book(clinic, clinic.at(DAY, 10), doctor=clinic.doctors[0], actor=clinic.owner, patient=leo)

    # when his visit is moved to 12:00
    sched.appointment_reschedule(
        actor=clinic.owner, appointment=appointment, start=clinic.at(DAY, 12), doctor=clinic.doctors[0]
    )

    # then 10:00 is not offered to him, and the desk reads why nobody got it
    assert offers_of(leo_waits) == []
    said = waitlist_freed_said(freed=WaitlistFreedTime.objects.get(appointment=appointment))
    assert said == "Offered to nobody: of 1 waiting, 1 is the patient whose appointment freed it."


def test_a_time_offered_to_nobody_says_why(clinic):
    # given nobody waiting, then one waiting for afternoons only, then one with an offer still to answer
    first = booked_at(clinic, 10)
    cancel(clinic, first)
    freed = waitlist_freed_of(appointment_id=first.pk)
    assert freed is not None
    assert freed.reason == "Offered to nobody: nobody was waiting at this branch then."

    join(clinic, times=(time(14), time(17)))
    second = booked_at(clinic, 10)
    cancel(clinic, second)
    assert waitlist_freed_of(appointment_id=second.pk).reason == (
        "Offered to nobody: of 1 waiting, 1 can come on other days or at other times."
    )

    third, fourth = booked_at(clinic, 10), booked_at(clinic, 11)  # the freed 10:00 booked again first
    other_doctor = join(clinic, doctor=clinic.doctors[1])
    offered = join(clinic)
    cancel(clinic, third)
    assert len(offers_of(offered)) == 1

    # when another time frees up that only the patient already asked would suit
    cancel(clinic, fourth)

    # then the desk reads each reason with its count
    said = waitlist_freed_said(freed=waitlist_freed_of(appointment_id=fourth.pk))
    assert said == (
        "Offered to nobody: of 3 waiting, 1 waits for another doctor, 1 can come on other days or at other "
        "times, 1 already has an offer to answer."
    )
    assert offers_of(other_doctor) == []


def test_a_time_beginning_too_soon_is_offered_to_nobody(clinic, time_machine):
    # given a waiting patient and a visit at 09:00 on the branch's clock
    entry = join(clinic)
    appointment = booked_at(clinic, 9)
    time_machine.move_to(wall_clock(DAY, time(8, 50), clinic.tz), tick=False)

    # when it is cancelled ten minutes before
    cancel(clinic, appointment)

    # then nobody is offered a time nobody could be told of and come to, and the desk reads why
    assert offers_of(entry) == []
    assert waitlist_freed_of(appointment_id=appointment.pk).reason == (
        "Offered to nobody: it begins too soon for anyone to be told and come."
    )


def test_the_offer_writes_times_in_the_patients_language_with_the_holds_day(clinic, time_machine):
    # given a chain writing British English, a waiting patient with no language of their own
    ChainSettings.objects.filter(pk=1).update(locale="en-GB")
    entry = join(clinic)
    appointment = booked_at(clinic, 10)
    time_machine.move_to(wall_clock(DAY - timedelta(days=3), time(11, 4), clinic.tz), tick=False)

    # when the time frees up and the offer is written
    cancel(clinic, appointment)

    # then its e-mail names the time as every other message does, and the hold with its day
    (offer,) = offers_of(entry)
    message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email", kind=Kind.WAITLIST_OFFER)
    composed = compose(message)
    when = local_time(appointment.span.lower, tz=clinic.tz, language="en-gb").when
    assert when in composed.subject
    assert when in composed.body
    assert local_time(appointment.span.lower, tz=clinic.tz, language="en").when not in composed.body
    held = offer.expires_at.astimezone(clinic.tz)
    assert f"until today {held:%H:%M}." in composed.body  # the hold ends the day it is read
