"""The ledger's services, by job: invoices (raise, issue, void), payments and refunds, credit notes."""

from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.invoices import (
    LineIn,
    invoice_draft_create,
    invoice_issue,
    invoice_raise_for_appointment,
    invoice_void,
)
from invoicing.services.payments import payment_record, refund_record
from invoicing.services.profile import invoice_profile_update
from invoicing.services.tax import tax_rate_create

__all__ = [
    "LineIn",
    "credit_note_issue",
    "invoice_draft_create",
    "invoice_issue",
    "invoice_profile_update",
    "invoice_raise_for_appointment",
    "invoice_void",
    "payment_record",
    "refund_record",
    "tax_rate_create",
]
