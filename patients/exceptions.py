from config.error_codes import ErrorCode
from config.errors import Conflict, PermissionDenied, ValidationFailed
from patients.error_codes import PatientErrorCode


class InvalidPatient(ValidationFailed):
    """Field errors of a patient record."""


class PossibleDuplicates(Conflict):
    code = PatientErrorCode.POSSIBLE_DUPLICATES
    default_message = "This looks like a patient who is already registered."


class MergeRefused(Conflict):
    code = PatientErrorCode.MERGE_REFUSED


class NoteLocked(Conflict):
    code = PatientErrorCode.NOTE_LOCKED
    default_message = "This note is signed and locked. Add an addendum instead."


class ClinicalAccessDenied(PermissionDenied):
    code = PatientErrorCode.CLINICAL_ACCESS_DENIED
    default_message = "You may not see this patient's clinical record."


class AttachmentRefused(ValidationFailed):
    code = ErrorCode.VALIDATION_ERROR


class FollowUpClosed(Conflict):
    code = PatientErrorCode.FOLLOW_UP_CLOSED
    default_message = "This follow-up is already closed."


class ConsentFormWithdrawn(Conflict):
    code = PatientErrorCode.CONSENT_FORM_WITHDRAWN
    default_message = "This consent form was already withdrawn."
