"""One desk payment towards a patient's whole balance: a patient with several open invoices pays
once, and the money is spread over them oldest first (the earliest due, then the earliest issued),
each part an ordinary payment of its invoice (payments.payment_add), all or none."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from invoicing.exceptions import Overpayment, PaymentMethodNotRecordable
from invoicing.models import DESK_METHODS, OPEN_STATUSES, Invoice, Payment
from invoicing.selectors import invoice_list
from invoicing.services.invoices import positive
from invoicing.services.payments import payment_add
from tenants.authz import Actor, authorize


def _owing(actor: Actor, patient_id: int, currency: str) -> list[Invoice]:
    """The patient's open invoices in ``currency`` this user takes payments on, locked, oldest first."""
    rows = (
        invoice_list(actor=actor)
        .filter(patient_id=patient_id, currency=currency, status__in=OPEN_STATUSES)
        .select_for_update(of=("self",))
        .order_by("due_at", "issued_at", "pk")
    )
    return [i for i in rows if i.due_minor > 0 and actor.has_perm("invoicing.record_payment", i)]


def balance_pay(
    *,
    actor: Actor,
    patient_id: int,
    currency: str,
    method: str,
    amount_minor: int,
    reference: str = "",
    received_at: datetime | None = None,
) -> list[Payment]:
    """A cash or card-terminal payment of part or all of what a patient owes in ``currency`` on
    open invoices of the branches this user takes payments at, allocated oldest first: one payment
    per invoice it reaches, the same reference and time on each. More than is owed is refused
    (overpayment), and so is any amount when nothing is owed."""
    authorize(actor, "invoicing.record_payment")
    if method not in DESK_METHODS:
        raise PaymentMethodNotRecordable()
    positive(amount_minor)
    received_at = received_at or timezone.now()
    with transaction.atomic():
        invoices = _owing(actor, patient_id, currency)
        owed = sum(i.due_minor for i in invoices)
        if amount_minor > owed:
            raise Overpayment(f"The patient owes {owed} in {currency} on open invoices (minor units).")
        left = amount_minor
        payments: list[Payment] = []
        for invoice in invoices:
            part = min(left, invoice.due_minor)
            payments.append(
                payment_add(
                    invoice,
                    actor=actor,
                    method=method,
                    amount_minor=part,
                    reference=reference,
                    received_at=received_at,
                )
            )
            left -= part
            if not left:
                break
        return payments
