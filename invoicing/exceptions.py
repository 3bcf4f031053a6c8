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


class AlreadyInvoiced(Conflict):
    code = InvoicingErrorCode.ALREADY_INVOICED
    default_message = "This visit has an invoice already."


class NotInvoiceable(Conflict):
    code = InvoicingErrorCode.NOT_INVOICEABLE
    default_message = "Only a completed visit of a patient can be invoiced."


class PaymentMethodNotRecordable(ValidationFailed):
    code = InvoicingErrorCode.PAYMENT_METHOD_NOT_RECORDABLE
    default_message = "Only cash and card-terminal payments are recorded at the desk."
