from config.errors import Conflict, ValidationFailed
from tenants.error_codes import TenantErrorCode


class ClinicSlugTaken(Conflict):
    code = TenantErrorCode.CLINIC_SLUG_TAKEN
    default_message = "A clinic chain with this slug already exists."


class InvalidClinicData(ValidationFailed):
    """Field errors of a clinic chain; the code stays validation_error like every field error."""


class ClinicStateConflict(Conflict):
    code = TenantErrorCode.CLINIC_STATE_CONFLICT
