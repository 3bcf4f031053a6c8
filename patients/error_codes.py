"""Error codes of the patient record and the patient portal."""

from enum import StrEnum


class PatientErrorCode(StrEnum):
    POSSIBLE_DUPLICATES = "possible_duplicates"
    MERGE_REFUSED = "merge_refused"
    NOTE_LOCKED = "note_locked"
    CLINICAL_ACCESS_DENIED = "clinical_access_denied"
    FOLLOW_UP_CLOSED = "follow_up_closed"
    CONSENT_FORM_WITHDRAWN = "consent_form_withdrawn"
    # The portal's sign-in codes (patients.portal).
    TOO_MANY_CODES = "too_many_codes"
    TOO_MANY_TRIES = "too_many_tries"
    CODE_INVALID = "code_invalid"
