"""FHIR's refusals. Each is an ApplicationError with a stable code; scheduling.fhir.outcomes renders
it as an OperationOutcome whose issues carry the message, the field (`expression`) and the code."""

from __future__ import annotations

from enum import StrEnum

from config.errors import ApplicationError, NotFound, ValidationFailed


class FhirErrorCode(StrEnum):
    INVALID_SEARCH = "invalid_search"
    UNKNOWN_SEARCH_PARAMETER = "unknown_search_parameter"
    INVALID_RESOURCE = "invalid_resource"
    INVALID_REFERENCE = "invalid_reference"
    DURATION_MISMATCH = "duration_mismatch"
    STATUS_NOT_BOOKABLE = "status_not_bookable"
    RESOURCE_NOT_FOUND = "resource_not_found"
    NOT_ACCEPTABLE = "not_acceptable"


class InvalidSearch(ValidationFailed):
    """A search parameter's value cannot be read (an impossible date, a reference that is not one)."""

    code = FhirErrorCode.INVALID_SEARCH
    default_message = "A search parameter is not valid."


class UnknownSearchParameter(ValidationFailed):
    """Strict handling: a parameter the CapabilityStatement does not declare is refused, not ignored."""

    code = FhirErrorCode.UNKNOWN_SEARCH_PARAMETER
    default_message = "This server does not support that search parameter."


class InvalidResource(ValidationFailed):
    """A posted body is not a valid FHIR resource of the expected type, or lacks what we need."""

    code = FhirErrorCode.INVALID_RESOURCE
    default_message = "The resource is not valid."


class InvalidReference(ValidationFailed):
    """A posted resource refers to something that does not exist (or that the caller cannot see)."""

    code = FhirErrorCode.INVALID_REFERENCE
    default_message = "A reference does not resolve."


class Unprocessable(ApplicationError):
    """Valid FHIR that our rules refuse (FHIR's 422): a duration the service does not have."""

    status = 422
    code = FhirErrorCode.DURATION_MISMATCH
    default_message = "The resource breaks a rule of this server."


class ResourceNotFound(NotFound):
    code = FhirErrorCode.RESOURCE_NOT_FOUND
    default_message = "No such resource."


class NotAcceptable(ApplicationError):
    status = 406
    code = FhirErrorCode.NOT_ACCEPTABLE
    default_message = "This server answers in application/fhir+json only."
