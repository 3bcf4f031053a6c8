"""Error codes of the ledger."""

from enum import StrEnum


class InvoicingErrorCode(StrEnum):
    # An invoice's status does not allow the change (issuing an issued one, paying a void one).
    INVOICE_NOT_OPEN = "invoice_not_open"
    # Voiding an invoice that has payments: refund them and issue a credit note instead.
    INVOICE_HAS_PAYMENTS = "invoice_has_payments"
    # More than the invoice still asks for (a payment or a credit note).
    OVERPAYMENT = "overpayment"
    # More than was paid and not yet refunded.
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    # ledger14: a credit note for more than is still owed frees money already paid: it is issued
    # only with the refund of what it frees (refund_freed), never leaving money paid for nothing.
    CREDIT_FREES_PAYMENT = "credit_frees_payment"
    # The visit has an invoice already, or is not one that can be invoiced.
    ALREADY_INVOICED = "already_invoiced"
    NOT_INVOICEABLE = "not_invoiceable"
    # Only cash and card-terminal payments are recorded by hand.
    PAYMENT_METHOD_NOT_RECORDABLE = "payment_method_not_recordable"
    # --- fees12: cards on file and fees
    # The payment method is not a card, or belongs to another customer than the patient's.
    CARD_NOT_USABLE = "card_not_usable"
    # The patient has no card on file (nothing to remove).
    NO_CARD_ON_FILE = "no_card_on_file"
    # A fee charge in this state cannot be retried (it succeeded, is being charged, or was waived).
    FEE_NOT_RETRYABLE = "fee_not_retryable"
    # A fee that was charged, or is being charged, cannot be waived (refund it instead).
    FEE_NOT_WAIVABLE = "fee_not_waivable"
    # --- walk14c: a link to save a card
    # The patient has no e-mail address on file to send the link to (copy the link, or add one).
    PATIENT_HAS_NO_EMAIL = "patient_has_no_email"
