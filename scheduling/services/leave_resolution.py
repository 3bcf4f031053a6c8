"""Saving a doctor's leave over booked time: each appointment in its way is moved to another doctor
at the same time, moved to the doctor's next free time after the leave, or cancelled with a reason,
and then the leave is written, all in one transaction.

Every move and cancellation goes through the status lifecycle (``appointment_reschedule``,
``appointment_cancel``), so the booking door judges it (hours, shifts, leave, the service offered,
the patient's other appointments, rooms) and the exclusion constraints settle races. If any
decision cannot be carried out, the refusal names each appointment that failed and why, and nothing
is written. Each change is announced with ``cause=Cause.LEAVE`` (scheduling.events): that is where
the notifications module tells the patients.

Races. Two managers saving leave for one doctor queue on the doctor's row (FOR NO KEY UPDATE, so
bookings, whose foreign-key checks take KEY SHARE, are not held up); the second then finds the
first one's leave. The appointments in the way are row-locked in time order before anything is
decided, so a desk moving one of them waits for us (or we for it, and then see where it went). A
booking racing into the leave's time is settled by the calendar's exclusion constraint when the
leave row is written: if the booking committed first the leave is refused (naming it) and every
move rolls back; if the leave did, the booking is refused with doctor_on_leave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import Range

from config.errors import ApplicationError, Disclosure
from config.events import publish
from config.fields import InputError, parse_datetime, visible_text
from scheduling import events
from scheduling.exceptions import InvalidScheduling, LeaveConflicts, LeaveDecisionsFailed
from scheduling.leave_plan import LeaveAction, entries_in_leave, free_doctor_ids, next_free_start
from scheduling.models import ACTIVE_STATUSES, Appointment, CalendarEntry, Kind, Leave, Status
from scheduling.services.conflicts import constraint_name, save_entry
from scheduling.services.lifecycle import appointment_cancel, appointment_reschedule
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize
from tenants.org.models import StaffMember
from tenants.org.selectors import branch_ids_visible

HOLD_RELEASED_REASON = "The doctor is on leave."


@dataclass(frozen=True)
class LeaveDecision:
    """What becomes of an appointment in a leave's way. MOVE_TO_DOCTOR takes `doctor` (None: the
    first free doctor, by name, who offers the service at that branch at that time); CANCEL takes
    a `reason`, which the patient is told."""

    action: LeaveAction
    doctor: StaffMember | None = None
    reason: str = ""


@dataclass(frozen=True)
class LeaveResolved:
    leave: Leave
    moved: list[Appointment]
    cancelled: list[Appointment]
    holds_released: int


class _NotCarriedOut(Exception):
    """A decision with no place to go (no doctor free, no free time): recorded like a refusal."""


LEAVE_LONGEST = timedelta(days=366)


def _within_calendar(moment: datetime, field: str) -> datetime:
    """A leave's start or end within the years the calendar plans, as every date-time the API reads
    (config.fields.parse_datetime): a leave ending late on 31 December 9999 west of UTC is saved in
    year 10000, which no page or API could read back."""
    try:
        return parse_datetime(moment)
    except InputError as exc:
        raise InvalidScheduling(fields={field: [exc.message]}) from exc


def _when(entry: CalendarEntry) -> str:
    tz = ZoneInfo(entry.branch.timezone if entry.branch else "UTC")
    return f"{entry.span.lower.astimezone(tz):%a %d %b %H:%M}"


def leave_conflict_refusal(appointments: list[Appointment], *, actor: Actor) -> LeaveConflicts:
    """The appointments in a leave's way, as the one asking may see them: at a branch they do not
    see (a doctor working at several), only that there is one (tenants.org.selectors)."""
    visible = branch_ids_visible(actor=actor)
    shown = [a for a in appointments if visible is None or a.branch_id in visible]
    lines = [f"{_when(a)} {a.patient or 'held slot'} ({a.branch})" for a in shown]
    hidden = len(appointments) - len(shown)
    if hidden:
        lines.append(f"{hidden} at a branch you do not manage")
    return LeaveConflicts(
        f"{len(appointments)} appointment(s) fall in this leave; move or cancel them first: " + "; ".join(lines),
        fields={"appointments": [str(a.pk) for a in shown]},
        disclosure=Disclosure("appointment", [a.pk for a in shown], [a.patient_id for a in shown]),
    )


def _check_decision(decision: LeaveDecision, *, doctor: StaffMember, field: str) -> dict[str, list[str]]:
    if decision.action == LeaveAction.CANCEL and not visible_text(decision.reason.strip()):
        return {field: ["Give the reason the patient will be told."]}
    if decision.action == LeaveAction.MOVE_TO_DOCTOR and decision.doctor is not None and decision.doctor == doctor:
        return {field: ["Choose another doctor than the one going on leave."]}
    return {}


def _check_decisions(
    decisions: Mapping[int, LeaveDecision], for_all: LeaveDecision | None, *, doctor: StaffMember
) -> dict[str, list[str]]:
    """Every incomplete decision at once (by appointment id, or "for_all"): the caller still tries
    the others, so one round of refusals names everything that needs a change."""
    problems: dict[str, list[str]] = {}
    if for_all is not None:
        problems |= _check_decision(for_all, doctor=doctor, field="for_all")
    for pk, decision in decisions.items():
        problems |= _check_decision(decision, doctor=doctor, field=str(pk))
    return problems


def _entries_locked(*, doctor: StaffMember, span: Range[datetime]) -> None:
    """Row-lock the doctor's appointments in the span, in time order (one lock order for all)."""
    list(
        CalendarEntry.objects.select_for_update()
        .filter(doctor=doctor, kind=Kind.APPOINTMENT, status__in=ACTIVE_STATUSES, busy__overlap=span)
        .order_by("span", "pk")
        .values_list("pk", flat=True)
    )


