"""Money taken at the desk and given back. Each locks the invoice row first, so two payments racing
each other see each other's amounts: neither can overpay."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.events import publish
from config.fields import plain_text
from invoicing.events import PaymentRecorded, RefundRecorded
from invoicing.exceptions import PaymentMethodNotRecordable, RefundExceedsPaid
from invoicing.models import DESK_METHODS, Invoice, InvoiceStatus, Payment, Refund
from invoicing.services.invoices import locked, locked_owing, positive, reason_given
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize, user_of


def _actor_id(actor: Actor) -> int | None:
    user = user_of(actor)
    return user.pk if user is not None else None


def payment_status(invoice: Invoice) -> str:
    """The status an issued invoice's amounts give it (not for drafts and void ones)."""
    if invoice.paid_minor and invoice.refunded_minor == invoice.paid_minor:
        return InvoiceStatus.REFUNDED
    if invoice.paid_minor + invoice.credited_minor >= invoice.total_minor:
        return InvoiceStatus.PAID
    if invoice.paid_minor:
        return InvoiceStatus.PARTLY_PAID
    return InvoiceStatus.ISSUED


def payment_record(
    *,
    actor: Actor,
    invoice: Invoice,
    method: str,
    amount_minor: int,
    reference: str = "",
    received_at: datetime | None = None,
) -> Payment:
    """A cash or card-terminal payment of part or all of what an issued invoice still asks for;
    more than that is refused (overpayment)."""
    authorize(actor, "invoicing.record_payment", invoice)
    if method not in DESK_METHODS:
        raise PaymentMethodNotRecordable()
    positive(amount_minor)
    with transaction.atomic():
        invoice = locked_owing(invoice, amount_minor)
        payment = changed_by(
            Payment(
                invoice=invoice,
                method=method,
                amount_minor=amount_minor,
                currency=invoice.currency,
                reference=plain_text(reference),
                received_by=history_user(actor),
                received_at=received_at or timezone.now(),
            ),
            actor,
        )
        payment.save()
        invoice.paid_minor += amount_minor
        invoice.status = payment_status(invoice)
        changed_by(invoice, actor, reason="payment recorded").save(update_fields=["paid_minor", "status"])
        publish(PaymentRecorded(invoice.pk, payment.pk, amount_minor, _actor_id(actor)))
    return payment


def refund_record(*, actor: Actor, payment: Payment, amount_minor: int, reason: str) -> Refund:
    """Money given back from a payment, with the reason: all of it or part, never more than it
    brought in less what was refunded already. When everything paid on the invoice is refunded
    the invoice is refunded."""
    authorize(actor, "invoicing.manage_invoice", payment.invoice)
    reason = reason_given(reason)
    positive(amount_minor)
    with transaction.atomic():
        invoice = locked(payment.invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if amount_minor > payment.amount_minor - payment.refunded_minor:
            raise RefundExceedsPaid(
                f"This payment has {payment.amount_minor - payment.refunded_minor} left to refund (minor units)."
            )
        refund = changed_by(
            Refund(
                payment=payment, amount_minor=amount_minor, reason=reason, by=history_user(actor), at=timezone.now()
            ),
            actor,
        )
        refund.save()
        payment.refunded_minor += amount_minor
        changed_by(payment, actor, reason="refund").save(update_fields=["refunded_minor"])
        invoice.refunded_minor += amount_minor
        if invoice.status != InvoiceStatus.VOID:
            invoice.status = payment_status(invoice)
        changed_by(invoice, actor, reason="refund recorded").save(update_fields=["refunded_minor", "status"])
        publish(RefundRecorded(invoice.pk, refund.pk, amount_minor, _actor_id(actor)))
    return refund
