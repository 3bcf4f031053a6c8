"""Leave that meets appointments: what stands in its way, and what could become of each of them.

A doctor's leave and her appointments share one constrained calendar, so a leave over booked time
is saved only once each appointment in its way is moved or cancelled
(``scheduling.services.leave_resolution``). This module answers, from the same plan as booking
(``scheduling.selectors.plan_load`` judged by ``scheduling.engine``), which other doctors could see
the patient at the same time and when the doctor herself is next free after the leave. The
proposal is computed in bulk: a few plans per branch and service, never a query per appointment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.utils import timezone
from psycopg.types.range import Range

from scheduling import intervals as iv
from scheduling.engine import DoctorDay, Plan
from scheduling.models import ACTIVE_STATUSES, Appointment, CalendarEntry, Service, Status
from scheduling.selectors import appointment_list, plan_load
from tenants.authz import Actor
from tenants.org.models import Branch, StaffMember

# How far after the leave a doctor's next free time is looked for, and on which grid.
NEXT_FREE_WEEKS = 8
NEXT_FREE_CHUNK_DAYS = 14
NEXT_FREE_STEP = 15
# What can become of an appointment the leave meets; holds are given back, never decided on.
MOVABLE = {Status.BOOKED, Status.CONFIRMED}
CANCELLABLE = {Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN}


class LeaveAction(StrEnum):
    """What a manager decides for an appointment in a leave's way."""

    MOVE_TO_DOCTOR = "move_to_doctor"  # another doctor at the same time (a given one, or any free one)
    NEXT_FREE_TIME = "next_free_time"  # the same doctor, at her next free time after the leave
    CANCEL = "cancel"  # with a reason told to the patient


def entries_in_leave(*, doctor: StaffMember, start: datetime, end: datetime) -> list[Appointment]:
    """Every active entry of `doctor` overlapping [start, end) at any branch, holds included, in
    time order: what a leave over that time would collide with. Unscoped: the service decides
    what the one asking may see."""
    span = Range(start, end, "[)")
    return list(
        Appointment.objects.filter(doctor=doctor, status__in=ACTIVE_STATUSES, busy__overlap=span)
        .select_related("patient", "branch", "service", "room", "doctor__user")
        .order_by("span", "pk")
    )


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def doctors_free_at(plan: Plan, appointment: Appointment, candidates: list[int]) -> list[int]:
    """Of `candidates` (in the order given), the doctors who could see `appointment`'s patient at
    its own time by the booking rules of `plan` (loaded for its service, branch and day): offering
    the service there, on shift, not on leave, not busy, its room (or, for a service needing one,
    some room) free once the appointment itself is moved out of it."""
    start = appointment.span.lower
    rooms = plan.rooms
    room_id = appointment.room_id if appointment.room_id in rooms else None
    if room_id is not None:  # the appointment's own time in its room is what it leaves behind
        rooms = {**rooms, room_id: iv.subtract(rooms[room_id], [(appointment.busy.lower, appointment.busy.upper)])}
    judged = replace(plan, rooms=rooms, patient_busy=[])  # the patient is there at that time already
    return [d for d in candidates if d != appointment.doctor_id and judged.problem(d, start, room_id) is None]


def first_free_start(plan: Plan, doctor_id: int, days: list[date], not_before: datetime) -> datetime | None:
    """The doctor's first start on `days` that `plan` accepts (``Plan.free_starts``, the
    availability rules) whose busy span (buffers included) begins at `not_before` or later."""
    for day in days:
        for start in plan.free_starts(doctor_id, day, NEXT_FREE_STEP):
            if start - plan.shape.before >= not_before:
                return start
    return None


