"""Every FHIR error is an OperationOutcome (application/fhir+json) carrying the real message: one
issue per field message, with the field in `expression`, and the issue type that fits the status.
Used by the FHIR views and, for what never reaches a view (an unknown address under /fhir/, a NUL
byte refused by middleware), by the site's error handlers in config.views."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import BadRequest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions as drf

from config.errors import ApplicationError

MEDIA_TYPE = "application/fhir+json"
ERROR_SYSTEM = "urn:clinicflow:error"
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def issue_type(status: int) -> str:
    return ISSUE_TYPES.get(status, "exception" if status >= 500 else "processing")


def outcome(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None, *, severity: str = "error"
) -> dict[str, Any]:
    """An R4 OperationOutcome: the message, then one issue per field message (`expression` names the
    field: a search parameter, or a path in the posted resource)."""
    kind = issue_type(status)

    def issue(text: str, expression: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {
            "severity": severity,
            "code": kind,
            "details": {"coding": [{"system": ERROR_SYSTEM, "code": str(code)}], "text": text},
            "diagnostics": text,
        }
        if expression:
            found["expression"] = [expression]
        return found

    per_field = [(field, text) for field, texts in (fields or {}).items() for text in texts]
    issues = [issue(text, field) for field, text in per_field]
    if not any(text == message for _, text in per_field):
        issues.insert(0, issue(message))
    return {"resourceType": "OperationOutcome", "issue": issues}


def described(exc: Exception) -> tuple[int, str, str, dict[str, list[str]]] | None:
    """(status, code, message, field messages) of an exception a FHIR request may raise; None when
    it is not a refusal (a bug: left to the server error handler)."""
    if isinstance(exc, ApplicationError):
        return exc.status, str(exc.code), exc.message, exc.fields
    if isinstance(exc, Http404):
        return 404, "not_found", str(exc) or "No such resource.", {}
    if isinstance(exc, DjangoPermissionDenied):
        return 403, "permission_denied", str(exc) or "You are not allowed to do this.", {}
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        named = {field: texts for field, texts in fields.items() if field and field != "__all__"}
        general = [text for field, texts in fields.items() if field in ("", "__all__") for text in texts]
        return 400, "validation_error", " ".join(general) or "Some fields are not valid.", named
    if isinstance(exc, drf.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else str(exc.default_code)
        if isinstance(exc.detail, dict):
            fields = {
                str(key): [str(text) for text in (texts if isinstance(texts, list) else [texts])]
                for key, texts in exc.detail.items()
            }
            return exc.status_code, code, "Some fields are not valid.", fields
        if isinstance(exc.detail, list):
            return exc.status_code, code, " ".join(str(text) for text in exc.detail), {}
        return exc.status_code, code, str(exc.detail), {}
    return None


def fhir_error(request: HttpRequest, status: int, code: str, message: str, exception: object = None) -> HttpResponse:
    """What the site's error handlers answer under /fhir/ (no FHIR view ran): an unknown address, a
    request refused by middleware (a NUL byte), a server error."""
    if status == 404:
        message = f"Nothing is served at {request.path[:200]}; /fhir/R4/metadata lists what is."
    elif status == 400 and isinstance(exception, BadRequest) and str(exception):
        message = f"{str(exception)[:200]}."  # ours (config.middleware), not a SuspiciousOperation's details
    return HttpResponse(json.dumps(outcome(status, code, message)), status=status, content_type=MEDIA_TYPE)
