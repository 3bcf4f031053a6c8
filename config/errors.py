"""The one error base of Clinicflow. Every module's exceptions.py subclasses it.

An ApplicationError carries a stable machine-readable ``code``, a human ``message``, optional
per-field messages, and the HTTP status the API answers with. The DRF exception handler in
``config.api`` and the page views both render it; nothing else decides how an error looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from config.error_codes import ErrorCode


@dataclass(frozen=True)
class Disclosure:
    """Records an error's answer shows (a duplicate warning names patients, a conflict list names
    appointments). Whoever renders the error writes them to the access log: the refused write's own
    transaction is rolled back, so the service cannot."""

    object_type: str
    object_ids: Sequence[int]
    patient_ids: Sequence[int | None]


class ApplicationError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = ErrorCode.INVALID_REQUEST
    default_message: ClassVar[str] = "The request is not valid."
    #: Every code an instance may carry, where the code is chosen per instance (BookingRefused names
    #: the rule that refused); empty means just ``code``. The OpenAPI schema documents these.
    codes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        disclosure: Disclosure | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.fields = fields or {}
        self.disclosure = disclosure
        super().__init__(self.message)

    def as_dict(self) -> dict[str, object]:
        return error_body(self.code, self.message, self.fields)


class ValidationFailed(ApplicationError):
    status = 400
    code: ClassVar[str] = ErrorCode.VALIDATION_ERROR
    default_message = "Some fields are not valid."


class NotAuthenticated(ApplicationError):
    status = 401
    code: ClassVar[str] = ErrorCode.NOT_AUTHENTICATED
    default_message = "Sign in first."


class PermissionDenied(ApplicationError):
    status = 403
    code: ClassVar[str] = ErrorCode.PERMISSION_DENIED
    default_message = "You are not allowed to do this."


class NotFound(ApplicationError):
    status = 404
    code: ClassVar[str] = ErrorCode.NOT_FOUND
    default_message = "Not found."


class Conflict(ApplicationError):
    status = 409
    code: ClassVar[str] = ErrorCode.CONFLICT
    default_message = "This conflicts with the current state."


class MalformedRequest(ApplicationError):
    """The body could not be parsed (bad JSON, nested too deeply)."""

    status = 400
    code: ClassVar[str] = ErrorCode.MALFORMED_REQUEST
    default_message = "The request body could not be parsed."


class BadRequest(ApplicationError):
    """Refused before any view ran (a NUL byte in the address, a request Django cannot read)."""

    status = 400
    code: ClassVar[str] = ErrorCode.BAD_REQUEST
    default_message = "The request could not be understood."


class UnsupportedMediaType(ApplicationError):
    status = 415
    code: ClassVar[str] = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    default_message = "Send the body as application/json."


class AuthenticationFailed(ApplicationError):
    status = 401
    code: ClassVar[str] = ErrorCode.AUTHENTICATION_FAILED
    default_message = "The credentials are not valid."


class CsrfFailed(PermissionDenied):
    code: ClassVar[str] = ErrorCode.CSRF_FAILED
    default_message = "CSRF check failed; send the X-CSRFToken header or use a token."


class MethodNotAllowed(ApplicationError):
    status = 405
    code: ClassVar[str] = ErrorCode.METHOD_NOT_ALLOWED
    default_message = "This method is not allowed here."


class NotAcceptable(ApplicationError):
    status = 406
    code: ClassVar[str] = ErrorCode.NOT_ACCEPTABLE
    default_message = "The requested format is not available."


class Throttled(ApplicationError):
    status = 429
    code: ClassVar[str] = ErrorCode.THROTTLED
    default_message = "Too many requests; try again later."


class ServerError(ApplicationError):
    status = 500
    code: ClassVar[str] = ErrorCode.SERVER_ERROR
    default_message = "The error was logged; try again in a moment."


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, object]:
    # Plain strings: codes are StrEnum members, which not every renderer (YAML) can write.
    return {"error": {"code": str(code), "message": str(message), "fields": fields or {}}}
