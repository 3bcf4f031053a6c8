"""Error codes of reconciliation."""

from enum import StrEnum


class ReconciliationErrorCode(StrEnum):
    # The mismatch was resolved already (by someone else, or a second click): its note stands.
    MISMATCH_ALREADY_RESOLVED = "mismatch_already_resolved"
    # Only a Stripe payment missing here can be recorded against an invoice (not a refund, nor a
    # difference of amount or currency, nor a charge Stripe lists without its payment intent).
    MISMATCH_NOT_RECORDABLE = "mismatch_not_recordable"
    # The ledger has a payment with this Stripe payment intent already: it is not recorded twice.
    STRIPE_PAYMENT_ALREADY_RECORDED = "stripe_payment_already_recorded"
