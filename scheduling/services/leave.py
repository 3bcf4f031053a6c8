"""Doctors' leave. Leave rows sit in the same constrained calendar as appointments, so a leave and
a booking racing for the same time cannot both win."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from scheduling.exceptions import IllegalTransition
from scheduling.models import Leave, Status
from scheduling.services.leave_resolution import leave_create_resolving
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize
from tenants.org.models import StaffMember


def leave_create(*, actor: Actor, doctor: StaffMember, start: datetime, end: datetime, reason: str = "") -> Leave:
    """Block the doctor's calendar from start to end (all branches). Refused with the list of
    appointments in the way (409 leave_conflicts_appointments); to save leave over them, decide
    what becomes of each (services.leave_resolution.leave_create_resolving)."""
    return leave_create_resolving(actor=actor, doctor=doctor, start=start, end=end, reason=reason).leave


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
