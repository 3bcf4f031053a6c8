from config.errors import Conflict, PermissionDenied, ValidationFailed
from tenants.error_codes import TenantErrorCode


class ClinicSlugTaken(Conflict):
    code = TenantErrorCode.CLINIC_SLUG_TAKEN
    default_message = "A clinic chain with this slug already exists."


class InvalidClinicData(ValidationFailed):
    """Field errors of a clinic chain; the code stays validation_error like every field error."""


class ClinicStateConflict(Conflict):
    code = TenantErrorCode.CLINIC_STATE_CONFLICT


class ClinicSuspended(PermissionDenied):
    """Every request to a suspended chain's site (tenants.middleware.ClinicStatusMiddleware)."""

    code = TenantErrorCode.CLINIC_SUSPENDED
    default_message = "This clinic chain is suspended. Contact Clinicflow support to restore access."
