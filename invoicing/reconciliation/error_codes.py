"""Error codes of reconciliation."""

from enum import StrEnum


class ReconciliationErrorCode(StrEnum):
    # The mismatch was resolved already (by someone else, or a second click): its note stands.
    MISMATCH_ALREADY_RESOLVED = "mismatch_already_resolved"
