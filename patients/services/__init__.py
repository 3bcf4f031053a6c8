"""Write use cases of the patient record. Each checks the actor's permission, runs in one
transaction, leaves a history row naming who, and an access-log row for the patient touched."""

from patients.models import DEMOGRAPHIC_FIELDS
from patients.services.care import (
    BREAK_GLASS_HOURS,
    break_glass_open,
    care_relation_grant,
    care_relation_withdraw,
    care_team_assign,
    care_team_unassign,
)
from patients.services.consent_forms import consent_form_record, consent_form_withdraw
from patients.services.identity import (
    consent_clear,
    consent_set,
    patient_create,
    patient_merge,
    patient_proved_by_code,
    patient_self_register,
    patient_update,
)
from patients.services.record import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    ICD10,
    addendum_add,
    attachment_add,
    diagnosis_add,
    encounter_close,
    encounter_open,
    follow_up_close,
    follow_up_create,
    note_create,
    note_sign,
    note_update,
    prescription_add,
)

__all__ = [
    "ATTACHMENT_MAX_BYTES",
    "ATTACHMENT_TYPES",
    "BREAK_GLASS_HOURS",
    "DEMOGRAPHIC_FIELDS",
    "ICD10",
    "addendum_add",
    "attachment_add",
    "break_glass_open",
    "care_relation_grant",
    "care_relation_withdraw",
    "care_team_assign",
    "care_team_unassign",
    "consent_clear",
    "consent_form_record",
    "consent_form_withdraw",
    "consent_set",
    "diagnosis_add",
    "encounter_close",
    "encounter_open",
    "follow_up_close",
    "follow_up_create",
    "note_create",
    "note_sign",
    "note_update",
    "patient_create",
    "patient_merge",
    "patient_proved_by_code",
    "patient_self_register",
    "patient_update",
    "prescription_add",
]
