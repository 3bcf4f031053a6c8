"""The book's event shapes after the page walk of issue 11: freed times and leave lie behind the live
appointments, a series appointment knows its place, the week opens on a doctor who works that week."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from scheduling import services as sched
from scheduling.book import appointment_card, book_day, book_week, week_doctor
from scheduling.models import ShiftPattern, Status
from scheduling.selectors import doctors_offering
from scheduling.services.setup import shift_pattern_end
from tests.factories.scheduling import MONDAY, book, clinic_setup


@pytest.fixture
def clinic(in_a):
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(17)))
    clinic.receptionist.staff.branches.add(clinic.branch)
    return clinic


def test_cancelled_and_missed_visits_lie_behind_the_live_ones_and_still_say_what_they_were(clinic):
    # given a cancelled visit at 10:00 and a live one booked into its freed time
    first = clinic.doctors[0]
    cancelled = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, doctor=first)
    sched.appointment_cancel(actor=clinic.owner, appointment=cancelled, reason="Unwell")
    live = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, doctor=first)
    # when the book reads the day
    events = {e.get("id"): e for e in book_day(actor=clinic.receptionist, branch=clinic.branch, day=MONDAY)["events"]}
    # then the cancelled one is drawn behind (not laid beside the live one, not catching the click),
    # still an appointment with its status in words; the live one is an ordinary event
    freed = events[str(cancelled.pk)]
    assert freed["display"] == "background"
    assert "book-freed" in freed["classNames"]
    assert (freed["extendedProps"]["kind"], freed["extendedProps"]["statusLabel"]) == ("appointment", "Cancelled")
    assert "display" not in events[str(live.pk)]
    assert "book-freed" not in events[str(live.pk)]["classNames"]


def test_leave_ending_days_later_shows_this_days_part_behind_the_appointments(clinic):
    # given leave from 14:00 on MONDAY to 18:00 two days later
    second = clinic.doctors[1]
    sched.leave_create(
        actor=clinic.owner,
        doctor=second,
        start=clinic.at(MONDAY, 14),
        end=clinic.at(MONDAY + timedelta(days=2), 18),
        reason="Training",
    )
    # when the book reads MONDAY and the day after
    monday = book_day(actor=clinic.owner, branch=clinic.branch, day=MONDAY)
    tuesday = book_day(actor=clinic.owner, branch=clinic.branch, day=MONDAY + timedelta(days=1))
    # then on MONDAY it runs from 14:00 to the end of the day's grid (not to "00:00"), its reason in words,
    # behind the appointments; on the day after it fills the grid
    leave = next(e for e in monday["events"] if "book-leave" in e["classNames"])
    assert (leave["start"], leave["end"]) == (f"{MONDAY}T14:00:00", f"{MONDAY}T{monday['slotMaxTime']}")
    assert leave["title"] == "Leave: Training"
    assert leave["display"] == "background"
    later = next(e for e in tuesday["events"] if "book-leave" in e["classNames"])
    day = MONDAY + timedelta(days=1)
    assert (later["start"], later["end"]) == (f"{day}T{tuesday['slotMinTime']}", f"{day}T{tuesday['slotMaxTime']}")


def test_a_series_appointment_knows_its_place_in_the_series(clinic):
    # given a weekly series of four
    _, results = sched.series_book(
        actor=clinic.receptionist,
        patient=clinic.patient(),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        first_start=clinic.at(MONDAY, 11),
        count=4,
    )
    second = results[1].appointment
    # when the desk's panel reads the second
    card = appointment_card(actor=clinic.receptionist, appointment=second)
    # then it is the second of four; a single appointment is in no series
    assert card.series_place == (2, 4)
    single = book(clinic, clinic.at(MONDAY, 15), actor=clinic.owner)
    assert appointment_card(actor=clinic.receptionist, appointment=single).series_place is None


def test_the_week_opens_on_the_first_doctor_who_works_that_week(clinic):
    # given the first doctor (as the desk lists them) whose weekly shifts end before the week
    doctors = list(doctors_offering(branch=clinic.branch))
    gone = doctors[0]
    for pattern in ShiftPattern.objects.filter(doctor=gone):
        shift_pattern_end(actor=clinic.owner, pattern=pattern, last_day=MONDAY - timedelta(days=3))
    # when the week view needs a doctor for MONDAY's week
    chosen = week_doctor(branch=clinic.branch, doctors=doctors, day=MONDAY + timedelta(days=2))
    # then it is the next doctor, who has shifts that week; the week before, the first still works
    assert chosen == doctors[1]
    assert week_doctor(branch=clinic.branch, doctors=doctors, day=MONDAY - timedelta(days=7)) == gone
    feed = book_week(actor=clinic.receptionist, branch=clinic.branch, doctor=chosen, day=MONDAY)
    assert feed["resources"][0]["id"] == chosen.pk
    assert Status.BOOKED  # the statuses the book reads are the model's