def _give_back_holds(holds: list[Appointment], *, actor: Actor, now: datetime) -> int:
    """Times held for someone completing a booking are not appointments: the leave takes them back
    (whoever holds one is told the time was released when they try to confirm it)."""
    released = 0
    for hold in holds:
        live = hold.hold_expires_at is None or hold.hold_expires_at > now
        hold.status = Status.CANCELLED if live else Status.EXPIRED
        if live:
            hold.cancelled_at, hold.cancellation_reason = now, HOLD_RELEASED_REASON
            released += 1
        changed_by(hold, actor)
        hold.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
    return released


def _carry_out(
    appointment: Appointment, decision: LeaveDecision, *, actor: Actor, leave_end: datetime, now: datetime
) -> Appointment:
    if decision.action == LeaveAction.CANCEL:
        return appointment_cancel(
            actor=actor, appointment=appointment, reason=decision.reason, now=now, cause=events.Cause.LEAVE
        )
    if decision.action == LeaveAction.NEXT_FREE_TIME:
        start = next_free_start(appointment=appointment, after=leave_end, now=now)
        if start is None:
            raise _NotCarriedOut("The doctor has no free time for it in the weeks after the leave.")
        return appointment_reschedule(
            actor=actor, appointment=appointment, start=start, now=now, cause=events.Cause.LEAVE
        )
    target = decision.doctor
    if target is None:
        free = free_doctor_ids(appointment=appointment, now=now)
        if not free:
            raise _NotCarriedOut("No other doctor offering this service is free at that time.")
        target = StaffMember.objects.get(pk=free[0])
    return appointment_reschedule(
        actor=actor,
        appointment=appointment,
        start=appointment.span.lower,
        doctor=target,
        now=now,
        cause=events.Cause.LEAVE,
    )


def _insert_leave(*, actor: Actor, doctor: StaffMember, start: datetime, end: datetime, reason: str) -> Leave:
    span = Range(start, end, "[)")
    leave = Leave(doctor=doctor, span=span, busy=span, status=Status.BOOKED, notes=reason.strip()[:500])
    leave.booked_by_id = actor.pk
    changed_by(leave, actor)
    try:
        save_entry(leave)
    except IntegrityError as exc:
        if constraint_name(exc) != "calendar_doctor_no_overlap":
            raise
        # Someone booked into the leave's time meanwhile (and committed first): name it.
        clashes = entries_in_leave(doctor=doctor, start=start, end=end)
        if clashes:
            raise leave_conflict_refusal(clashes, actor=actor) from exc
        raise LeaveConflicts("The doctor already has leave at that time.") from exc
    return leave


