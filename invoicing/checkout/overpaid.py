"""A Stripe payment the platform did take is always recorded, once, even when its invoice no longer
asks for it: paid at the desk, credited or voided while the patient was at Stripe's page, or the
held time it paid for was gone. The payment is recorded in full and what the invoice does not owe
is refunded at once (made at Stripe after commit, its idempotency key named after the refund row),
with the reason billing reads on the refund. What the invoice keeps (paid less refunded) never
exceeds what it asks for (the invoice_kept_within_total constraint)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from config.events import publish
from config.fields import plain_text
from invoicing.checkout.refunds import stripe_refund_after_commit
from invoicing.events import PaymentRecorded, RefundRecorded
from invoicing.models import OPEN_STATUSES, Invoice, InvoiceStatus, Payment, PaymentMethod, Refund, RefundStatus
from invoicing.services.payments import payment_status
from tenants.audit.history import changed_by


def stripe_payment_with_refund(
    invoice: Invoice,
    *,
    amount_minor: int,
    refund_minor: int,
    reason: str,
    reference: str,
    received_at: datetime,
    void: bool = False,
) -> tuple[Payment, Refund]:
    """Inside the caller's transaction, ``invoice`` locked by the caller: record the Stripe payment
    of ``amount_minor`` and refund ``refund_minor`` of it (0 < refund_minor <= amount_minor), in one
    change of the invoice's amounts. A void invoice stays void; ``void``: an invoice asking for a
    visit that will not happen (its held time is gone) is voided, the payment refunded in full."""
    if not 0 < refund_minor <= amount_minor:
        raise ValueError("A refund of part or all of the payment.")
    now = timezone.now()
    payment = changed_by(
        Payment(
            invoice=invoice,
            method=PaymentMethod.STRIPE,
            amount_minor=amount_minor,
            refunded_minor=refund_minor,
            currency=invoice.currency,
            reference=plain_text(reference),
            received_at=received_at,
        ),
        None,
        reason="paid online",
    )
    payment.save()
    refund = changed_by(
        Refund(payment=payment, amount_minor=refund_minor, reason=reason, at=now, status=RefundStatus.PENDING),
        None,
        reason="not owed",
    )
    refund.save()
    stripe_refund_after_commit(refund)
    invoice.paid_minor += amount_minor
    invoice.refunded_minor += refund_minor
    fields = ["paid_minor", "refunded_minor", "status"]
    if void and invoice.status in OPEN_STATUSES and refund_minor == amount_minor and not invoice.credited_minor:
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = now
        invoice.void_reason = reason
        fields += ["voided_at", "void_reason"]
    elif invoice.status not in (InvoiceStatus.VOID, InvoiceStatus.DRAFT):
        invoice.status = payment_status(invoice)
    changed_by(invoice, None, reason="paid online, not owed: refunded").save(update_fields=fields)
    publish(PaymentRecorded(invoice.pk, payment.pk, amount_minor, None))
    publish(RefundRecorded(invoice.pk, refund.pk, refund_minor, None))
    return payment, refund
