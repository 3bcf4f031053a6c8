"""The error codes any endpoint can answer with, whatever module it belongs to (Saleor-style: one
enum per module, so the OpenAPI schema and the code read the same list). A module's own codes are
in its ``error_codes.py``; ``config.openapi`` documents both."""

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    VALIDATION_ERROR = "validation_error"
    MALFORMED_REQUEST = "malformed_request"
    BAD_REQUEST = "bad_request"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
