from config.errors import Conflict
from invoicing.reconciliation.error_codes import ReconciliationErrorCode


class MismatchAlreadyResolved(Conflict):
    code = ReconciliationErrorCode.MISMATCH_ALREADY_RESOLVED
    default_message = "This mismatch was resolved already."


class MismatchNotRecordable(Conflict):
    code = ReconciliationErrorCode.MISMATCH_NOT_RECORDABLE
    default_message = "Only a Stripe payment missing here can be recorded against an invoice."


class StripePaymentAlreadyRecorded(Conflict):
    code = ReconciliationErrorCode.STRIPE_PAYMENT_ALREADY_RECORDED
    default_message = "This Stripe payment is recorded here already."
