from config.errors import Conflict, PermissionDenied, ValidationFailed


class InvalidPatient(ValidationFailed):
    """Field errors of a patient record."""


class PossibleDuplicates(Conflict):
    code = "possible_duplicates"
    default_message = "This looks like a patient who is already registered."


class MergeRefused(Conflict):
    code = "merge_refused"


class NoteLocked(Conflict):
    code = "note_locked"
    default_message = "This note is signed and locked. Add an addendum instead."


class ClinicalAccessDenied(PermissionDenied):
    code = "clinical_access_denied"
    default_message = "You may not see this patient's clinical record."


class AttachmentRefused(ValidationFailed):
    code = "validation_error"


class FollowUpClosed(Conflict):
    code = "follow_up_closed"
    default_message = "This follow-up is already closed."
