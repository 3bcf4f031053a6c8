"""Doctors' leave. Leave rows sit in the same constrained calendar as appointments, so a leave and
a booking racing for the same time cannot both win."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import Range

from config.errors import Disclosure
from config.events import publish
from scheduling import events
from scheduling.exceptions import IllegalTransition, InvalidScheduling, LeaveConflicts
from scheduling.models import ACTIVE_STATUSES, Appointment, Leave, Status
from scheduling.services.conflicts import constraint_name, save_entry
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize
from tenants.org.models import StaffMember
from tenants.org.selectors import branch_ids_visible


def _conflict_message(appointments: list[Appointment], *, actor: Actor) -> LeaveConflicts:
    """The appointments in a leave's way, as the one asking may see them: at a branch they do not
    see (a doctor working at several), only that there is one (tenants.org.selectors)."""
    visible = branch_ids_visible(actor=actor)
    shown = [a for a in appointments if visible is None or a.branch_id in visible]
    lines = [
        f"{a.span.lower.astimezone(ZoneInfo(a.branch.timezone if a.branch else 'UTC')):%a %d %b %H:%M} "
        f"{a.patient or 'held slot'} ({a.branch})"
        for a in shown
    ]
    hidden = len(appointments) - len(shown)
    if hidden:
        lines.append(f"{hidden} at a branch you do not manage")
    return LeaveConflicts(
        f"{len(appointments)} appointment(s) fall in this leave; move or cancel them first: " + "; ".join(lines),
        fields={"appointments": [str(a.pk) for a in shown]},
        disclosure=Disclosure("appointment", [a.pk for a in shown], [a.patient_id for a in shown]),
    )


def conflicting_appointments(*, doctor: StaffMember, span: Range[datetime]) -> list[Appointment]:
    return list(
        Appointment.objects.filter(doctor=doctor, status__in=ACTIVE_STATUSES, busy__overlap=span)
        .select_related("patient", "branch")
        .order_by("span")
    )


@transaction.atomic
def leave_create(*, actor: Actor, doctor: StaffMember, start: datetime, end: datetime, reason: str = "") -> Leave:
    """Block the doctor's calendar from start to end (all branches). Refused with the list of
    appointments in the way (409 leave_conflicts_appointments)."""
    authorize(actor, "scheduling.manage_leave", doctor)
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise InvalidScheduling(fields={"start": ["Give times with their UTC offset."]})
    if end <= start:
        raise InvalidScheduling(fields={"end": ["The leave must end after it starts."]})
    span = Range(start, end, "[)")
    leave = Leave(doctor=doctor, span=span, busy=span, status=Status.BOOKED, notes=reason.strip()[:500])
    leave.booked_by_id = actor.pk
    changed_by(leave, actor)
    try:
        save_entry(leave)
    except IntegrityError as exc:
        if constraint_name(exc) != "calendar_doctor_no_overlap":
            raise
        clashes = conflicting_appointments(doctor=doctor, span=span)
        if clashes:
            raise _conflict_message(clashes, actor=actor) from exc
        raise LeaveConflicts("The doctor already has leave at that time.") from exc
    publish(events.LeaveCreated(leave.pk, doctor.pk))
    return leave


@transaction.atomic
def leave_cancel(*, actor: Actor, leave: Leave) -> Leave:
    leave = Leave.objects.select_for_update().get(pk=leave.pk)
    authorize(actor, "scheduling.manage_leave", leave.doctor)
    if leave.status != Status.BOOKED:
        raise IllegalTransition("This leave is already cancelled.")
    leave.status = Status.CANCELLED
    leave.cancelled_at = timezone.now()
    changed_by(leave, actor)
    leave.save()
    return leave