def next_free_start(*, appointment: Appointment, after: datetime, now: datetime | None = None) -> datetime | None:
    """When `appointment`'s own doctor is next free for it after `after` (the end of her leave),
    within NEXT_FREE_WEEKS, by the plan booking uses (the patient's other appointments count; the
    appointment's own time does not)."""
    if appointment.branch is None or appointment.service is None:
        return None
    tz = ZoneInfo(appointment.branch.timezone)
    first = _local_day(after, tz)
    for offset in range(0, NEXT_FREE_WEEKS * 7, NEXT_FREE_CHUNK_DAYS):
        days = _days(first + timedelta(days=offset), NEXT_FREE_CHUNK_DAYS)
        plan = plan_load(
            service=appointment.service,
            branch=appointment.branch,
            days=days,
            doctor_ids=[appointment.doctor_id],
            now=now,
            patient_id=appointment.patient_id,
            ignore_entry_id=appointment.pk,
        )
        found = first_free_start(plan, appointment.doctor_id, days, after)
        if found is not None:
            return found
    return None


def free_doctor_ids(*, appointment: Appointment, now: datetime | None = None) -> list[int]:
    """The doctors (by name) who could take `appointment` at its own time, besides its doctor."""
    if appointment.branch is None or appointment.service is None:
        return []
    tz = ZoneInfo(appointment.branch.timezone)
    plan = plan_load(
        service=appointment.service,
        branch=appointment.branch,
        days=[_local_day(appointment.span.lower, tz)],
        now=now,
        ignore_entry_id=appointment.pk,
    )
    return doctors_free_at(plan, appointment, doctors_by_name(plan.offered_by))


def doctors_by_name(ids: set[int] | list[int]) -> list[int]:
    staff = StaffMember.objects.filter(pk__in=list(ids)).select_related("user")
    return [d.pk for d in sorted(staff, key=lambda d: (d.user.last_name, d.user.first_name, d.pk))]


def doctor_label(doctor: StaffMember) -> str:
    return doctor.user.get_full_name() or doctor.user.email


# --- the proposal a manager decides on ---------------------------------------------------------------
@dataclass(frozen=True)
class DoctorOption:
    pk: int
    name: str


@dataclass(frozen=True)
class LeaveItem:
    """An appointment in the leave's way and what could become of it."""

    appointment: Appointment
    free_doctors: list[DoctorOption]  # free at the same time, offering the service at that branch
    next_free: datetime | None  # the doctor's next free time after the leave (None: none within reach)
    movable: bool
    cancellable: bool


@dataclass(frozen=True)
class LeaveProposal:
    items: list[LeaveItem]  # the appointments the asker may see, in time order
    hidden: int  # appointments at branches the asker does not see: they block the leave
    holds: int  # times held for someone completing a booking: given back with the leave
    doctors: list[DoctorOption]  # every doctor free for at least one appointment, by name

    @property
    def blocked(self) -> bool:
        return self.hidden > 0


def _patients_busy(items: list[Appointment], lo: datetime, hi: datetime) -> dict[int, list[iv.Interval]]:
    """The other active appointments of these patients between lo and hi: one query."""
    patient_ids = {a.patient_id for a in items if a.patient_id is not None}
    rows = (
        CalendarEntry.objects.filter(
            patient_id__in=patient_ids, status__in=ACTIVE_STATUSES, span__overlap=Range(lo, hi, "[)")
        )
        .exclude(pk__in=[a.pk for a in items])
        .values_list("patient_id", "span")
    )
    busy: dict[int, list[iv.Interval]] = defaultdict(list)
    for patient_id, span in rows:
        busy[patient_id].append((span.lower, span.upper))
    return busy


def _with_extra(plan: Plan, doctor_id: int, extra: list[iv.Interval], patient_busy: list[iv.Interval]) -> Plan:
    """`plan` with times already promised to earlier appointments of the same proposal."""
    if not extra:
        return replace(plan, patient_busy=patient_busy)
    doctors = dict(plan.doctors)
    for key, day in plan.doctors.items():
        if key[0] == doctor_id:
            doctors[key] = DoctorDay(shift=day.shift, busy=iv.merge([*day.busy, *extra]), leave=day.leave)
    return replace(plan, doctors=doctors, patient_busy=patient_busy)


