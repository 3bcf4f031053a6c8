"""The change history of an appointment: who moved it, changed its status or its doctor, when,
from what to what. Read from django-simple-history's rows of the calendar (config.history)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from config.history import HistoryEntry, history_entries
from scheduling.models import Appointment, CalendarEntry
from tenants.authz import Actor, authorize

APPOINTMENT_HISTORY_FIELDS = (
    "span",
    "status",
    "doctor",
    "branch",
    "service",
    "room",
    "patient",
    "is_override",
    "override_reason",
    "notes",
    "cancellation_reason",
)
APPOINTMENT_HISTORY_LABELS = {"span": "Time", "is_override": "Booked over a conflict", "override_reason": "Why"}


def appointment_history(*, actor: Actor, appointment: Appointment) -> list[HistoryEntry]:
    """Every change of the appointment, newest first, times in its branch's zone. Owners only (the
    same rule as a patient's history: patients.view_history)."""
    authorize(actor, "patients.view_history", appointment.patient)
    zone = ZoneInfo(appointment.branch.timezone if appointment.branch else "UTC")

    def when(span: Any) -> str:
        start, end = span.lower.astimezone(zone), span.upper.astimezone(zone)
        return f"{start:%a %d %b %Y %H:%M} to {end:%H:%M}"

    records = CalendarEntry.history.filter(id=appointment.pk).select_related("history_user")  # type: ignore[attr-defined]
    return history_entries(
        records, fields=APPOINTMENT_HISTORY_FIELDS, formatters={"span": when}, labels=APPOINTMENT_HISTORY_LABELS
    )
