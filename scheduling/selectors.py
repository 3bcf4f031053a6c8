"""Reads of the calendar used by more than one caller: the booking plan, availability, calendars."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import F, FloatField, Func, Q, QuerySet
from django.utils import timezone
from psycopg.types.range import Range

from config.money import money_format
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
    SchedulingPolicy,
    Service,
    ServicePrice,
    ShiftPattern,
    SpecialDay,
    Status,
)
from tenants.authz import Actor
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.rules import staff_of
from tenants.org.selectors import branch_ids_managed, branch_ids_visible, branch_list, chain_settings_get


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


def shape_of(service: Service, minutes: int | None = None) -> ServiceShape:
    """The service's visit: its length (or `minutes`, an appointment's own length), buffers and room."""
    return ServiceShape(
        duration=timedelta(minutes=minutes or service.duration_minutes),
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
  'special', (SELECT coalesce(json_agg(json_build_array(date, opens, closes, note)), '[]')
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


def _plan_rows(
    *,
    branch: Branch,
    days: list[date],
    service_id: int,
    doctor_ids: list[int] | None,
    now: datetime,
    margin: tuple[timedelta, timedelta],
    ignore_entry_id: int | None = None,
    patient_id: int | None = None,
) -> dict[str, Any]:
    """The raw rows of a plan (PLAN_SQL) for `branch` on the sorted local `days`: with `doctor_ids`
    None, every doctor offering the service there; `margin` widens the busy window read."""
    first, last = (
        iv.day_bounds(days[0], ZoneInfo(branch.timezone))[0],
        iv.day_bounds(days[-1], ZoneInfo(branch.timezone))[1],
    )
    params: dict[str, Any] = {
        "service": service_id,
        "branch": branch.pk,
        "all_doctors": doctor_ids is None,
        "doctor_ids": list(doctor_ids or []),
        "active": list(ACTIVE_STATUSES),
        "now": now,
        "lo": first - margin[0] - timedelta(hours=1),
        "hi": last + margin[1] + timedelta(hours=1),
        "ignore": ignore_entry_id or 0,
        "d0": days[0],
        "d1": days[-1],
        "patient": patient_id or 0,
    }
    with connection.cursor() as cursor:
        cursor.execute(PLAN_SQL, params)
        raw = cursor.fetchone()[0]
    data: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
    return data


def _special_days(data: dict[str, Any]) -> dict[date, list[tuple[time, time] | None]]:
    """A plan's special days: per date, its timed rows (None for a row that closes the day)."""
    special: dict[date, list[tuple[time, time] | None]] = defaultdict(list)
    for day_text, opens, closes, _note in data["special"]:
        special[date.fromisoformat(day_text)].append(
            (time.fromisoformat(opens), time.fromisoformat(closes)) if opens is not None else None
        )
    return special


def _open_windows(data: dict[str, Any], days: list[date], tz: ZoneInfo) -> dict[date, list[iv.Interval]]:
    """When the branch is open on each day: the timed special rows of a special day (none: closed),
    the weekly hours otherwise."""
    weekly: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, opens, closes in data["hours"]:
        weekly[weekday].append((time.fromisoformat(opens), time.fromisoformat(closes)))
    special = _special_days(data)
    open_windows: dict[date, list[iv.Interval]] = {}
    for day in days:
        rows = [r for r in special[day] if r is not None] if day in special else weekly[day.weekday()]
        open_windows[day] = iv.merge((iv.wall_clock(day, a, tz), iv.wall_clock(day, b, tz)) for a, b in rows)
    return open_windows


