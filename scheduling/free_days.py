"""Booking by day: which days have a free time for a service at a branch (and doctor), one day's free
times with the doctor of each, and the next free day after a full one.

Every answer comes from the plan booking judges with (``scheduling.selectors.plan_load``), loaded
once for the whole range asked (a month is one round trip, not one per day), so a day shown as free
has a time that booking accepts, and a closure, a special day, leave or a full book shows as no free
time. Days are the branch's local days; the day's times are split on its wall clock into morning,
afternoon and evening.

Each time names one doctor free then: the lowest id among those free, or, for an appointment being
moved (``moving``), its own doctor wherever she is free (the patient stays with her doctor unless the
desk chooses another); a move also frees the appointment's own time and keeps clear of its patient's
other visits, as the reschedule that books it judges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from scheduling.engine import STAFF_HORIZON, Plan
from scheduling.models import Appointment, Service
from scheduling.selectors import plan_load, policy_get
from tenants.org.models import Branch, StaffMember

MAX_RANGE_DAYS = 31  # the most days one plan is loaded for (as the availability API allows)
LOOKAHEAD_DAYS = 92  # how far "next free day" looks (online, no further than the chain's horizon)
AFTERNOON_FROM, EVENING_FROM = 12, 17  # wall-clock hours that start the afternoon and the evening
PERIODS = ("Morning", "Afternoon", "Evening")


@dataclass(frozen=True)
class FreeDay:
    day: date
    free_times: int  # distinct free start times, whoever the doctor

    @property
    def free(self) -> bool:
        return self.free_times > 0


@dataclass(frozen=True)
class FreeTime:
    start: datetime  # UTC
    end: datetime
    local: datetime  # the start on the branch's wall clock
    doctor_id: int
    doctor_name: str

    @property
    def period(self) -> str:
        hour = self.local.hour
        return PERIODS[0] if hour < AFTERNOON_FROM else PERIODS[1] if hour < EVENING_FROM else PERIODS[2]


@dataclass(frozen=True)
class DayPicker:
    """What a page needs to book by day: the month's days (only those between ``first`` and ``last``
    can be booked), the chosen day's times, and when that day has none, the next free day."""

    month: date  # the first of the month shown
    first: date  # the first day that may be booked (today at the branch)
    last: date  # the last (the online horizon, or staff's look-ahead)
    day: date  # the chosen day
    days: list[FreeDay]
    times: list[FreeTime]
    next_free: date | None  # only when the chosen day has no free time
    periods: list[tuple[str, list[FreeTime]]] = field(default_factory=list)