def leave_proposal(
    *, actor: Actor, doctor: StaffMember, start: datetime, end: datetime, now: datetime | None = None
) -> LeaveProposal:
    """The appointments in the way of `doctor`'s leave from `start` to `end` that `actor` may see
    (tenants.org.selectors, through ``appointment_list``), in time order, each with its options:
    the other doctors free at the same time who offer its service at its branch, and the doctor's
    next free time after the leave. Next free times are handed out in time order, as the service
    does, so two appointments are not offered the same time."""
    now = now or timezone.now()
    if end <= start:  # no time, nothing in its way (and no range to ask the database about)
        return LeaveProposal(items=[], hidden=0, holds=0, doctors=[])
    everything = entries_in_leave(doctor=doctor, start=start, end=end)
    visible_ids = set(
        appointment_list(actor=actor).filter(pk__in=[a.pk for a in everything]).values_list("pk", flat=True)
    )
    holds = [a for a in everything if a.status == Status.HELD]
    shown = [a for a in everything if a.status != Status.HELD and a.pk in visible_ids]
    hidden = sum(1 for a in everything if a.status != Status.HELD and a.pk not in visible_ids)

    groups: dict[tuple[Branch, Service], list[Appointment]] = defaultdict(list)
    for a in shown:
        if a.branch is not None and a.service is not None:
            groups[(a.branch, a.service)].append(a)
    same_time: dict[int, list[int]] = {}
    next_plans: dict[tuple[int, int], tuple[Plan, list[date]]] = {}
    for (branch, service), members in groups.items():
        tz = ZoneInfo(branch.timezone)
        days = sorted({_local_day(a.span.lower, tz) for a in members})
        plan = plan_load(service=service, branch=branch, days=days, now=now)
        candidates = doctors_by_name(plan.offered_by)
        for a in members:
            same_time[a.pk] = doctors_free_at(plan, a, candidates)
        after = _days(_local_day(end, tz), NEXT_FREE_WEEKS * 7)
        later = plan_load(service=service, branch=branch, days=after, doctor_ids=[doctor.pk], now=now)
        next_plans[(branch.pk, service.pk)] = (later, after)

    horizon = end + timedelta(weeks=NEXT_FREE_WEEKS + 1)
    patients = _patients_busy(shown, end - timedelta(days=1), horizon)
    promised: list[iv.Interval] = []  # the doctor's times already offered to earlier appointments
    next_free: dict[int, datetime | None] = {}
    for a in shown:
        if a.branch is None or a.service is None or a.status not in MOVABLE:
            next_free[a.pk] = None
            continue
        plan, days = next_plans[(a.branch.pk, a.service.pk)]
        mine = patients.get(a.patient_id, []) if a.patient_id is not None else []
        found = first_free_start(_with_extra(plan, doctor.pk, promised, iv.merge(mine)), doctor.pk, days, end)
        next_free[a.pk] = found
        if found is not None:
            patient_span, busy = plan.shape.spans(found)
            promised.append(busy)
            if a.patient_id is not None:
                patients[a.patient_id].append(patient_span)

    staff = StaffMember.objects.filter(pk__in={d for ids in same_time.values() for d in ids}).select_related("user")
    names = {d.pk: doctor_label(d) for d in staff}
    order = [d.pk for d in sorted(staff, key=lambda d: (d.user.last_name, d.user.first_name, d.pk))]
    items = [
        LeaveItem(
            appointment=a,
            free_doctors=[DoctorOption(d, names[d]) for d in same_time.get(a.pk, [])] if a.status in MOVABLE else [],
            next_free=next_free.get(a.pk),
            movable=a.status in MOVABLE,
            cancellable=a.status in CANCELLABLE,
        )
        for a in shown
    ]
    offered = {o.pk for i in items for o in i.free_doctors}
    everyone = [DoctorOption(pk, names[pk]) for pk in order if pk in offered]
    return LeaveProposal(items=items, hidden=hidden, holds=len(holds), doctors=everyone)
