"""The desk's day comes from the booking plan: what it shows as bookable is what booking accepts."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import transaction

from scheduling import services as sched
from scheduling.exceptions import BookingRefused
from scheduling.selectors import DeskColumn, desk_day
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup

VISIT = timedelta(minutes=30)  # clinic_setup's service, no buffers


class _Undo(Exception):
    pass


def accepted(clinic: Clinic, column: DeskColumn, start: datetime) -> bool:
    """Whether appointment_book takes this start for the column's doctor; nothing is kept."""
    refusal = None
    try:
        with transaction.atomic():
            book(clinic, start, doctor=column.doctor)
            raise _Undo
    except _Undo:
        pass
    except BookingRefused as exc:
        refusal = exc.code
    assert refusal in {None, "branch_closed", "outside_shift", "doctor_on_leave"}, refusal
    return refusal is None


def shown_bookable(column: DeskColumn, start: datetime) -> bool:
    return any(lo <= start and start + VISIT <= hi for lo, hi in column.bookable)


def probes(column: DeskColumn, day_edges: list[datetime]) -> list[datetime]:
    """Starts just inside and just outside every edge the grid draws for the column."""
    edges = {e for window in column.bookable for e in window} | set(day_edges)
    return sorted({e + timedelta(minutes=m) for e in edges for m in (-35, -30, -25, -5, 0, 5)})


@pytest.fixture
def setup(in_a):
    # given a branch open 08:00-18:00, doctors on shift 09:00-17:00 with a break 12:00-13:00
    clinic = clinic_setup(in_a, break_=(time(12), time(13)))
    owner = clinic.owner
    closed, special, extra = (MONDAY + timedelta(days=n) for n in (1, 2, 3))
    sched.special_day_create(actor=owner, branch=clinic.branch, day=closed, note="Staff training")
    sched.special_day_create(actor=owner, branch=clinic.branch, day=special, opens=time(10), closes=time(14))
    sched.extra_shift_create(
        actor=owner, doctor=clinic.doctors[0], branch=clinic.branch, day=extra, starts=time(17), ends=time(19)
    )
    sched.leave_create(
        actor=owner, doctor=clinic.doctors[1], start=clinic.at(MONDAY, 14), end=clinic.at(MONDAY, 15), reason="Dentist"
    )
    return clinic, {"weekday": MONDAY, "closed": closed, "special": special, "extra": extra}


@pytest.mark.parametrize("which", ["weekday", "closed", "special", "extra"])
def test_what_the_desk_shows_bookable_is_what_booking_accepts(setup, which):
    clinic, days = setup
    day = days[which]
    # when the desk reads the day
    grid = desk_day(branch=clinic.branch, day=day, actor=clinic.receptionist)
    # then every start just inside or just outside an edge it draws is accepted exactly where it shows it open
    edges = [clinic.at(day, h) for h in (8, 9, 10, 12, 13, 14, 15, 17, 18, 19)]
    assert [c.doctor for c in grid.columns] == sorted(
        clinic.doctors, key=lambda d: (d.user.last_name, d.user.first_name, d.pk)
    )
    for column in grid.columns:
        for start in probes(column, edges):
            assert shown_bookable(column, start) == accepted(clinic, column, start), (which, column.doctor, start)


def test_a_closed_day_is_closed_with_its_reason(setup):
    clinic, days = setup
    grid = desk_day(branch=clinic.branch, day=days["closed"], actor=clinic.receptionist)
    assert grid.closed
    assert grid.closed_reason == "Staff training"
    assert all(c.bookable == [] for c in grid.columns)
    assert all(kind == "closed" for c in grid.columns for _, kind in c.off)


def test_special_hours_break_shift_and_leave_are_the_plan(setup):
    clinic, days = setup
    special = desk_day(branch=clinic.branch, day=days["special"], actor=clinic.receptionist)
    assert special.special
    assert not special.closed
    assert special.open == [(clinic.at(days["special"], 10), clinic.at(days["special"], 14))]
    at = clinic.at
    d = days["special"]
    assert special.columns[0].bookable == [(at(d, 10), at(d, 12)), (at(d, 13), at(d, 14))]
    weekday = desk_day(branch=clinic.branch, day=days["weekday"], actor=clinic.receptionist)
    d = days["weekday"]
    by_doctor = {c.doctor: c for c in weekday.columns}
    assert by_doctor[clinic.doctors[0]].bookable == [(at(d, 9), at(d, 12)), (at(d, 13), at(d, 17))]
    # the doctor on leave 14:00-15:00 is bookable around it, and her leave is an entry of the day
    assert by_doctor[clinic.doctors[1]].bookable == [
        (at(d, 9), at(d, 12)),
        (at(d, 13), at(d, 14)),
        (at(d, 15), at(d, 17)),
    ]
    assert any(e["kind"] == "leave" for e in weekday.entries)
    assert (weekday.first, weekday.last) == (at(d, 8), at(d, 18))
    # an extra shift past closing time is bookable only while the branch is open
    d = days["extra"]
    extra = desk_day(branch=clinic.branch, day=d, actor=clinic.receptionist)
    assert {c.doctor: c for c in extra.columns}[clinic.doctors[0]].bookable == [
        (at(d, 9), at(d, 12)),
        (at(d, 13), at(d, 18)),
    ]
    assert extra.last == at(d, 19)
