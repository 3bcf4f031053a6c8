"""What the ledger does when the calendar announces something: a completed visit raises its
invoice, issued, once (a second completion or a replayed event finds it raised)."""

from __future__ import annotations

from config.events import subscribe
from invoicing.services.invoices import raise_for_appointment
from scheduling.events import AppointmentCompleted
from scheduling.models import CalendarEntry
from tenants.accounts.models import User


def invoice_completed_visit(event: AppointmentCompleted) -> None:
    entry = CalendarEntry.objects.select_related("service").get(pk=event.appointment_id)
    if entry.patient_id is None or entry.service is None or entry.branch_id is None:
        return
    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    raise_for_appointment(entry, actor=actor, issue=True)


def connect() -> None:
    subscribe(AppointmentCompleted, invoice_completed_visit)
