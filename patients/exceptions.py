from config.error_codes import ErrorCode
from config.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
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


class QueryTooShort(ValidationFailed):
    default_message = "Type at least three letters of a name."

    def __init__(self) -> None:
        super().__init__(fields={"q": [self.default_message]})


class TooManyCodes(ApplicationError):
    status = 429
    code = PatientErrorCode.TOO_MANY_CODES
    default_message = "Too many codes were asked for. Wait an hour, or call the clinic."


class TooManyTries(ApplicationError):
    status = 429
    code = PatientErrorCode.TOO_MANY_TRIES
    default_message = "Too many wrong codes were typed from here. Wait an hour, or call the clinic."


class CodeInvalid(ApplicationError):
    status = 400
    code = PatientErrorCode.CODE_INVALID
    default_message = "That code is not right or has expired. Ask for a new one."
