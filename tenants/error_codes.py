"""Error codes of the platform: clinic chains and their lifecycle."""

from enum import StrEnum


class TenantErrorCode(StrEnum):
    CLINIC_SLUG_TAKEN = "clinic_slug_taken"
    CLINIC_STATE_CONFLICT = "clinic_state_conflict"
    CLINIC_SUSPENDED = "clinic_suspended"
