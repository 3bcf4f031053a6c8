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
from invoicing.models import (
    DESK_METHODS,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from invoicing.services.invoices import locked, locked_owing, positive, reason_given
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize, user_of


def _actor_id(actor: Actor | None) -> int | None:
    user = user_of(actor)
    return user.pk if user is not None else None


def payment_status(invoice: Invoice) -> str:
    """The status an issued invoice's amounts give it (not for drafts and void ones): settled (paid
    and credited in full) it is paid, or refunded when everything paid was given back; a refund of
    part of a settled invoice leaves it paid (its page says how much was refunded). An invoice
    still owed is partly paid or issued, whatever was refunded of it."""
    settled = invoice.paid_minor + invoice.credited_minor >= invoice.total_minor
    if settled and invoice.paid_minor and invoice.refunded_minor == invoice.paid_minor:
        return InvoiceStatus.REFUNDED
    if settled:
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
    with transaction.atomic():
        return payment_add(
            invoice, actor=actor, method=method, amount_minor=amount_minor, reference=reference, received_at=received_at
        )


def payment_add(
    invoice: Invoice,
    *,
    actor: Actor | None,
    method: str,
    amount_minor: int,
    reference: str = "",
    received_at: datetime | None = None,
) -> Payment:
    """A payment on an issued invoice that still asks for at least ``amount_minor``, inside the
    caller's transaction (the invoice row locked here). No permission check: ``payment_record`` for
    the desk; a Stripe payment the platform confirmed (online checkout, a fee charge) has no actor."""
    positive(amount_minor)
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
    the invoice is refunded. A Stripe payment's refund is pending until Stripe has made it: it is
    asked of Stripe after commit (invoicing.checkout.refunds), and a refusal there gives the
    amount back to the payment, the refund marked failed."""
    authorize(actor, "invoicing.manage_invoice", payment.invoice)
    with transaction.atomic():
        return refund_add(payment, actor=actor, amount_minor=amount_minor, reason=reason)


def refund_add(
    payment: Payment, *, actor: Actor | None, amount_minor: int, reason: str, credit_note: CreditNote | None = None
) -> Refund:
    """``refund_record`` inside the caller's transaction, without a permission check (the platform
    refunding a payment that can no longer buy what it paid for has no actor); ``credit_note``: the
    credit note whose freed money this gives back."""
    from invoicing.checkout.refunds import stripe_refund_after_commit

    reason = reason_given(reason)
    positive(amount_minor)
    with transaction.atomic():
        invoice = locked(payment.invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if amount_minor > payment.amount_minor - payment.refunded_minor:
            raise RefundExceedsPaid(
                f"This payment has {payment.amount_minor - payment.refunded_minor} left to refund (minor units)."
            )
        through_stripe = payment.method == PaymentMethod.STRIPE
        refund = changed_by(
            Refund(
                payment=payment,
                amount_minor=amount_minor,
                reason=reason,
                by=history_user(actor),
                at=timezone.now(),
                status=RefundStatus.PENDING if through_stripe else RefundStatus.SUCCEEDED,
                credit_note=credit_note,
            ),
            actor,
        )
        refund.save()
        if through_stripe:
            stripe_refund_after_commit(refund)
        payment.refunded_minor += amount_minor
        changed_by(payment, actor, reason="refund").save(update_fields=["refunded_minor"])
        invoice.refunded_minor += amount_minor
        if invoice.status != InvoiceStatus.VOID:
            invoice.status = payment_status(invoice)
        changed_by(invoice, actor, reason="refund recorded").save(update_fields=["refunded_minor", "status"])
        publish(RefundRecorded(invoice.pk, refund.pk, amount_minor, _actor_id(actor)))
    return refund