def _doctor_days(
    data: dict[str, Any], days: list[date], tz: ZoneInfo, doctors: list[int]
) -> dict[tuple[int, date], DoctorDay]:
    """Each doctor's day: weekly shifts valid that day and extra shifts, less breaks; what occupies
    her (appointments, live holds, leave), and her leave on its own."""
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
    return plan_days


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
    minutes: int | None = None,
) -> Plan:
    """Load everything the rules need for `service` at `branch` on the given local days (for a visit
    of `minutes` rather than the service's length: an appointment resized on the book)."""
    now = now or timezone.now()
    tz = ZoneInfo(branch.timezone)
    days = sorted(set(days))
    shape = shape_of(service, minutes)
    data = _plan_rows(
        branch=branch,
        days=days,
        service_id=service.pk,
        doctor_ids=doctor_ids,
        now=now,
        margin=(shape.before, shape.after),
        ignore_entry_id=ignore_entry_id,
        patient_id=patient_id,
    )
    if data["policy"] is None:
        policy = policy_get()
        data["policy"] = [policy.online_slot_step_minutes, policy.online_min_notice_minutes, policy.online_horizon_days]
    online_step, notice, horizon = data["policy"]
    offered_by = set(data["offered"])
    doctors = sorted(offered_by | set(doctor_ids or ()))

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
        open=_open_windows(data, days, tz),
        doctors=_doctor_days(data, days, tz, doctors),
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
    "service_adjustable": F("service__length_adjustable"),  # the book lets its end be dragged
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


def leave_reason_doctor_ids(*, actor: Actor, doctor_ids: set[int]) -> set[int]:
    """Of these doctors, those whose leave reasons this user may read: owners all, a doctor her own,
    a branch manager those working at a branch they manage. Everyone else sees only that the doctor
    is away (a reason may be medical)."""
    staff = staff_of(actor)
    if staff is None or not doctor_ids:
        return set()
    managed = branch_ids_managed(actor=actor)
    if managed is None:
        return set(doctor_ids)
    readable = {staff.pk} & doctor_ids
    if managed:
        readable |= set(
            StaffMember.branches.through.objects.filter(
                staffmember_id__in=doctor_ids, branch_id__in=managed
            ).values_list("staffmember_id", flat=True)
        )
    return readable


