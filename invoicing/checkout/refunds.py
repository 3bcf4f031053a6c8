"""Refunds of Stripe payments, made at Stripe after the ledger's refund row commits.

``refund_record`` (the ledger) keeps a Stripe payment's refund pending, its amount already taken
from what can be refunded (two refunds at once cannot give back more than was paid), and asks for
``refund_send`` after commit. The create call's idempotency key is named after the refund's row:
a retry (the sweep, a second delivery) makes one refund at Stripe. Stripe's answer marks the row
succeeded with Stripe's refund id; a refusal marks it failed, with Stripe's message, and gives the
amount back to the payment, unless the invoice does not owe that money (paid twice, void, or freed
by a credit note): then it stays counted as owed back, flagged for billing. Stripe being unreachable
leaves it pending for the next sweep."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import stripe
from django.db import transaction
from django.utils import timezone

from invoicing.connect.client import idempotency_key, stripe_client
from invoicing.connect.selectors import connection_get
from invoicing.models import Invoice, InvoiceStatus, Payment, Refund, RefundStatus
from tenants.audit.history import changed_by
from tenants.selectors import current_schema

log = logging.getLogger(__name__)

NOT_OWED_NOTE = "Not owed on this invoice: give it back from Stripe's dashboard."

#: A pending refund older than this is asked of Stripe again by the sweep.
RETRY_AFTER = timedelta(minutes=2)


def stripe_refund_after_commit(refund: Refund) -> None:
    """Ask Stripe for ``refund`` once the transaction that keeps it commits."""
    from invoicing.checkout.services import after_commit

    refund_id = refund.pk
    after_commit(lambda: refund_send(refund_id=refund_id))


def _account_of(payment: Payment) -> str:
    checkout = getattr(payment, "checkout", None)
    if checkout is not None:
        return str(checkout.account_id)
    stripe_account = connection_get()
    return stripe_account.account_id if stripe_account else ""


def refund_send(*, refund_id: int) -> Refund:
    """Make a pending refund at Stripe (outside any transaction) and record Stripe's answer."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    options: stripe.RequestOptions = {
        "stripe_account": _account_of(payment),
        "idempotency_key": idempotency_key("refund", current_schema(), refund.pk),
    }
    try:
        made = stripe_client().v1.refunds.create(
            params={
                "payment_intent": payment.reference,
                "amount": refund.amount_minor,
                "metadata": {"refund_id": str(refund.pk), "invoice_id": str(payment.invoice_id)},
            },
            options=options,
        )
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        log.warning("stripe refund %s not sent yet: %s", refund.pk, error)
        return refund
    except stripe.StripeError as error:
        log.warning("stripe refused refund %s: %s", refund.pk, error)
        return refund_failed(refund_id=refund.pk, message=str(error.user_message or error) or "Stripe refused it.")
    return refund_succeeded(refund_id=refund.pk, stripe_refund_id=made.id)


@transaction.atomic
def refund_succeeded(*, refund_id: int, stripe_refund_id: str) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status == RefundStatus.PENDING:
        refund.status = RefundStatus.SUCCEEDED
        refund.stripe_refund_id = stripe_refund_id
        changed_by(refund, None, reason="made at Stripe").save(update_fields=["status", "stripe_refund_id"])
    return refund


@transaction.atomic
def refund_failed(*, refund_id: int, message: str) -> Refund:
    """Stripe refused the refund: it is marked failed (shown with Stripe's reason) and its amount
    is refundable again; money the invoice does not owe (paid twice, void, freed by a credit note)
    stays counted as owed back instead, flagged for billing."""
    from invoicing.services.payments import payment_status

    refund = Refund.objects.get(pk=refund_id)
    invoice = Invoice.objects.select_for_update().get(pk=refund.payment.invoice_id)
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    refund.status = RefundStatus.FAILED
    kept_after = invoice.paid_minor - invoice.refunded_minor + refund.amount_minor
    not_owed = invoice.status == InvoiceStatus.VOID or kept_after > invoice.total_minor - invoice.credited_minor
    if not_owed or refund.credit_note_id is not None:
        # checkout14: money the invoice does not owe (paid twice, on a void invoice, or freed by a
        # credit note, whose freed part its refunds carry) cannot be kept on it: the refund stays
        # counted, failed with Stripe's reason, for billing to give the money back another way
        # (Stripe's dashboard) and reconciliation to show.
        refund.failure_message = f"{NOT_OWED_NOTE} Stripe: {message}"[:500]
        changed_by(refund, None, reason="refused by Stripe").save(update_fields=["status", "failure_message"])
        log.error("refund %s of money not owed was refused by Stripe: %s", refund.pk, message)
        return refund
    refund.failure_message = message[:500]
    changed_by(refund, None, reason="refused by Stripe").save(update_fields=["status", "failure_message"])
    payment.refunded_minor -= refund.amount_minor
    changed_by(payment, None, reason="refund failed").save(update_fields=["refunded_minor"])
    invoice.refunded_minor -= refund.amount_minor
    if invoice.status != InvoiceStatus.VOID:
        invoice.status = payment_status(invoice)
    changed_by(invoice, None, reason="refund failed").save(update_fields=["refunded_minor", "status"])
    return refund


def refunds_retry(*, now: datetime | None = None) -> int:
    """The sweep: pending refunds that were not made (a crash, Stripe unreachable) are asked again."""
    now = now or timezone.now()
    pending = list(
        Refund.objects.filter(status=RefundStatus.PENDING, at__lte=now - RETRY_AFTER).values_list("pk", flat=True)
    )
    for refund_id in pending:
        refund_send(refund_id=refund_id)
    return len(pending)
