"""Wall-clock rules on the days the clocks change, in two zones, and branches of one chain in
different zones."""

from __future__ import annotations

import itertools
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from scheduling import services as sched
from scheduling.selectors import slot_list_available
from tenants.org import services as org
from tests.factories.scheduling import book, clinic_setup, clock_changes, july_monday, local_today

UTC = ZoneInfo("UTC")
# (zone, spring-forward day, fall-back day): the next real changes of each zone after tomorrow, by
# the zone's own rules, so that the day before each is still ahead of the run's clock
ZONES = [
    (tz, *clock_changes(tz, after=local_today(tz) + timedelta(days=1))) for tz in ("Europe/London", "America/New_York")
]


def _branch(in_a, tz):
    return org.branch_create(actor=in_a.users["owner"], name=f"Night branch {tz}", timezone_name=tz)


def _local(slots, tz):
    return [s.start.astimezone(ZoneInfo(tz)).strftime("%H:%M%z") for s in slots]


@pytest.mark.parametrize(("tz", "spring", "fall"), ZONES)
def test_spring_forward_night_has_one_hour_less(in_a, tz, spring, fall):
    clinic = clinic_setup(
        in_a,
        branch=_branch(in_a, tz),
        doctors=1,
        duration=30,
        opens=time(0),
        closes=time(23),
        shift=(time(0, 30), time(4)),
    )
    slots = clinic.slots(spring)
    # the shift 00:30-04:00 lasts 2.5 hours that night; the hour from 01:00 (London) or 02:00
    # (New York) does not exist on the wall clock
    assert len(slots) == 5
    assert slots[-1].end - slots[0].start == timedelta(hours=2, minutes=30)
    assert all(b.start - a.start == timedelta(minutes=30) for a, b in itertools.pairwise(slots))
    gap = "01:" if tz == "Europe/London" else "02:"
    assert not any(t.startswith(gap) for t in _local(slots, tz))
    for slot in slots:  # every slot offered can be booked, at exactly that instant
        booked = book(clinic, slot.start, actor=clinic.owner)
        assert booked.span.lower == slot.start


@pytest.mark.parametrize(("tz", "spring", "fall"), ZONES)
def test_fall_back_night_has_one_hour_more(in_a, tz, spring, fall):
    clinic = clinic_setup(
        in_a, branch=_branch(in_a, tz), doctors=1, duration=30, opens=time(0), closes=time(23), shift=(time(0), time(3))
    )
    slots = clinic.slots(fall)
    # 00:00-03:00 on the wall clock is four real hours: the repeated hour is offered twice,
    # once in summer time and once in winter time
    assert len(slots) == 8
    local = _local(slots, tz)
    assert sum(t.startswith("01:00") for t in local) == 2
    assert len({s.start for s in slots}) == 8


@pytest.mark.parametrize(("tz", "spring", "fall"), ZONES)
def test_day_shift_keeps_its_wall_clock_across_the_change(in_a, tz, spring, fall):
    clinic = clinic_setup(in_a, branch=_branch(in_a, tz), doctors=1, duration=60, shift=(time(9), time(12)))
    for day in (spring - timedelta(days=1), spring, fall - timedelta(days=1), fall):
        slots = clinic.slots(day, step=60)
        assert [s.start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in slots] == ["09:00", "10:00", "11:00"]


def test_weekly_series_keeps_local_time_over_the_change(in_a):
    clinic = clinic_setup(in_a, branch=_branch(in_a, "Europe/London"), doctors=1)
    london = "Europe/London"
    spring, _ = clock_changes(london, after=local_today(london) + timedelta(days=14))
    first = clinic.at(spring - timedelta(days=13), 10)  # London changes on a Sunday: the Monday two weeks before
    _, results = sched.series_book(
        actor=clinic.owner,
        patient=clinic.patient(),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        first_start=first,
        count=4,
    )
    assert [r.appointment.span.lower.astimezone(ZoneInfo("Europe/London")).hour for r in results] == [10] * 4
    assert [r.appointment.span.lower.astimezone(UTC).hour for r in results] == [10, 10, 9, 9]


def test_branches_in_different_zones_of_one_chain(in_a):
    london = clinic_setup(in_a, branch=_branch(in_a, "Europe/London"), doctors=1, shift=(time(9), time(10)))
    new_york = clinic_setup(in_a, branch=_branch(in_a, "America/New_York"), doctors=1, shift=(time(9), time(10)))
    day = july_monday()  # summer time on both sides of the Atlantic
    kwargs = {"date_from": day, "date_to": day, "step": 30, "now": timezone.now()}
    ldn = slot_list_available(service=london.service, branch=london.branch, **kwargs)
    nyc = slot_list_available(service=new_york.service, branch=new_york.branch, **kwargs)
    assert [s.start.astimezone(UTC).strftime("%H:%M") for s in ldn] == ["08:00", "08:30"]
    assert [s.start.astimezone(UTC).strftime("%H:%M") for s in nyc] == ["13:00", "13:30"]