def calendar_rows_visible(*, actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def doctor_visible(*, actor: Actor, doctor: StaffMember) -> bool:
    """A doctor whose calendar this user may open: one working at a branch they see, or themselves."""
    visible = branch_ids_visible(actor=actor)
    staff = staff_of(actor)
    if visible is None or (staff is not None and staff.pk == doctor.pk):
        return staff is not None
    return doctor.branches.filter(pk__in=visible).exists()


def appointment_list(*, actor: Actor) -> QuerySet[Appointment]:
    """Appointments at the branches this user may see."""
    qs = Appointment.objects.select_related("patient", "service", "room", "doctor__user", "branch")
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        qs = qs.filter(branch_id__in=visible)
    return qs.order_by("span")


def leave_conflicts(*, actor: Actor, doctor: StaffMember, start: datetime, end: datetime) -> QuerySet[Appointment]:
    """The active appointments of `doctor` in [start, end) that this user may see: what stands in
    the way of a leave. Pages list them from here, not from the refusal's text."""
    span = Range(start, end, "[)")
    return appointment_list(actor=actor).filter(doctor=doctor, status__in=ACTIVE_STATUSES, busy__overlap=span)


def hold_get(*, actor: Actor, pk: int) -> Appointment | None:
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


# --- set-up: prices, who offers what where, and what a set-up change would strand ---------------
def service_price(*, service: Service, branch: Branch) -> int:
    """What `service` costs at `branch`, in minor units: the branch's own price where one is set
    (ServicePrice), the service's price otherwise. Booking pages and invoicing read prices here."""
    own = ServicePrice.objects.filter(service=service, branch=branch).values_list("price_minor", flat=True).first()
    return service.price_minor if own is None else own


def service_price_shown(*, service: Service, branch: Branch) -> str:
    """The price of `service` at `branch` as the chain's patients read it ("£75.00"), or "" when it
    has none (a free service, or one priced at the desk)."""
    amount = service_price(service=service, branch=branch)
    if not amount:
        return ""
    chain = chain_settings_get()
    return money_format(amount, chain.currency, locale=chain.locale)


def service_prices(*, service: Service) -> dict[int, int]:
    """The branches where `service` has a price of its own: branch id -> price in minor units."""
    return dict(ServicePrice.objects.filter(service=service).values_list("branch_id", "price_minor"))


def service_branch_prices() -> dict[int, list[tuple[str, int]]]:
    """Every service's prices of its own per branch (ServicePrice), in one query: service id ->
    [(branch name, price in minor units)] by branch name. The services list shows them beside the price."""
    prices: dict[int, list[tuple[str, int]]] = defaultdict(list)
    rows = ServicePrice.objects.order_by("branch__name").values_list("service_id", "branch__name", "price_minor")
    for service_id, branch_name, price_minor in rows:
        prices[service_id].append((branch_name, price_minor))
    return dict(prices)


def branches_calendar_managed(*, actor: Actor) -> list[Branch]:
    """The active branches whose calendar (offerings, rooms, shifts, hours) this user may shape:
    of the branches they see (tenants.org.selectors), those the rules let them manage."""
    return [
        b
        for b in branch_list(actor=actor).filter(is_active=True).order_by("name")
        if actor.has_perm("scheduling.manage_branch_calendar", b)
    ]


@dataclass(frozen=True)
class Tick:
    """One checkbox of an offerings form: a service (or a doctor) and whether it is offered."""

    pk: int
    label: str
    checked: bool


@dataclass(frozen=True)
class BranchTicks:
    branch: Branch
    ticks: list[Tick]


def _doctor_label(doctor: StaffMember) -> str:
    return doctor.user.get_full_name() or doctor.user.email


def doctor_offerings(*, actor: Actor, doctor: StaffMember) -> list[BranchTicks]:
    """For the staff page: per branch the user may manage where `doctor` works (or still offers
    something, to be unticked), the active services, ticked where she offers them there (retired
    services she still offers are listed too, to be unticked)."""
    offered = set(DoctorService.objects.filter(doctor=doctor).values_list("branch_id", "service_id"))
    works = set(doctor.branches.values_list("pk", flat=True)) | {b for b, _ in offered}
    services = list(Service.objects.filter(Q(is_active=True) | Q(offerings__doctor=doctor)).distinct())
    return [
        BranchTicks(
            branch,
            [
                Tick(s.pk, s.name if s.is_active else f"{s.name} (retired)", (branch.pk, s.pk) in offered)
                for s in services
                if s.is_active or (branch.pk, s.pk) in offered
            ],
        )
        for branch in branches_calendar_managed(actor=actor)
        if branch.pk in works
    ]


def service_offerings(*, actor: Actor, service: Service) -> list[BranchTicks]:
    """For the service page: per branch the user may manage, the active doctors who work there or
    offer the service there, ticked where they offer it."""
    offered = set(DoctorService.objects.filter(service=service).values_list("branch_id", "doctor_id"))
    doctors = list(
        StaffMember.objects.filter(is_active=True, roles__contains=[Role.DOCTOR])
        .select_related("user")
        .prefetch_related("branches")
        .order_by("user__last_name", "user__first_name")
    )
    rows = []
    for branch in branches_calendar_managed(actor=actor):
        there = [d for d in doctors if (branch.pk, d.pk) in offered or any(b.pk == branch.pk for b in d.branches.all())]
        rows.append(BranchTicks(branch, [Tick(d.pk, _doctor_label(d), (branch.pk, d.pk) in offered) for d in there]))
    return rows


def doctors_offering(*, branch: Branch, service: Service | None = None) -> QuerySet[StaffMember]:
    """Active doctors who offer a service (or, without one, any service) at `branch`."""
    qs = StaffMember.objects.filter(is_active=True, roles__contains=[Role.DOCTOR], offerings__branch=branch)
    if service is not None:
        qs = qs.filter(offerings__service=service)
    return qs.select_related("user").distinct().order_by("user__last_name", "user__first_name")


def services_offered(*, branch: Branch) -> QuerySet[Service]:
    """Active services some active doctor offers at `branch`: what can be booked there."""
    return Service.objects.filter(
        is_active=True, offerings__branch=branch, offerings__doctor__is_active=True
    ).distinct()


# Appointments a set-up change may strand: booked and not yet over (a hold frees itself).
_STRANDABLE = [Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_PROGRESS]
Window = tuple[time, time]


def _merged(windows: list[Window]) -> list[Window]:
    """Windows that touch or overlap as one (opening 08-12 and 12-18 holds 11:45-12:15, as in the plan)."""
    out: list[Window] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _inside(start: datetime, end: datetime, keep: list[Window]) -> bool:
    last = end - timedelta(microseconds=1)
    return start.date() == last.date() and any(a <= start.time() and last.time() < b for a, b in _merged(keep))


def _overlaps(start: datetime, end: datetime, window: Window) -> bool:
    return start.time() < window[1] and window[0] < (end - timedelta(microseconds=1)).time()


def appointments_stranded_by_shift(
    *,
    doctor: StaffMember,
    branch: Branch,
    window: Window,
    keep: list[Window],
    weekday: int | None = None,
    first_day: date,
    last_day: date | None = None,
    now: datetime | None = None,
) -> list[Appointment]:
    """The doctor's booked appointments at the branch, from `first_day` (and from now) to
    `last_day`, on `weekday` (any day if None), that overlap the shift's wall-clock `window` and
    would no longer lie inside one of the `keep` windows (the working time left after the change;
    empty when the shift ends). The page lists them; the services refuse while there are any."""
    tz = ZoneInfo(branch.timezone)
    lower = max(iv.day_bounds(first_day, tz)[0], now or timezone.now())
    qs = Appointment.objects.filter(
        doctor=doctor, branch=branch, status__in=_STRANDABLE, span__startswith__gte=lower
    ).select_related("patient", "service", "doctor__user", "branch")
    if last_day is not None:
        qs = qs.filter(span__startswith__lt=iv.day_bounds(last_day, tz)[1])
    stranded = []
    for a in qs.order_by("span")[:2000]:
        start, end = a.span.lower.astimezone(tz), a.span.upper.astimezone(tz)
        if weekday is not None and start.weekday() != weekday:
            continue
        if _overlaps(start, end, window) and not _inside(start, end, keep):
            stranded.append(a)
    return stranded


def appointments_stranded_by_day(
    *, branch: Branch, day: date, keep: list[Window], now: datetime | None = None
) -> list[Appointment]:
    """The branch's booked appointments on `day` (from now on) that would lie outside its opening
    hours if that day had only the `keep` windows (none: the branch closes that day)."""
    tz = ZoneInfo(branch.timezone)
    lower, upper = iv.day_bounds(day, tz)
    qs = Appointment.objects.filter(
        branch=branch,
        status__in=_STRANDABLE,
        span__startswith__gte=max(lower, now or timezone.now()),
        span__startswith__lt=upper,
    ).select_related("patient", "service", "doctor__user", "branch")
    return [
        a for a in qs.order_by("span") if not _inside(a.span.lower.astimezone(tz), a.span.upper.astimezone(tz), keep)
    ]


def series_appointments(*, actor: Actor, series_id: int) -> list[Appointment]:
    """The appointments of one series that this user may see (at branches they see), in order."""
    return list(appointment_list(actor=actor).filter(series_id=series_id))


def series_rest(*, appointment: Appointment) -> list[Appointment]:
    """The appointments of `appointment`'s series from it on that may still change (booked or
    confirmed), in order: what "the rest of the series" means for cancelling or moving it."""
    if appointment.series_id is None:
        return []
    return list(
        Appointment.objects.filter(
            series_id=appointment.series_id,
            status__in=[Status.BOOKED, Status.CONFIRMED],
            span__startswith__gte=appointment.span.lower,
        )
        .select_related("patient", "service", "doctor__user", "branch", "room")
        .order_by("span")
    )


def _worked(starts: time, ends: time, break_starts: time | None, break_ends: time | None) -> list[Window]:
    if break_starts is None or break_ends is None:
        return [(starts, ends)]
    return [w for w in ((starts, break_starts), (break_ends, ends)) if w[0] < w[1]]


def stranded_by_shift_end(*, pattern: ShiftPattern, last_day: date) -> list[Appointment]:
    """What ending a weekly shift after `last_day` would strand (shift_pattern_end refuses it)."""
    return appointments_stranded_by_shift(
        doctor=pattern.doctor,
        branch=pattern.branch,
        window=(pattern.starts, pattern.ends),
        keep=[],
        weekday=pattern.weekday,
        first_day=last_day + timedelta(days=1),
        last_day=pattern.valid_until,
    )


def stranded_by_shift_change(
    *,
    pattern: ShiftPattern,
    starts: time,
    ends: time,
    break_starts: time | None,
    break_ends: time | None,
    from_day: date,
) -> list[Appointment]:
    """What new hours for a weekly shift from `from_day` would strand (shift_pattern_change)."""
    return appointments_stranded_by_shift(
        doctor=pattern.doctor,
        branch=pattern.branch,
        window=(pattern.starts, pattern.ends),
        keep=_worked(starts, ends, break_starts, break_ends),
        weekday=pattern.weekday,
        first_day=max(from_day, pattern.valid_from),
        last_day=pattern.valid_until,
    )


def stranded_by_extra_shift(
    *, extra: ExtraShift, day: date | None = None, starts: time | None = None, ends: time | None = None
) -> list[Appointment]:
    """What moving a one-off shift to `day` `starts`-`ends` (or, without them, cancelling it) would
    strand. The doctor's weekly shifts that day still hold their appointments."""
    patterns = ShiftPattern.objects.filter(
        doctor=extra.doctor, branch=extra.branch, weekday=extra.date.weekday(), valid_from__lte=extra.date
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=extra.date))
    keep = [w for p in patterns for w in _worked(p.starts, p.ends, p.break_starts, p.break_ends)]
    if day == extra.date and starts is not None and ends is not None:
        keep.append((starts, ends))
    return appointments_stranded_by_shift(
        doctor=extra.doctor,
        branch=extra.branch,
        window=(extra.starts, extra.ends),
        keep=keep,
        first_day=extra.date,
        last_day=extra.date,
    )


