"""Fees follow the calendar: a no-show, or a cancellation the patient asked for inside the chain's
cancellation window (the event's ``late``, decided by scheduling/cancel_window.py), raises the
chain's fee in the same transaction (a deposit paid toward the visit kept toward it first). The
clinic's own cancellations, and the doctor's leave, carry none. Then the visit, which will not
happen, is no longer sold: its open invoice is voided or credited (invoicing.services.fees).

Money never undoes the calendar: a cancellation or a no-show stands whatever its invoice's state.
Each money step runs in a savepoint; a ledger refusal (an ApplicationError) rolls back that step
only and is logged as an error for billing to settle by hand, never answered to the caller."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from config.errors import ApplicationError
from config.events import subscribe
from invoicing.fees import FeeCharge, FeeKind
from invoicing.services.fees import fee_raise, visit_invoice_close
from patients.events import PatientsMerged
from scheduling.events import AppointmentCancelled, AppointmentNoShow, Cause
from tenants.accounts.models import User
from tenants.audit.history import changed_by

log = logging.getLogger(__name__)


def _settle(step: Callable[[], object], *, appointment_id: int, what: str) -> None:
    """Run one money step of a cancellation or no-show in a savepoint: refused, it is undone alone."""
    try:
        with transaction.atomic():
            step()
    except ApplicationError:
        log.exception("appointment %s: %s was refused by the ledger; billing settles it", appointment_id, what)


def _actor(actor_id: int | None) -> User | None:
    return User.objects.filter(pk=actor_id).first() if actor_id else None


def fee_for_no_show(event: AppointmentNoShow) -> None:
    actor, pk = _actor(event.actor_id), event.appointment_id
    _settle(lambda: fee_raise(appointment_id=pk, kind=FeeKind.NO_SHOW, actor=actor), appointment_id=pk, what="fee")
    _settle(
        lambda: visit_invoice_close(appointment_id=pk, actor=actor, reason="The patient did not come."),
        appointment_id=pk,
        what="visit invoice",
    )


def fee_for_late_cancellation(event: AppointmentCancelled) -> None:
    actor, pk = _actor(event.actor_id), event.appointment_id
    if event.late and event.by_patient and event.cause == Cause.REQUEST:
        _settle(
            lambda: fee_raise(appointment_id=pk, kind=FeeKind.LATE_CANCELLATION, actor=actor),
            appointment_id=pk,
            what="fee",
        )
    _settle(
        lambda: visit_invoice_close(appointment_id=pk, actor=actor, reason="The visit was cancelled."),
        appointment_id=pk,
        what="visit invoice",
    )


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
