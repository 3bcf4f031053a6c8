"""Credit notes: an issued invoice is never edited; what it should not have asked for is credited,
under a number of the credit notes' own gap-free sequence.

A credit note lowers what the invoice charges. Up to what is still owed, that is all it does. Past
that it frees money the patient has already paid, which is never kept for nothing: the credit note
is then issued only with the refund of what it frees (``refund_freed``, an explicit choice), taken
from the invoice's payments newest first and tied to the credit note (``Refund.credit_note``). A
refund gives back money the invoice no longer asks for, so the freed part is carried by those
refunds and only the rest by ``Invoice.credited_minor``: the invoice's arithmetic
(``total - credited - paid``) still gives what is owed, and the credit note's full amount is
``credited part + its refunds``."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from config.events import publish
from invoicing.events import CreditNoteIssued
from invoicing.exceptions import CreditFreesPayment, InvoiceNotOpen, Overpayment
from invoicing.models import OPEN_STATUSES, CreditNote, Invoice, InvoiceStatus, Payment, PaymentStatus
from invoicing.services.invoices import locked, positive, reason_given
from invoicing.services.numbering import Sequence, next_number
from invoicing.services.payments import payment_status, refund_add
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize, user_of

#: An invoice in one of these can be credited: issued and not void (a paid one too, refunding what it frees).
CREDITABLE_STATUSES = (*OPEN_STATUSES, InvoiceStatus.PAID)


def creditable_minor(invoice: Invoice) -> int:
    """What a credit note can still take off the invoice: what it charges after credit notes and
    refunds (a refund's money is no longer asked for)."""
    if invoice.status not in CREDITABLE_STATUSES:
        return 0
    return invoice.total_minor - invoice.credited_minor - invoice.refunded_minor


def credit_note_issue(
    *, actor: Actor, invoice: Invoice, amount_minor: int, reason: str, refund_freed: bool = False
) -> CreditNote:
    """Credit part or all of an issued, partly paid or paid invoice. Up to what is still owed the
    credit note lowers the debt; past it, it frees money paid, and is refused (credit_frees_payment)
    unless ``refund_freed`` asks for that money to be refunded with it (newest payment first);
    more than the invoice still charges is refused (overpayment)."""
    authorize(actor, "invoicing.manage_invoice", invoice)
    return credit_note_add(invoice, actor=actor, amount_minor=amount_minor, reason=reason, refund_freed=refund_freed)


def credit_note_add(
    invoice: Invoice, *, actor: Actor | None, amount_minor: int, reason: str, refund_freed: bool = False
) -> CreditNote:
    """``credit_note_issue`` inside the caller's transaction (or its own), without a permission
    check: the platform crediting what a cancelled visit no longer asks for has no actor."""
    reason = reason_given(reason)
    positive(amount_minor)
    with transaction.atomic():
        invoice = locked(invoice)
        if invoice.status not in CREDITABLE_STATUSES:
            raise InvoiceNotOpen("Only an issued, partly paid or paid invoice can be credited.")
        if amount_minor > creditable_minor(invoice):
            raise Overpayment(f"The invoice can be credited {creditable_minor(invoice)} more (minor units).")
        freed = max(amount_minor - invoice.due_minor, 0)
        if freed and not refund_freed:
            raise CreditFreesPayment(
                f"This credit note frees {freed} (minor units) already paid: refund it with the credit note."
            )
        note = changed_by(
            CreditNote(
                number=next_number(Sequence.CREDIT_NOTE),
                invoice=invoice,
                amount_minor=amount_minor,
                reason=reason,
                by=history_user(actor),
                issued_at=timezone.now(),
            ),
            actor,
        )
        note.save()
        invoice.credited_minor += amount_minor - freed
        invoice.status = payment_status(invoice)
        changed_by(invoice, actor, reason=f"credit note {note.number}").save(update_fields=["credited_minor", "status"])
        if freed:
            _refund_freed(invoice, note, freed, actor=actor)
        publish(CreditNoteIssued(invoice.pk, note.pk, amount_minor, getattr(user_of(actor), "pk", None)))
    return note


def _refund_freed(invoice: Invoice, note: CreditNote, freed_minor: int, *, actor: Actor | None) -> None:
    """Give back ``freed_minor`` from the invoice's payments, newest first, each refund tied to ``note``."""
    payments = Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED).order_by("-received_at", "-pk")
    left = freed_minor
    for payment in payments:
        share = min(left, payment.amount_minor - payment.refunded_minor)
        if share <= 0:
            continue
        refund_add(payment, actor=actor, amount_minor=share, reason=f"{note.number}: {note.reason}", credit_note=note)
        left -= share
        if not left:
            return
    raise Overpayment("The payments have less left to refund than the credit note frees.")  # pragma: no cover