def stranded_by_special_day(
    *,
    branch: Branch,
    day: date | None = None,
    opens: time | None = None,
    closes: time | None = None,
    replacing: SpecialDay | None = None,
) -> list[Appointment]:
    """What a change of the branch's special days would strand, the one answer for adding, changing
    and removing one: `replacing` (a row, if any) is taken away and, when `day` is given, a row with
    `opens`-`closes` (neither: closed) is put on `day`. Each date the change touches (the one it
    leaves and the one it lands on) is checked against the opening it has afterwards, as the plan
    reads a day: its timed special rows if it keeps any special row, its weekly hours if none."""
    dates = sorted({d for d in (day, replacing.date if replacing else None) if d is not None})
    stranded: list[Appointment] = []
    for each in dates:
        others = SpecialDay.objects.filter(branch=branch, date=each)
        if replacing is not None:
            others = others.exclude(pk=replacing.pk)
        rows: list[tuple[time | None, time | None]] = [(r.opens, r.closes) for r in others]
        if each == day:
            rows.append((opens, closes))
        if rows:
            keep = [(a, b) for a, b in rows if a is not None and b is not None]
        else:
            keep = [(h.opens, h.closes) for h in BranchHours.objects.filter(branch=branch, weekday=each.weekday())]
        stranded += appointments_stranded_by_day(branch=branch, day=each, keep=keep)
    return stranded


