"""Credit notes: an issued invoice is never edited; what it should not have asked for is credited,
under a number of the credit notes' own gap-free sequence."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from config.events import publish
from invoicing.events import CreditNoteIssued
from invoicing.models import CreditNote, Invoice
from invoicing.services.invoices import locked_owing, positive, reason_given
from invoicing.services.numbering import Sequence, next_number
from invoicing.services.payments import payment_status
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize, user_of


def credit_note_issue(*, actor: Actor, invoice: Invoice, amount_minor: int, reason: str) -> CreditNote:
    """Credit part or all of what an issued invoice still asks for; more is refused (overpayment:
    refund a payment first). Crediting all that is left settles the invoice (paid)."""
    authorize(actor, "invoicing.manage_invoice", invoice)
    reason = reason_given(reason)
    positive(amount_minor)
    with transaction.atomic():
        invoice = locked_owing(invoice, amount_minor)
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
        invoice.credited_minor += amount_minor
        invoice.status = payment_status(invoice)
        changed_by(invoice, actor, reason=f"credit note {note.number}").save(update_fields=["credited_minor", "status"])
        publish(CreditNoteIssued(invoice.pk, note.pk, amount_minor, getattr(user_of(actor), "pk", None)))
    return note