@transaction.atomic
def leave_create_resolving(
    *,
    actor: Actor,
    doctor: StaffMember,
    start: datetime,
    end: datetime,
    reason: str = "",
    decisions: Mapping[int, LeaveDecision] | None = None,
    for_all: LeaveDecision | None = None,
    now: datetime | None = None,
) -> LeaveResolved:
    """Block `doctor`'s calendar from `start` to `end` (all branches), first carrying out a decision
    for each appointment in the way: `decisions` by appointment id, `for_all` for every one not
    named. Without a decision for each, refused like a plain leave (409
    leave_conflicts_appointments, listing them); so is any appointment at a branch the actor does
    not see (counted, never shown). An id that is not in the leave's way, a cancellation without a
    reason or a move to the doctor herself is 400 validation_error, naming with it every other
    decision that cannot be carried out (one round names everything to change). A decision that
    cannot be carried out refuses everything (409 leave_decisions_failed, each appointment by id
    and why).
    Held times in the way are given back."""
    authorize(actor, "scheduling.manage_leave", doctor)
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise InvalidScheduling(fields={"start": ["Give times with their UTC offset."]})
    start, end = _within_calendar(start, "start"), _within_calendar(end, "end")
    if end <= start:
        raise InvalidScheduling(fields={"end": ["The leave must end after it starts."]})
    if end - start > LEAVE_LONGEST:
        # Each appointment in the way is a move or a cancellation through the booking door, in one
        # transaction: a year bounds that work (longer leave is saved a year at a time).
        raise InvalidScheduling(fields={"end": ["Leave is saved a year at most at a time."]})
    decisions = dict(decisions or {})
    incomplete = _check_decisions(decisions, for_all, doctor=doctor)
    now = now or timezone.now()
    span = Range(start, end, "[)")

    list(StaffMember.objects.select_for_update(no_key=True).filter(pk=doctor.pk).values_list("pk", flat=True))
    if Leave.objects.filter(doctor=doctor, status__in=ACTIVE_STATUSES, busy__overlap=span).exists():
        raise LeaveConflicts("The doctor already has leave at that time.")
    _entries_locked(doctor=doctor, span=span)
    entries = entries_in_leave(doctor=doctor, start=start, end=end)
    appointments = [a for a in entries if a.status != Status.HELD]

    visible = branch_ids_visible(actor=actor)
    if any(visible is not None and a.branch_id not in visible for a in appointments):
        raise leave_conflict_refusal(appointments, actor=actor)
    unknown = sorted(set(decisions) - {a.pk for a in appointments})
    if unknown:
        listed = ", ".join(str(pk) for pk in unknown)
        raise InvalidScheduling(fields={"decisions": [f"Not in this leave's way: appointment(s) {listed}."]})
    chosen = [(a, decisions.get(a.pk, for_all)) for a in appointments]
    undecided = [a for a, decision in chosen if decision is None]
    if undecided:
        raise leave_conflict_refusal(undecided, actor=actor)

    released = _give_back_holds([a for a in entries if a.status == Status.HELD], actor=actor, now=now)
    moved: list[Appointment] = []
    cancelled: list[Appointment] = []
    failed: dict[str, list[str]] = {}
    for appointment, decision in chosen:
        if decision is None:  # refused above: every appointment has a decision by now
            continue
        key = str(appointment.pk) if appointment.pk in decisions else "for_all"
        if key in incomplete:  # already refused as incomplete: the others are still tried
            continue
        try:
            done = _carry_out(appointment, decision, actor=actor, leave_end=end, now=now)
        except (ApplicationError, _NotCarriedOut) as exc:
            message = exc.message if isinstance(exc, ApplicationError) else str(exc)
            failed[str(appointment.pk)] = [f"{_when(appointment)}: {message}"]
            continue
        (cancelled if decision.action == LeaveAction.CANCEL else moved).append(done)
    shown = [a for a in appointments if str(a.pk) in failed]
    if incomplete:
        # One round: the incomplete decisions and those that could not be carried out, together.
        raise InvalidScheduling(
            fields=incomplete | failed,
            disclosure=Disclosure("appointment", [a.pk for a in shown], [a.patient_id for a in shown])
            if shown
            else None,
        )
    if failed:
        raise LeaveDecisionsFailed(
            f"{len(failed)} of {len(appointments)} appointment(s) cannot be moved or cancelled as decided; "
            "nothing was saved.",
            fields=failed,
            disclosure=Disclosure("appointment", [a.pk for a in shown], [a.patient_id for a in shown]),
        )
    leave = _insert_leave(actor=actor, doctor=doctor, start=start, end=end, reason=reason)
    publish(events.LeaveCreated(leave.pk, doctor.pk))
    return LeaveResolved(leave=leave, moved=moved, cancelled=cancelled, holds_released=released)