# --- the reception desk's day --------------------------------------------------------------------
DESK_ROW = timedelta(minutes=15)
DESK_DEFAULT_HOURS = (time(8), time(18))


@dataclass(frozen=True)
class DeskColumn:
    """One doctor's column: where a visit may be booked, and the rest of the grid's hours, each
    marked ``closed`` (the branch is not open) or ``off_shift`` (open, the doctor is not working:
    off shift, on a break or on leave)."""

    doctor: StaffMember
    bookable: list[iv.Interval]
    off: list[tuple[iv.Interval, str]]


@dataclass(frozen=True)
class DeskDay:
    """A branch's day as the desk shows it, from the same plan as booking (``_open_windows`` and
    ``_doctor_days``, judged by ``DoctorDay.bookable``): what the desk shows as open is what
    ``appointment_book`` accepts, less what is already booked."""

    branch: Branch
    day: date
    open: list[iv.Interval]
    closed_reason: str  # why the branch is closed all day ("" when it opens)
    special_note: str  # the special day's note when special hours replace the weekly ones
    special: bool
    first: datetime  # the grid's hours, on 15-minute steps of the branch's clock
    last: datetime
    columns: list[DeskColumn]
    entries: list[dict[str, Any]]

    @property
    def closed(self) -> bool:
        return not self.open


