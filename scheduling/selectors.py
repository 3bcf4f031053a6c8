"""Reads of the calendar used by more than one caller: the booking plan, availability, calendars."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone
from psycopg.types.range import Range

from scheduling import intervals as iv
from scheduling.engine import DoctorDay, Plan, ServiceShape
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    BranchHours,
    CalendarEntry,
    DoctorService,
    ExtraShift,
    Kind,
    Room,
    SchedulingPolicy,
    Service,
    ShiftPattern,
    SpecialDay,
    Status,
)
from tenants.org.models import Branch, Role, StaffMember


def policy_get() -> SchedulingPolicy:
    policy, _ = SchedulingPolicy.objects.get_or_create(pk=1)
    return policy


def occupying(now: datetime) -> Q:
    """Entries that take up time right now: active, and not a hold that has run out."""
    return Q(status__in=ACTIVE_STATUSES) & ~Q(status=Status.HELD, hold_expires_at__lte=now)


def shape_of(service: Service) -> ServiceShape:
    return ServiceShape(
        duration=timedelta(minutes=service.duration_minutes),
        before=timedelta(minutes=service.buffer_before_minutes),
        after=timedelta(minutes=service.buffer_after_minutes),
        requires_room=service.requires_room,
    )


def plan_load(
    *,
    service: Service,
    branch: Branch,
    days: list[date],
    doctor_ids: list[int] | None = None,
    online: bool = False,
    now: datetime | None = None,
    patient_id: int | None = None,
    ignore_entry_id: int | None = None,
    override: bool = False,
) -> Plan:
    """Load everything the rules need for `service` at `branch` on the given local days."""
    now = now or timezone.now()
    tz = ZoneInfo(branch.timezone)
    policy = policy_get()
    days = sorted(set(days))
    shape = shape_of(service)
    first, last = iv.day_bounds(days[0], tz)[0], iv.day_bounds(days[-1], tz)[1]
    window = Range(first - shape.before - timedelta(hours=1), last + shape.after + timedelta(hours=1), "[)")

    offerings = DoctorService.objects.filter(
        service=service, branch=branch, doctor__is_active=True, doctor__roles__contains=[Role.DOCTOR]
    )
    if doctor_ids is not None:
        offerings = offerings.filter(doctor_id__in=doctor_ids)
    offered_by = set(offerings.values_list("doctor_id", flat=True))
    doctors = sorted(offered_by | set(doctor_ids or ()))

    weekly: dict[int, list[BranchHours]] = defaultdict(list)
    for hours in BranchHours.objects.filter(branch=branch):
        weekly[hours.weekday].append(hours)
    special: dict[date, list[SpecialDay]] = defaultdict(list)
    for sd in SpecialDay.objects.filter(branch=branch, date__gte=days[0], date__lte=days[-1]):
        special[sd.date].append(sd)
    open_windows: dict[date, list[iv.Interval]] = {}
    for day in days:
        if day in special:
            rows = [(s.opens, s.closes) for s in special[day] if s.opens is not None]
        else:
            rows = [(h.opens, h.closes) for h in weekly[day.weekday()]]
        open_windows[day] = iv.merge(
            (iv.wall_clock(day, a, tz), iv.wall_clock(day, b, tz)) for a, b in rows if a is not None and b is not None
        )

    shifts: dict[tuple[int, date], list[iv.Interval]] = defaultdict(list)
    breaks: dict[tuple[int, date], list[iv.Interval]] = defaultdict(list)
    patterns = ShiftPattern.objects.filter(branch=branch, doctor_id__in=doctors, valid_from__lte=days[-1]).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=days[0])
    )
    by_weekday: dict[int, list[ShiftPattern]] = defaultdict(list)
    for p in patterns:
        by_weekday[p.weekday].append(p)
    for day in days:
        for p in by_weekday[day.weekday()]:
            if p.valid_from <= day and (p.valid_until is None or day <= p.valid_until):
                shifts[(p.doctor_id, day)].append((iv.wall_clock(day, p.starts, tz), iv.wall_clock(day, p.ends, tz)))
                if p.break_starts is not None and p.break_ends is not None:
                    breaks[(p.doctor_id, day)].append(
                        (iv.wall_clock(day, p.break_starts, tz), iv.wall_clock(day, p.break_ends, tz))
                    )
    for x in ExtraShift.objects.filter(branch=branch, doctor_id__in=doctors, date__gte=days[0], date__lte=days[-1]):
        shifts[(x.doctor_id, x.date)].append((iv.wall_clock(x.date, x.starts, tz), iv.wall_clock(x.date, x.ends, tz)))

    entries = CalendarEntry.objects.filter(occupying(now), doctor_id__in=doctors, busy__overlap=window)
    if ignore_entry_id is not None:
        entries = entries.exclude(pk=ignore_entry_id)
    busy: dict[int, list[iv.Interval]] = defaultdict(list)
    leave: dict[int, list[iv.Interval]] = defaultdict(list)
    for doctor_id, kind, span in entries.values_list("doctor_id", "kind", "busy"):
        busy[doctor_id].append((span.lower, span.upper))
        if kind == Kind.LEAVE:
            leave[doctor_id].append((span.lower, span.upper))
    merged_busy = {d: iv.merge(v) for d, v in busy.items()}
    merged_leave = {d: iv.merge(v) for d, v in leave.items()}

    plan_days = {}
    for (doctor_id, day), windows in shifts.items():
        plan_days[(doctor_id, day)] = DoctorDay(
            shift=iv.subtract(iv.merge(windows), iv.merge(breaks[(doctor_id, day)])),
            busy=merged_busy.get(doctor_id, []),
            leave=merged_leave.get(doctor_id, []),
        )
    for doctor_id in doctors:  # leave and bookings matter even on days without a shift (override)
        for day in days:
            plan_days.setdefault(
                (doctor_id, day), DoctorDay(busy=merged_busy.get(doctor_id, []), leave=merged_leave.get(doctor_id, []))
            )

    rooms: dict[int, list[iv.Interval]] = {}
    room_ids = list(Room.objects.filter(branch=branch, is_active=True).values_list("id", flat=True))
    if room_ids:
        rooms = {r: [] for r in room_ids}
        room_entries = CalendarEntry.objects.filter(occupying(now), room_id__in=room_ids, busy__overlap=window)
        if ignore_entry_id is not None:
            room_entries = room_entries.exclude(pk=ignore_entry_id)
        for room_id, span in room_entries.values_list("room_id", "busy"):
            rooms[room_id].append((span.lower, span.upper))
        rooms = {r: iv.merge(v) for r, v in rooms.items()}

    patient_busy: list[iv.Interval] = []
    if patient_id is not None:
        patient_entries = Appointment.objects.filter(occupying(now), patient_id=patient_id, span__overlap=window)
        if ignore_entry_id is not None:
            patient_entries = patient_entries.exclude(pk=ignore_entry_id)
        patient_busy = iv.merge((s.lower, s.upper) for s in patient_entries.values_list("span", flat=True))

    return Plan(
        tz=tz,
        shape=shape,
        now=now,
        online=online,
        online_step=policy.online_slot_step_minutes,
        min_notice=timedelta(minutes=policy.online_min_notice_minutes),
        horizon=timedelta(days=policy.online_horizon_days),
        offered_by=offered_by,
        open=open_windows,
        doctors=plan_days,
        rooms=rooms,
        patient_busy=patient_busy,
        override=override,
    )


@dataclass(frozen=True)
class Slot:
    doctor_id: int
    start: datetime
    end: datetime


def slot_list_available(
    *,
    service: Service,
    branch: Branch,
    date_from: date,
    date_to: date,
    doctor_ids: list[int] | None = None,
    step: int = 15,
    online: bool = False,
    now: datetime | None = None,
) -> list[Slot]:
    """Free start times for `service` at `branch` between two local dates (inclusive), every `step`
    minutes of the branch's wall clock, by the same rules as booking."""
    days = [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    plan = plan_load(service=service, branch=branch, days=days, doctor_ids=doctor_ids, online=online, now=now)
    slots = [
        Slot(doctor_id, start, start + plan.shape.duration)
        for doctor_id in sorted(plan.offered_by)
        for day in days
        for start in plan.free_starts(doctor_id, day, step)
    ]
    slots.sort(key=lambda s: (s.start, s.doctor_id))
    return slots


def _calendar(qs: QuerySet[CalendarEntry], span: Range) -> QuerySet[CalendarEntry]:
    return (
        qs.filter(span__overlap=span)
        .select_related("patient", "service", "room", "doctor__user", "branch")
        .order_by("span", "doctor_id")
    )


def branch_day(*, branch: Branch, day: date, include_cancelled: bool = True) -> QuerySet[CalendarEntry]:
    """A branch's appointments on a local day, plus the leave of its doctors that day."""
    start, end = iv.day_bounds(day, ZoneInfo(branch.timezone))
    qs = CalendarEntry.objects.filter(Q(branch=branch) | Q(kind=Kind.LEAVE, doctor__branches=branch))
    if not include_cancelled:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    return _calendar(qs, Range(start, end, "[)"))


def doctor_week(*, doctor: StaffMember, week_start: date, tz: ZoneInfo) -> QuerySet[CalendarEntry]:
    start = iv.day_bounds(week_start, tz)[0]
    end = iv.day_bounds(week_start + timedelta(days=6), tz)[1]
    return _calendar(CalendarEntry.objects.filter(doctor=doctor), Range(start, end, "[)"))


def appointment_list(*, branch_ids: list[int] | None = None) -> QuerySet[Appointment]:
    qs = Appointment.objects.select_related("patient", "service", "room", "doctor__user", "branch")
    if branch_ids is not None:
        qs = qs.filter(branch_id__in=branch_ids)
    return qs.order_by("span")