def _span(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def _starts(plan: Plan, day: date, step: int, moving: Appointment | None = None) -> dict[datetime, int]:
    """Each free start of the day with the doctor free then: the moved appointment's own doctor
    where she is, else the first (lowest id) free then: "any doctor". Where the appointment is now
    (its start with its doctor) is not a time to move it to."""
    prefer = moving.doctor_id if moving else None
    here = (moving.span.lower, moving.doctor_id) if moving else None
    starts: dict[datetime, int] = {}
    for doctor_id in sorted(plan.offered_by, key=lambda d: (d != prefer, d)):
        for start in plan.free_starts(doctor_id, day, step):
            if (start, doctor_id) != here:
                starts.setdefault(start, doctor_id)
    return starts


def _plan(
    *,
    service: Service,
    branch: Branch,
    days: list[date],
    doctor_ids: list[int] | None,
    online: bool,
    now: datetime | None,
    moving: Appointment | None = None,
) -> Plan:
    return plan_load(
        service=service,
        branch=branch,
        days=days,
        doctor_ids=doctor_ids,
        online=online,
        now=now,
        patient_id=moving.patient_id if moving else None,
        ignore_entry_id=moving.pk if moving else None,
    )


def free_days(
    *,
    service: Service,
    branch: Branch,
    date_from: date,
    date_to: date,
    doctor_ids: list[int] | None = None,
    step: int = 15,
    online: bool = False,
    now: datetime | None = None,
    moving: Appointment | None = None,
) -> list[FreeDay]:
    """Each local day from ``date_from`` to ``date_to`` (at most MAX_RANGE_DAYS) with how many free
    times it has for ``service`` at ``branch`` (with one of ``doctor_ids``, or any doctor)."""
    days = _span(date_from, date_to)[:MAX_RANGE_DAYS]
    if not days:
        return []
    plan = _plan(
        service=service, branch=branch, days=days, doctor_ids=doctor_ids, online=online, now=now, moving=moving
    )
    return [FreeDay(day, len(_starts(plan, day, step, moving))) for day in days]


def _limit(*, branch: Branch, online: bool, now: datetime) -> tuple[date, date]:
    """The first and last local day anything may be booked: today, and the online horizon (staff
    book as far ahead as the engine lets them)."""
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    ahead = timedelta(days=policy_get().online_horizon_days) if online else STAFF_HORIZON
    return today, today + ahead


def next_free_day(
    *,
    service: Service,
    branch: Branch,
    after: date,
    doctor_ids: list[int] | None = None,
    step: int = 15,
    online: bool = False,
    now: datetime | None = None,
    moving: Appointment | None = None,
) -> date | None:
    """The first local day after ``after`` with a free time, looking LOOKAHEAD_DAYS ahead (online,
    no further than the horizon); None when there is none. One plan per MAX_RANGE_DAYS days."""
    now = now or timezone.now()
    today, last = _limit(branch=branch, online=online, now=now)
    last = min(last, after + timedelta(days=LOOKAHEAD_DAYS))
    day = max(after + timedelta(days=1), today)
    while day <= last:
        chunk_end = min(day + timedelta(days=MAX_RANGE_DAYS - 1), last)
        for found in free_days(
            service=service,
            branch=branch,
            date_from=day,
            date_to=chunk_end,
            doctor_ids=doctor_ids,
            step=step,
            online=online,
            now=now,
            moving=moving,
        ):
            if found.free:
                return found.day
        day = chunk_end + timedelta(days=1)
    return None


def _doctor_names(doctor_ids: set[int]) -> dict[int, str]:
    return {
        doctor.pk: doctor.user.get_full_name() or doctor.user.email
        for doctor in StaffMember.objects.filter(pk__in=doctor_ids).select_related("user")
    }


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _month_end(month: date) -> date:
    following = (month + timedelta(days=32)).replace(day=1)
    return following - timedelta(days=1)


def day_picker(
    *,
    service: Service,
    branch: Branch,
    day: date | None = None,
    month: date | None = None,
    doctor_ids: list[int] | None = None,
    step: int = 15,
    online: bool = False,
    now: datetime | None = None,
    moving: Appointment | None = None,
) -> DayPicker:
    """A month of days with or without free times and the chosen day's times, from one plan (plus
    one per month looked through for the next free day when the chosen day and the rest of its
    month are full). With no day chosen: the first free day of ``month`` (or from today), else
    the first bookable day of it. For an appointment being moved, each time names its doctor
    wherever she is free."""
    now = now or timezone.now()
    first, last = _limit(branch=branch, online=online, now=now)
    if day is not None:
        day = min(max(day, first), last)
    shown = _month_of(day or month or first)
    shown = min(max(shown, _month_of(first)), _month_of(last))
    lo, hi = max(shown, first), min(_month_end(shown), last)
    days = _span(lo, hi)
    plan = _plan(
        service=service, branch=branch, days=days, doctor_ids=doctor_ids, online=online, now=now, moving=moving
    )
    starts_by_day = {d: _starts(plan, d, step, moving) for d in days}
    found = [FreeDay(d, len(starts_by_day[d])) for d in days]
    if day is None:
        day = next((f.day for f in found if f.free), lo)
    starts = starts_by_day.get(day, {})  # the chosen day lies in the month shown (clamped above)
    names = _doctor_names(set(starts.values()))
    tz = ZoneInfo(branch.timezone)
    duration = plan.shape.duration
    times = [
        FreeTime(start, start + duration, start.astimezone(tz), doctor_id, names.get(doctor_id, ""))
        for start, doctor_id in sorted(starts.items())
    ]
    next_free = None
    if not times:
        next_free = next((f.day for f in found if f.free and f.day > day), None) or (
            next_free_day(
                service=service,
                branch=branch,
                after=hi,
                doctor_ids=doctor_ids,
                step=step,
                online=online,
                now=now,
                moving=moving,
            )
            if hi < last
            else None
        )
    periods = [(name, [t for t in times if t.period == name]) for name in PERIODS]
    return DayPicker(
        month=shown,
        first=first,
        last=last,
        day=day,
        days=found,
        times=times,
        next_free=next_free,
        periods=[(name, chosen) for name, chosen in periods if chosen],
    )
