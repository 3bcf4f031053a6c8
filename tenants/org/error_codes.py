"""Error codes of a chain's organisation: branches, staff, invitations."""

from enum import StrEnum


class OrgErrorCode(StrEnum):
    BRANCH_NAME_TAKEN = "branch_name_taken"
    EMAIL_IN_USE = "email_in_use"
    INVITATION_INVALID = "invitation_invalid"
    INVITATION_NOT_PENDING = "invitation_not_pending"
    LAST_OWNER = "last_owner"
