"""Fees follow the calendar: a no-show, or a cancellation the patient asked for inside the chain's
cancellation window (the event's ``late``, decided by scheduling/cancel_window.py), raises the
chain's fee in the same transaction (a deposit paid toward the visit kept toward it first). The
clinic's own cancellations, and the doctor's leave, carry none. Then the visit, which will not
happen, is no longer sold: its open invoice is voided or credited (invoicing.services.fees)."""

from __future__ import annotations

from config.events import subscribe
from invoicing.fees import FeeCharge, FeeKind
from invoicing.services.fees import fee_raise, visit_invoice_close
from patients.events import PatientsMerged
from scheduling.events import AppointmentCancelled, AppointmentNoShow, Cause
from tenants.accounts.models import User
from tenants.audit.history import changed_by


def _actor(actor_id: int | None) -> User | None:
    return User.objects.filter(pk=actor_id).first() if actor_id else None


def fee_for_no_show(event: AppointmentNoShow) -> None:
    actor = _actor(event.actor_id)
    fee_raise(appointment_id=event.appointment_id, kind=FeeKind.NO_SHOW, actor=actor)
    visit_invoice_close(appointment_id=event.appointment_id, actor=actor, reason="The patient did not come.")


def fee_for_late_cancellation(event: AppointmentCancelled) -> None:
    actor = _actor(event.actor_id)
    if event.late and event.by_patient and event.cause == Cause.REQUEST:
        fee_raise(appointment_id=event.appointment_id, kind=FeeKind.LATE_CANCELLATION, actor=actor)
    visit_invoice_close(appointment_id=event.appointment_id, actor=actor, reason="The visit was cancelled.")


def move_fees_on_merge(event: PatientsMerged) -> None:
    """The merged record's fees are the kept record's (its invoices move too, invoicing.subscribers);
    a fee waiting for a card is then charged to the kept record's card."""
    actor = _actor(event.actor_id)
    for charge in FeeCharge.objects.select_for_update().filter(patient_id=event.merged_id).order_by("pk"):
        charge.patient_id = event.kept_id
        changed_by(charge, actor, reason=f"patient record {event.merged_id} merged into {event.kept_id}")
        charge.save(update_fields=["patient", "updated_at"])


def connect() -> None:
    subscribe(AppointmentNoShow, fee_for_no_show)
    subscribe(AppointmentCancelled, fee_for_late_cancellation)
    subscribe(PatientsMerged, move_fees_on_merge)
