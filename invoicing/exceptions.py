from __future__ import annotations

from config.errors import Conflict, ValidationFailed
from invoicing.error_codes import InvoicingErrorCode


class InvoiceNotOpen(Conflict):
    code = InvoicingErrorCode.INVOICE_NOT_OPEN
    default_message = "The invoice's status does not allow this."


class InvoiceHasPayments(Conflict):
    code = InvoicingErrorCode.INVOICE_HAS_PAYMENTS
    default_message = "An invoice with payments cannot be voided: refund the payments and issue a credit note."


class Overpayment(Conflict):
    code = InvoicingErrorCode.OVERPAYMENT
    default_message = "That is more than the invoice still asks for."


class RefundExceedsPaid(Conflict):
    code = InvoicingErrorCode.REFUND_EXCEEDS_PAID
    default_message = "That is more than was paid and not yet refunded."


class CreditFreesPayment(Conflict):
    code = InvoicingErrorCode.CREDIT_FREES_PAYMENT
    default_message = (
        "That credits money the patient has already paid: choose to refund what the credit note frees, or credit less."
    )


class AlreadyInvoiced(Conflict):
    code = InvoicingErrorCode.ALREADY_INVOICED
    default_message = "This visit has an invoice already."


class NotInvoiceable(Conflict):
    code = InvoicingErrorCode.NOT_INVOICEABLE
    default_message = "Only a completed visit of a patient can be invoiced."


class PaymentMethodNotRecordable(ValidationFailed):
    code = InvoicingErrorCode.PAYMENT_METHOD_NOT_RECORDABLE
    default_message = "Only cash and card-terminal payments are recorded at the desk."


# --- fees12: cards on file and fees
class CardNotUsable(Conflict):
    code = InvoicingErrorCode.CARD_NOT_USABLE
    default_message = "That payment method is not a card of this patient's."


class NoCardOnFile(Conflict):
    code = InvoicingErrorCode.NO_CARD_ON_FILE
    default_message = "The patient has no card on file."


class FeeNotRetryable(Conflict):
    code = InvoicingErrorCode.FEE_NOT_RETRYABLE
    default_message = "Only a failed fee charge, or one waiting for a card, can be tried again."


class FeeNotWaivable(Conflict):
    code = InvoicingErrorCode.FEE_NOT_WAIVABLE
    default_message = "A fee that was charged or is being charged cannot be waived: refund it instead."


# --- walk14c: a link to save a card
class PatientHasNoEmail(Conflict):
    code = InvoicingErrorCode.PATIENT_HAS_NO_EMAIL
    default_message = "The patient has no e-mail address on file: add one, or give them the link another way."
