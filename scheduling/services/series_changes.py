"""Changing the rest of a recurring series from one of its appointments: cancel it, or move it.

Each appointment goes through the status lifecycle (cancel, reschedule) like a single one, so every
rule and constraint judges it and a refusal names its rule; the whole change is one transaction:
the rest of the series moves (or is cancelled) entirely, or nothing changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError
from scheduling import intervals as iv
from scheduling.exceptions import InvalidScheduling, SeriesConflicts
from scheduling.models import Appointment
from scheduling.selectors import series_rest
from scheduling.services.lifecycle import appointment_cancel, appointment_reschedule
from tenants.authz import Actor, authorize


def _rest(actor: Actor, appointment: Appointment) -> list[Appointment]:
    authorize(actor, "scheduling.change_appointment", appointment)
    if appointment.series_id is None:
        raise InvalidScheduling(fields={"appointment": ["This appointment is not part of a series."]})
    rest = series_rest(appointment=appointment)
    if not rest:
        raise InvalidScheduling(fields={"appointment": ["Nothing from this appointment on can still change."]})
    return rest


@transaction.atomic
def series_cancel_rest(
    *, actor: Actor, appointment: Appointment, reason: str = "", now: datetime | None = None
) -> list[Appointment]:
    """Cancel `appointment` and every later booked or confirmed appointment of its series."""
    now = now or timezone.now()
    return [appointment_cancel(actor=actor, appointment=a, reason=reason, now=now) for a in _rest(actor, appointment)]


@transaction.atomic
def series_move_rest(
    *, actor: Actor, appointment: Appointment, start: datetime, now: datetime | None = None
) -> list[Appointment]:
    """Move `appointment` to `start` and every later booked or confirmed appointment of its series
    by the same shift of days, to the same wall-clock time (09:00 Monday to 10:30 Tuesday moves
    each to 10:30 the day after its own). Refused with SeriesConflicts, naming each occurrence and
    its rule, when any one cannot move; then none moves."""
    if timezone.is_naive(start):
        raise InvalidScheduling(fields={"start": ["Give the time with its UTC offset."]})
    rest = _rest(actor, appointment)
    branch = appointment.branch
    if branch is None:  # only leave rows lack a branch, and they are in no series
        raise InvalidScheduling(fields={"appointment": ["Only appointments can be moved."]})
    tz = ZoneInfo(branch.timezone)
    old, new = appointment.span.lower.astimezone(tz), start.astimezone(tz)
    shift, at = new.date() - old.date(), new.time().replace(tzinfo=None)
    targets = [(a, iv.wall_clock(a.span.lower.astimezone(tz).date() + shift, at, tz)) for a in rest]
    # Move the ones furthest in the direction of travel first, so that no occurrence lands on a
    # sibling that has not moved yet.
    if start > appointment.span.lower:
        targets.reverse()
    moved, failed = [], {}
    for a, target in targets:
        try:
            moved.append(appointment_reschedule(actor=actor, appointment=a, start=target, now=now))
        except ApplicationError as exc:
            failed[target.astimezone(tz).isoformat()] = [f"{exc.code}: {exc.message}"]
    if failed:
        raise SeriesConflicts(
            f"{len(failed)} of {len(targets)} appointments cannot move there; none was moved.", fields=failed
        )
    return sorted(moved, key=lambda a: a.span.lower)
