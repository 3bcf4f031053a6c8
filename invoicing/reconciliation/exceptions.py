from config.errors import Conflict
from invoicing.reconciliation.error_codes import ReconciliationErrorCode


class MismatchAlreadyResolved(Conflict):
    code = ReconciliationErrorCode.MISMATCH_ALREADY_RESOLVED
    default_message = "This mismatch was resolved already."
