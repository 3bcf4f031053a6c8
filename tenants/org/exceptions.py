from config.errors import Conflict, NotFound, ValidationFailed


class InvalidOrgData(ValidationFailed):
    """Field errors of the organisation services."""


class BranchNameTaken(Conflict):
    code = "branch_name_taken"
    default_message = "A branch with this name already exists."


class EmailInUse(Conflict):
    code = "email_in_use"
    default_message = "Someone in this clinic chain already uses this e-mail address."


class InvitationInvalid(NotFound):
    code = "invitation_invalid"
    default_message = "This invitation link is not valid."


class InvitationNotPending(Conflict):
    code = "invitation_not_pending"
    default_message = "This invitation has already been used, revoked or has expired."


class LastOwner(Conflict):
    code = "last_owner"
    default_message = "A clinic chain needs at least one active owner."