def _desk_hull(spans: list[iv.Interval], day: date, tz: ZoneInfo) -> iv.Interval:
    """The grid's hours: every open, on-shift and booked moment of the day, on 15-minute steps
    (08:00-18:00 on a day with none of them)."""
    lower, upper = iv.day_bounds(day, tz)
    inside = [(max(a, lower), min(b, upper)) for a, b in spans if a < upper and b > lower]
    if not inside:
        return iv.wall_clock(day, DESK_DEFAULT_HOURS[0], tz), iv.wall_clock(day, DESK_DEFAULT_HOURS[1], tz)
    first, last = min(a for a, _ in inside), max(b for _, b in inside)
    first -= timedelta(minutes=iv.minute_of_day(first, tz) % 15, seconds=first.second, microseconds=first.microsecond)
    while last > first and (iv.minute_of_day(last, tz) % 15 or last.second or last.microsecond):
        last = last.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return first, min(max(last, first + DESK_ROW), upper)


def desk_day(*, branch: Branch, day: date, actor: Actor, now: datetime | None = None) -> DeskDay:
    """The desk's grid of `branch` on the local `day`: the branch's open hours (special days and
    closures included), per doctor working there the bookable windows (open, on shift, breaks and
    leave removed) and the rest shaded, and the entries this user may see."""
    tz = ZoneInfo(branch.timezone)
    rows = calendar_rows_visible(actor=actor, rows=branch_day_rows(branch=branch, day=day))
    doctor_ids = set(
        DoctorService.objects.filter(branch=branch, doctor__is_active=True).values_list("doctor_id", flat=True)
    )
    doctor_ids |= {r["doctor_id"] for r in rows if r["doctor_id"] is not None}
    data = _plan_rows(
        branch=branch,
        days=[day],
        service_id=0,
        doctor_ids=sorted(doctor_ids),
        now=now or timezone.now(),
        margin=(timedelta(0), timedelta(0)),
    )
    open_windows = _open_windows(data, [day], tz)[day]
    doctor_days = _doctor_days(data, [day], tz, sorted(doctor_ids))
    staff = StaffMember.objects.filter(pk__in=doctor_ids).select_related("user")
    doctors = sorted(staff, key=lambda d: (d.user.last_name, d.user.first_name, d.pk))
    bookable = {d.pk: doctor_days.get((d.pk, day), DoctorDay()).bookable(open_windows) for d in doctors}
    shifts = [w for d in doctors for w in doctor_days.get((d.pk, day), DoctorDay()).shift]
    booked = [(r["start"], r["end"]) for r in rows if r["kind"] != Kind.LEAVE]  # leave stretches no grid to midnight
    first, last = _desk_hull(open_windows + shifts + booked, day, tz)
    grid = [(first, last)]
    closed_parts = [(w, "closed") for w in iv.subtract(grid, open_windows)]
    columns = [
        DeskColumn(
            doctor=d,
            bookable=bookable[d.pk],
            off=sorted(
                closed_parts + [(w, "off_shift") for w in iv.subtract(iv.intersect(grid, open_windows), bookable[d.pk])]
            ),
        )
        for d in doctors
    ]
    special = [
        (opens, closes, note) for day_text, opens, closes, note in data["special"] if day_text == day.isoformat()
    ]
    closed_reason = ""
    if not open_windows:
        notes = [note for opens, _, note in special if opens is None and note]
        closed_reason = "; ".join(notes) or ("closed" if special else f"not open on {day:%A}s")
    return DeskDay(
        branch=branch,
        day=day,
        open=open_windows,
        closed_reason=closed_reason,
        special=bool(special) and bool(open_windows),
        special_note="; ".join(note for opens, _, note in special if opens is not None and note),
        first=first,
        last=last,
        columns=columns,
        entries=rows,
    )
