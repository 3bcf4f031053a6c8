"""Reads of the calendar used by more than one caller: the booking plan, availability, calendars."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import F, FloatField, Func, QuerySet
from django.utils import timezone
from psycopg.types.range import Range

from scheduling import intervals as iv
from scheduling.engine import DoctorDay, Plan, ServiceShape
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    CalendarEntry,
    Kind,
    SchedulingPolicy,
    Service,
)
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.rules import managed_branch_ids, staff_of
from tenants.org.selectors import branch_ids_visible


def _epoch(column: str, end: str) -> Func:
    """lower/upper of a range column as seconds since the epoch: a float loads far faster than
    psycopg parses a tstzrange's text, which matters for the hundreds of rows a calendar reads."""
    return Func(
        Func(F(column), function=end), template="EXTRACT(EPOCH FROM %(expressions)s)", output_field=FloatField()
    )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, iv.UTC)


def policy_get() -> SchedulingPolicy:
    policy, _ = SchedulingPolicy.objects.get_or_create(pk=1)
    return policy


def shape_of(service: Service) -> ServiceShape:
    return ServiceShape(
        duration=timedelta(minutes=service.duration_minutes),
        before=timedelta(minutes=service.buffer_before_minutes),
        after=timedelta(minutes=service.buffer_after_minutes),
        requires_room=service.requires_room,
    )


# Everything a plan needs, in one round trip: booking and availability run it on every click, and
# eight small ORM queries cost more in Python than the database spends answering them.
# "occupying" must match what the exclusion constraints hold: active rows, less holds that ran out.
OCCUPYING = """scheduling_calendarentry
     WHERE status = ANY(%(active)s) AND NOT (status = 'held' AND hold_expires_at <= %(now)s)
       AND busy && tstzrange(%(lo)s, %(hi)s, '[)') AND id <> %(ignore)s AND"""
PLAN_SQL = """
WITH doctors AS (
    SELECT ds.doctor_id AS id, true AS offers
      FROM scheduling_doctorservice ds JOIN org_staffmember sm ON sm.id = ds.doctor_id
     WHERE ds.service_id = %(service)s AND ds.branch_id = %(branch)s AND sm.is_active
       AND 'doctor' = ANY(sm.roles) AND (%(all_doctors)s OR ds.doctor_id = ANY(%(doctor_ids)s))
    UNION
    SELECT unnest(%(doctor_ids)s::bigint[]), false
)
SELECT json_build_object(
  'policy', (SELECT json_build_array(online_slot_step_minutes, online_min_notice_minutes, online_horizon_days)
               FROM scheduling_schedulingpolicy WHERE id = 1),
  'offered', (SELECT coalesce(json_agg(DISTINCT id), '[]') FROM doctors WHERE offers),
  'hours', (SELECT coalesce(json_agg(json_build_array(weekday, opens, closes)), '[]')
              FROM scheduling_branchhours WHERE branch_id = %(branch)s),
  'special', (SELECT coalesce(json_agg(json_build_array(date, opens, closes)), '[]')
                FROM scheduling_specialday WHERE branch_id = %(branch)s AND date BETWEEN %(d0)s AND %(d1)s),
  'patterns', (SELECT coalesce(json_agg(json_build_array(doctor_id, weekday, starts, ends, break_starts,
                                                          break_ends, valid_from, valid_until)), '[]')
                 FROM scheduling_shiftpattern
                WHERE branch_id = %(branch)s AND doctor_id IN (SELECT id FROM doctors)
                  AND valid_from <= %(d1)s AND (valid_until IS NULL OR valid_until >= %(d0)s)),
  'extra', (SELECT coalesce(json_agg(json_build_array(doctor_id, date, starts, ends)), '[]')
              FROM scheduling_extrashift
             WHERE branch_id = %(branch)s AND doctor_id IN (SELECT id FROM doctors)
               AND date BETWEEN %(d0)s AND %(d1)s),
  'busy', (SELECT coalesce(json_agg(json_build_array(doctor_id, kind = 'leave',
                                    extract(epoch FROM lower(busy)), extract(epoch FROM upper(busy)))), '[]')
             FROM {occupying} doctor_id IN (SELECT id FROM doctors)),
  'rooms', (SELECT coalesce(json_agg(id), '[]') FROM scheduling_room
             WHERE branch_id = %(branch)s AND is_active),
  'room_busy', (SELECT coalesce(json_agg(json_build_array(room_id, extract(epoch FROM lower(busy)),
                                                          extract(epoch FROM upper(busy)))), '[]')
                  FROM {occupying} room_id IN (SELECT id FROM scheduling_room
                                                   WHERE branch_id = %(branch)s AND is_active)),
  'patient_busy', (SELECT coalesce(json_agg(json_build_array(extract(epoch FROM lower(span)),
                                                             extract(epoch FROM upper(span)))), '[]')
                     FROM {occupying} patient_id = %(patient)s)
)
""".replace("{occupying}", OCCUPYING)


