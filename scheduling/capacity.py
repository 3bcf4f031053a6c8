"""How many minutes each doctor could be booked at a branch on each local day: her shifts (weekly
patterns valid that day and extra shifts, less breaks) while the branch is open (its weekly hours,
or the special day's), less her leave. The same windows, from the same functions, as the booking
plan's ``DoctorDay.bookable``: what the figures call capacity is what could have been booked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from scheduling import intervals as iv
from scheduling.models import ACTIVE_STATUSES, BranchHours, ExtraShift, Leave, ShiftPattern, SpecialDay
from scheduling.selectors import _doctor_days, _open_windows
from tenants.org.models import Branch


@dataclass(frozen=True)
class Capacity:
    """``minutes``: bookable minutes; ``leave_minutes``: shift minutes (branch open) lost to leave."""

    minutes: int
    leave_minutes: int


def _minutes(windows: Iterable[iv.Interval]) -> int:
    return int(sum((end - start).total_seconds() for start, end in windows) // 60)


def _clock(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def capacity_by_day(
    *, branch: Branch, days: Iterable[date], doctor_ids: Iterable[int]
) -> dict[tuple[int, date], Capacity]:
    """The capacity of each of ``doctor_ids`` at ``branch`` on each of the local ``days``; a doctor
    without a shift there that day has none (and is left out)."""
    day_list = sorted(set(days))
    doctors = sorted(set(doctor_ids))
    if not day_list or not doctors:
        return {}
    tz = ZoneInfo(branch.timezone)
    first, last = day_list[0], day_list[-1]
    lo, hi = iv.day_bounds(first, tz)[0], iv.day_bounds(last, tz)[1]
    patterns = ShiftPattern.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=first),
        branch=branch,
        doctor_id__in=doctors,
        valid_from__lte=last,
    )
    data = {
        "patterns": [
            [
                p.doctor_id,
                p.weekday,
                _clock(p.starts),
                _clock(p.ends),
                _clock(p.break_starts),
                _clock(p.break_ends),
                _clock(p.valid_from),
                _clock(p.valid_until),
            ]
            for p in patterns
        ],
        "extra": [
            [e.doctor_id, e.date.isoformat(), _clock(e.starts), _clock(e.ends)]
            for e in ExtraShift.objects.filter(branch=branch, doctor_id__in=doctors, date__range=(first, last))
        ],
        "hours": [[h.weekday, _clock(h.opens), _clock(h.closes)] for h in BranchHours.objects.filter(branch=branch)],
        "special": [
            [s.date.isoformat(), _clock(s.opens), _clock(s.closes), s.note]
            for s in SpecialDay.objects.filter(branch=branch, date__range=(first, last))
        ],
        "busy": [
            [leave.doctor_id, True, leave.busy.lower.timestamp(), leave.busy.upper.timestamp()]
            for leave in Leave.objects.filter(
                doctor_id__in=doctors,
                status__in=ACTIVE_STATUSES,
                busy__overlap=(lo - timedelta(hours=1), hi + timedelta(hours=1)),
            ).only("doctor_id", "busy")
        ],
    }
    open_windows = _open_windows(data, day_list, tz)
    out: dict[tuple[int, date], Capacity] = {}
    for (doctor_id, day), doctor_day in _doctor_days(data, day_list, tz, []).items():
        if day not in open_windows:
            continue
        on_shift = iv.intersect(open_windows[day], doctor_day.shift)
        if not on_shift:
            continue
        bookable = doctor_day.bookable(open_windows[day])
        out[(doctor_id, day)] = Capacity(
            minutes=_minutes(bookable), leave_minutes=_minutes(on_shift) - _minutes(bookable)
        )
    return out
