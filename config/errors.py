"""The one error base of Clinicflow. Every module's exceptions.py subclasses it.

An ApplicationError carries a stable machine-readable ``code``, a human ``message``, optional
per-field messages, and the HTTP status the API answers with. The DRF exception handler in
``config.api`` and the page views both render it; nothing else decides how an error looks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


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
    code: ClassVar[str] = "invalid_request"
    default_message: ClassVar[str] = "The request is not valid."

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
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(ApplicationError):
    status = 400
    code = "validation_error"
    default_message = "Some fields are not valid."


class NotAuthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"
    default_message = "Sign in first."


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"
    default_message = "You are not allowed to do this."


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    default_message = "This conflicts with the current state."


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}
