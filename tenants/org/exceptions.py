from config.errors import Conflict, NotFound, ValidationFailed
from tenants.org.error_codes import OrgErrorCode


class InvalidOrgData(ValidationFailed):
    """Field errors of the organisation services."""


class BranchNameTaken(Conflict):
    code = OrgErrorCode.BRANCH_NAME_TAKEN
    default_message = "A branch with this name already exists."


class EmailInUse(Conflict):
    code = OrgErrorCode.EMAIL_IN_USE
    default_message = "Someone in this clinic chain already uses this e-mail address."


class InvitationInvalid(NotFound):
    code = OrgErrorCode.INVITATION_INVALID
    default_message = "This invitation link is not valid."


class InvitationNotPending(Conflict):
    code = OrgErrorCode.INVITATION_NOT_PENDING
    default_message = "This invitation has already been used, revoked or has expired."


class LastOwner(Conflict):
    code = OrgErrorCode.LAST_OWNER
    default_message = "A clinic chain needs at least one active owner."
