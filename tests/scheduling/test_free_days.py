"""Booking by day (scheduling/free_days.py): which days have a free time, a day's times by part of
the day, and the next free day, all from the plan booking judges with."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling import services as sched
from scheduling.free_days import day_picker, free_days, next_free_day
from scheduling.selectors import policy_get, slot_list_available
from tests.factories.scheduling import MONDAY, book, clinic_setup, clock_changes, local_today


def _free(clinic, first, last, **kw):
    return {
        d.day: d.free_times
        for d in free_days(service=clinic.service, branch=clinic.branch, date_from=first, date_to=last, step=30, **kw)
    }


def _fill(clinic, day, doctor=None):
    """Book every half hour of a 09:00-11:00 shift."""
    for hh, mm in ((9, 0), (9, 30), (10, 0), (10, 30)):
        book(clinic, clinic.at(day, hh, mm), doctor=doctor)


@pytest.fixture
def short(in_a):
    """One doctor on shift 09:00-11:00 every day: four half-hour times a day."""
    return clinic_setup(in_a, doctors=1, shift=(time(9), time(11)))


def test_days_with_and_without_free_times_agree_with_availability(in_a):
    # given two doctors, one of them fully booked on the Monday and the other off that day on leave
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(11)))
    _fill(clinic, MONDAY, clinic.doctors[0])
    sched.leave_create(
        actor=clinic.owner, doctor=clinic.doctors[1], start=clinic.at(MONDAY, 0), end=clinic.at(MONDAY, 23)
    )
    # when the week's days are asked for
    days = _free(clinic, MONDAY, MONDAY + timedelta(days=6))
    # then the Monday has no free time, every other day has the four times both doctors share
    assert days[MONDAY] == 0
    assert all(days[MONDAY + timedelta(days=n)] == 4 for n in range(1, 7))
    # and each count is what availability offers that day, whoever the doctor
    for day, count in days.items():
        slots = slot_list_available(service=clinic.service, branch=clinic.branch, date_from=day, date_to=day, step=30)
        assert count == len({s.start for s in slots})


def test_a_closed_day_and_a_day_of_leave_have_no_free_times(short):
    # given a closure on the Monday and the only doctor on leave on the Wednesday
    clinic = short
    sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=MONDAY, note="Closed for training")
    wednesday = MONDAY + timedelta(days=2)
    sched.leave_create(
        actor=clinic.owner, doctor=clinic.doctors[0], start=clinic.at(wednesday, 8), end=clinic.at(wednesday, 12)
    )
    # when the days are asked for
    days = _free(clinic, MONDAY, wednesday)
    # then both have none, and the Tuesday between them has its four
    assert days == {MONDAY: 0, MONDAY + timedelta(days=1): 4, wednesday: 0}


def test_a_chosen_doctor_counts_only_her_times(in_a):
    # given two doctors, the first on leave on the Monday
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(11)))
    sched.leave_create(
        actor=clinic.owner, doctor=clinic.doctors[0], start=clinic.at(MONDAY, 0), end=clinic.at(MONDAY, 23)
    )
    # when the Monday is asked for with any doctor, and with the first
    anyone = _free(clinic, MONDAY, MONDAY)
    hers = _free(clinic, MONDAY, MONDAY, doctor_ids=[clinic.doctors[0].pk])
    # then the colleague keeps the day free, the doctor on leave has nothing
    assert (anyone[MONDAY], hers[MONDAY]) == (4, 0)


def test_a_full_day_points_to_the_next_free_day(short):
    # given a Monday fully booked, and the Tuesday closed
    clinic = short
    _fill(clinic, MONDAY)
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=tuesday)
    # when the picker opens on the Monday
    picker = day_picker(service=clinic.service, branch=clinic.branch, day=MONDAY, step=30)
    # then it has no times and names the Wednesday as the next free day, as next_free_day does
    assert picker.day == MONDAY
    assert picker.times == []
    assert picker.next_free == wednesday
    after = next_free_day(service=clinic.service, branch=clinic.branch, after=MONDAY - timedelta(days=1), step=30)
    assert after == wednesday
    # and the month shows the Monday and Tuesday as days without free times
    shown = {d.day: d.free for d in picker.days}
    assert shown[MONDAY] is False
    assert shown[tuesday] is False
    assert shown[wednesday] is True


def test_next_free_day_looks_past_a_full_month_and_stops_at_the_online_horizon(short):
    # given the only doctor on leave for forty days from the Monday, and online booking 60 days ahead
    clinic = short
    sched.policy_update(actor=clinic.owner, online_horizon_days=60)
    back = MONDAY + timedelta(days=40)
    sched.leave_create(actor=clinic.owner, doctor=clinic.doctors[0], start=clinic.at(MONDAY, 0), end=clinic.at(back, 0))
    # when the next free day after the Sunday before is asked, for staff and online
    kw = {"service": clinic.service, "branch": clinic.branch, "after": MONDAY - timedelta(days=1), "step": 30}
    # then it is the day she is back (more than one month of days looked through)
    assert next_free_day(**kw) == back
    assert next_free_day(**kw, online=True) == back
    # and online, past the horizon, there is none
    sched.policy_update(actor=clinic.owner, online_horizon_days=(back - local_today(clinic.tz)).days - 1)
    assert next_free_day(**kw, online=True) is None


def test_the_days_times_are_grouped_by_part_of_the_day_with_the_doctor(in_a):
    # given a doctor on shift 08:00-20:00
    clinic = clinic_setup(in_a, doctors=1, opens=time(7), closes=time(21), shift=(time(8), time(20)))
    # when the picker opens on the Monday
    picker = day_picker(service=clinic.service, branch=clinic.branch, day=MONDAY, step=60)
    # then its times read 08:00 to 19:00 on the branch's clock, in three parts, each with the doctor
    parts = {name: [f"{t.local:%H:%M}" for t in times] for name, times in picker.periods}
    assert parts == {
        "Morning": ["08:00", "09:00", "10:00", "11:00"],
        "Afternoon": ["12:00", "13:00", "14:00", "15:00", "16:00"],
        "Evening": ["17:00", "18:00", "19:00"],
    }
    assert {t.doctor_name for t in picker.times} == {clinic.doctors[0].user.get_full_name()}
    assert picker.next_free is None


def test_the_week_the_clocks_change_keeps_the_wall_clock(in_a):
    # given a branch in London, and the week its clocks go forward
    clinic = clinic_setup(in_a, doctors=1, shift=(time(9), time(11)))
    forward, _ = clock_changes("Europe/London", after=local_today())
    monday = forward - timedelta(days=forward.weekday())
    # when that week's days are asked for
    days = _free(clinic, monday, monday + timedelta(days=6))
    # then every day, the change's included, has its four times, starting at 09:00 local
    assert set(days.values()) == {4}
    picker = day_picker(service=clinic.service, branch=clinic.branch, day=forward, step=30)
    assert [f"{t.local:%H:%M}" for t in picker.times] == ["09:00", "09:30", "10:00", "10:30"]


def test_a_month_is_one_plan(short):
    # given a month to show, in a chain whose booking rules are set
    clinic = short
    policy_get()
    # when the picker reads it (a free day chosen: no look further)
    with CaptureQueriesContext(connection) as queries:
        day_picker(service=clinic.service, branch=clinic.branch, day=MONDAY, step=30)
    # then the plan is one query whatever the number of days, and the doctors' names one more
    plans = [q for q in queries.captured_queries if "json_build_object" in q["sql"]]
    assert len(plans) == 1
    assert len(queries.captured_queries) == 2


def test_a_move_names_the_appointments_own_doctor_wherever_she_is_free(in_a):
    # given two doctors on shift 09:00-11:00, an appointment at 09:00 with the second (the higher id),
    # and her 10:00 taken by another patient
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(11)))
    first, own = sorted(clinic.doctors, key=lambda d: d.pk)
    moving = book(clinic, clinic.at(MONDAY, 9), doctor=own)
    book(clinic, clinic.at(MONDAY, 10), doctor=own)
    # when the picker opens on the Monday to move it
    picker = day_picker(service=clinic.service, branch=clinic.branch, day=MONDAY, step=30, moving=moving)
    # then every time she is free names her (the appointment does not block itself: 09:30 overlaps
    # it), and the colleague where she is busy, or where the appointment is now (09:00 with her is
    # no move at all)
    named = {f"{t.local:%H:%M}": t.doctor_id for t in picker.times}
    assert named == {"09:00": first.pk, "09:30": own.pk, "10:00": first.pk, "10:30": own.pk}
    # and without a move, each time names the first doctor free then, as before
    anyone = day_picker(service=clinic.service, branch=clinic.branch, day=MONDAY, step=30)
    assert {t.doctor_id for t in anyone.times} == {first.pk}


def test_a_move_keeps_clear_of_the_patients_other_visits(in_a):
    # given a patient with an appointment at 09:00 and another at 10:00 with the colleague
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(11)))
    patient = clinic.patient()
    moving = book(clinic, clinic.at(MONDAY, 9), doctor=clinic.doctors[0], patient=patient)
    book(clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[1], patient=patient)
    # when the picker opens on the Monday to move the first
    picker = day_picker(service=clinic.service, branch=clinic.branch, day=MONDAY, step=30, moving=moving)
    # then the patient's 10:00 is not offered with anyone
    assert [f"{t.local:%H:%M}" for t in picker.times] == ["09:00", "09:30", "10:30"]