def _clock(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)


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
    days = sorted(set(days))
    shape = shape_of(service)
    first, last = iv.day_bounds(days[0], tz)[0], iv.day_bounds(days[-1], tz)[1]
    params: dict[str, Any] = {
        "service": service.pk,
        "branch": branch.pk,
        "all_doctors": doctor_ids is None,
        "doctor_ids": list(doctor_ids or []),
        "active": list(ACTIVE_STATUSES),
        "now": now,
        "lo": first - shape.before - timedelta(hours=1),
        "hi": last + shape.after + timedelta(hours=1),
        "ignore": ignore_entry_id or 0,
        "d0": days[0],
        "d1": days[-1],
        "patient": patient_id or 0,
    }
    with connection.cursor() as cursor:
        cursor.execute(PLAN_SQL, params)
        raw = cursor.fetchone()[0]
    data = json.loads(raw) if isinstance(raw, str) else raw
    if data["policy"] is None:
        policy = policy_get()
        data["policy"] = [policy.online_slot_step_minutes, policy.online_min_notice_minutes, policy.online_horizon_days]
    online_step, notice, horizon = data["policy"]
    offered_by = set(data["offered"])
    doctors = sorted(offered_by | set(doctor_ids or ()))

    weekly: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, opens, closes in data["hours"]:
        weekly[weekday].append((time.fromisoformat(opens), time.fromisoformat(closes)))
    special: dict[date, list[tuple[time, time] | None]] = defaultdict(list)
    for day_text, opens, closes in data["special"]:
        special[date.fromisoformat(day_text)].append(
            (time.fromisoformat(opens), time.fromisoformat(closes)) if opens is not None else None
        )
    open_windows: dict[date, list[iv.Interval]] = {}
    for day in days:
        rows = [r for r in special[day] if r is not None] if day in special else weekly[day.weekday()]
        open_windows[day] = iv.merge((iv.wall_clock(day, a, tz), iv.wall_clock(day, b, tz)) for a, b in rows)

    shifts: dict[tuple[int, date], list[iv.Interval]] = defaultdict(list)
    breaks: dict[tuple[int, date], list[iv.Interval]] = defaultdict(list)
    by_weekday: dict[int, list[list[Any]]] = defaultdict(list)
    for row in data["patterns"]:
        by_weekday[row[1]].append(row)
    for day in days:
        for doctor_id, _, starts, ends, break_starts, break_ends, valid_from, valid_until in by_weekday[day.weekday()]:
            if date.fromisoformat(valid_from) <= day and (
                valid_until is None or day <= date.fromisoformat(valid_until)
            ):
                shifts[(doctor_id, day)].append(
                    (
                        iv.wall_clock(day, time.fromisoformat(starts), tz),
                        iv.wall_clock(day, time.fromisoformat(ends), tz),
                    )
                )
                if break_starts is not None and break_ends is not None:
                    breaks[(doctor_id, day)].append(
                        (
                            iv.wall_clock(day, time.fromisoformat(break_starts), tz),
                            iv.wall_clock(day, time.fromisoformat(break_ends), tz),
                        )
                    )
    for doctor_id, day_text, starts, ends in data["extra"]:
        day = date.fromisoformat(day_text)
        shifts[(doctor_id, day)].append(
            (iv.wall_clock(day, time.fromisoformat(starts), tz), iv.wall_clock(day, time.fromisoformat(ends), tz))
        )

    busy: dict[int, list[iv.Interval]] = defaultdict(list)
    leave: dict[int, list[iv.Interval]] = defaultdict(list)
    for doctor_id, is_leave, lower, upper in data["busy"]:
        span = (_utc(lower), _utc(upper))
        busy[doctor_id].append(span)
        if is_leave:
            leave[doctor_id].append(span)
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

    room_busy: dict[int, list[iv.Interval]] = {room_id: [] for room_id in data["rooms"]}
    for room_id, lower, upper in data["room_busy"]:
        room_busy[room_id].append((_utc(lower), _utc(upper)))

    return Plan(
        tz=tz,
        shape=shape,
        now=now,
        online=online,
        online_step=online_step,
        min_notice=timedelta(minutes=notice),
        horizon=timedelta(days=horizon),
        offered_by=offered_by,
        open=open_windows,
        doctors=plan_days,
        rooms={r: iv.merge(v) for r, v in room_busy.items()},
        patient_busy=iv.merge((_utc(lo), _utc(hi)) for lo, hi in data["patient_busy"]) if patient_id else [],
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


CALENDAR_FIELDS = [
    "id",
    "kind",
    "status",
    "source",
    "doctor_id",
    "branch_id",
    "patient_id",
    "service_id",
    "room_id",
    "is_override",
    "late_cancellation",
    "notes",
]
CALENDAR_JOINED = {
    "doctor_first": F("doctor__user__first_name"),
    "doctor_last": F("doctor__user__last_name"),
    "patient_first": F("patient__first_name"),
    "patient_last": F("patient__last_name"),
    "patient_mrn": F("patient__mrn"),
    "service_name": F("service__name"),
    "room_name": F("room__name"),
}


def calendar_rows(qs: QuerySet[CalendarEntry]) -> list[dict[str, Any]]:
    """The day and week calendars' rows as plain dicts: one query, no model instances. These views
    run all day at every front desk; they read only what they show."""
    rows = qs.values(*CALENDAR_FIELDS, **CALENDAR_JOINED, lo=_epoch("span", "lower"), hi=_epoch("span", "upper"))
    out = []
    for row in rows:
        row["start"], row["end"] = _utc(row.pop("lo")), _utc(row.pop("hi"))
        out.append(row)
    return out


def branch_day_rows(*, branch: Branch, day: date) -> list[dict[str, Any]]:
    """A branch's appointments on a local day, plus the leave of its doctors that day, in time
    order. Two index scans (branch and span; doctor and busy) rather than one OR that uses none."""
    start, end = iv.day_bounds(day, ZoneInfo(branch.timezone))
    period = Range(start, end, "[)")
    doctor_ids = list(StaffMember.objects.filter(branches=branch).values_list("id", flat=True))
    rows = calendar_rows(CalendarEntry.objects.filter(branch=branch, span__overlap=period))
    rows += calendar_rows(
        CalendarEntry.objects.filter(
            kind=Kind.LEAVE, doctor_id__in=doctor_ids, busy__overlap=period, status__in=ACTIVE_STATUSES
        )
    )
    rows.sort(key=lambda r: (r["start"], r["doctor_id"], r["id"]))
    return rows


def doctor_week_rows(*, doctor: StaffMember, week_start: date, tz: ZoneInfo) -> list[dict[str, Any]]:
    start = iv.day_bounds(week_start, tz)[0]
    end = iv.day_bounds(week_start + timedelta(days=6), tz)[1]
    period = Range(start, end, "[)")
    # busy contains span, so the (doctor, busy) index finds them; span decides.
    rows = calendar_rows(CalendarEntry.objects.filter(doctor=doctor, busy__overlap=period, span__overlap=period))
    rows.sort(key=lambda r: (r["start"], r["id"]))
    return rows


def leave_reason_doctor_ids(*, actor: Any, doctor_ids: set[int]) -> set[int]:
    """Of these doctors, those whose leave reasons this user may read: owners all, a doctor her own,
    a branch manager those working at a branch they manage. Everyone else sees only that the doctor
    is away (a reason may be medical)."""
    staff = staff_of(actor)
    if staff is None or not doctor_ids:
        return set()
    if Role.OWNER in staff.roles:
        return set(doctor_ids)
    readable = {staff.pk} & doctor_ids
    managed = managed_branch_ids(actor)
    if managed:
        readable |= set(
            StaffMember.branches.through.objects.filter(
                staffmember_id__in=doctor_ids, branch_id__in=managed
            ).values_list("staffmember_id", flat=True)
        )
    return readable


def calendar_rows_visible(*, actor: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What of the calendar rows this user may see: appointments at the branches they see
    (tenants.org.selectors.branch_ids_visible), and doctors' leave as a block whose reason is kept
    only for the people who manage that leave."""
    visible = branch_ids_visible(actor=actor)
    shown = [r for r in rows if r["kind"] == Kind.LEAVE or visible is None or r["branch_id"] in visible]
    leave_doctors = {r["doctor_id"] for r in shown if r["kind"] == Kind.LEAVE and r["notes"]}
    readable = leave_reason_doctor_ids(actor=actor, doctor_ids=leave_doctors)
    for row in shown:
        if row["kind"] == Kind.LEAVE and row["doctor_id"] not in readable:
            row["notes"] = ""
    return shown


def doctor_visible(*, actor: Any, doctor: StaffMember) -> bool:
    """A doctor whose calendar this user may open: one working at a branch they see, or themselves."""
    visible = branch_ids_visible(actor=actor)
    staff = staff_of(actor)
    if visible is None or (staff is not None and staff.pk == doctor.pk):
        return staff is not None
    return doctor.branches.filter(pk__in=visible).exists()


def appointment_list(*, actor: Any) -> QuerySet[Appointment]:
    """Appointments at the branches this user may see."""
    qs = Appointment.objects.select_related("patient", "service", "room", "doctor__user", "branch")
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        qs = qs.filter(branch_id__in=visible)
    return qs.order_by("span")


def hold_get(*, actor: Any, pk: int) -> Appointment | None:
    """A hold, for its holder only (the user who made it), until it is confirmed (then it is an
    appointment, read as one); None for anyone else, so that a hold's existence is not revealed."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return (
        Appointment.objects.select_related("patient", "service", "room", "doctor__user", "branch")
        .exclude(hold_token="")
        .filter(pk=pk, booked_by_id=actor.pk, patient__isnull=True)
        .first()
    )
