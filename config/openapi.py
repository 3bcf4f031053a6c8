"""How the OpenAPI schema documents errors: one mechanism for every operation of both sites.

Every error answer is the envelope ``{"error": {"code", "message", "fields"}}`` (component
``ErrorEnvelope``); each operation lists, per status, the codes it can answer with. Two sources:

- what every operation can answer, worked out here from the operation itself (``AutoSchema``):
  400 ``bad_request`` (a NUL byte in the address, refused before any view) on all of them; 400
  ``validation_error`` where there is a body or a parameter, ``malformed_request`` and 415 where there
  is a body; 401 and 403 where a credential is read or required; 404 for ids in the path and for
  paginated lists (a page past the end); 405; 406; 429 where DRF throttles apply;
- the view's own refusals, declared with the exception classes it lets through::

      @extend_schema(summary="Book an appointment", request=s.BookIn,
                     responses={201: s.EntryOut, **errors(BookingRefused, IdempotencyKeyReused)})

``errors`` groups the classes by status; an ``ApplicationError`` with ``codes`` (BookingRefused: every
rule of the engine) contributes all of them. Codes live in each module's ``error_codes.py`` enum and
the classes take their ``code`` from it, so what is documented is what is raised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from config.errors import (
    ApplicationError,
    AuthenticationFailed,
    BadRequest,
    CsrfFailed,
    MalformedRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Throttled,
    UnsupportedMediaType,
    ValidationFailed,
)

ENVELOPE = "ErrorEnvelope"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def codes_of(error: type[ApplicationError]) -> tuple[str, ...]:
    """Every code an error class can answer with."""
    return tuple(str(code) for code in (error.codes or (error.code,)))


def error_schema(codes: Iterable[str]) -> dict[str, Any]:
    """The envelope with ``error.code`` restricted to ``codes``."""
    return {
        "allOf": [
            {"$ref": f"#/components/schemas/{ENVELOPE}"},
            {
                "type": "object",
                "properties": {
                    "error": {"type": "object", "properties": {"code": {"type": "string", "enum": sorted(codes)}}}
                },
            },
        ]
    }


class ErrorResponse(OpenApiResponse):
    """The error answer of one status, with the codes it may carry."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = frozenset(codes)
        super().__init__(
            response=error_schema(self.codes), description="Refused: " + ", ".join(sorted(self.codes)) + "."
        )


def errors(*sources: type[ApplicationError]) -> dict[int, ErrorResponse]:
    """The responses of the given error classes, grouped by status, for ``extend_schema(responses=...)``."""
    grouped: dict[int, set[str]] = defaultdict(set)
    for error in sources:
        grouped[error.status].update(codes_of(error))
    return {status: ErrorResponse(codes) for status, codes in grouped.items()}


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description=(
        "Makes a retried request safe: the first request with a key does the work; a later one with the same key "
        "(from the same user) answers what the first did without doing it again. The same key with a different "
        "body answers 409 `idempotency_key_reused`. Printable ASCII, at most 100 characters."
    ),
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's inspector, adding to each operation the error answers it can give."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        grouped: dict[int, set[str]] = defaultdict(set)
        for error in self._generic_errors(operation):
            grouped[error.status].update(codes_of(error))
        declared = self.get_response_serializers()
        if isinstance(declared, dict):
            for status, response in declared.items():
                if isinstance(response, ErrorResponse):
                    grouped[int(status[0] if isinstance(status, tuple) else status)].update(response.codes)
        responses = operation.setdefault("responses", {})
        for status, codes in sorted(grouped.items()):
            responses[str(status)] = {
                "content": {"application/json": {"schema": error_schema(codes)}},
                "description": "Refused: " + ", ".join(sorted(codes)) + ".",
            }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _generic_errors(self, operation: dict[str, Any]) -> list[type[ApplicationError]]:
        view = self.view
        params = operation.get("parameters", [])
        has_body = "requestBody" in operation
        found: list[type[ApplicationError]] = [BadRequest, MethodNotAllowed, NotAcceptable]
        if has_body:
            found += [MalformedRequest, ValidationFailed, UnsupportedMediaType]
        elif any(p["in"] in ("query", "header") for p in params):
            found.append(ValidationFailed)
        if any(p["in"] == "path" for p in params) or self._get_paginator() is not None:
            found.append(NotFound)
        authenticators = view.get_authenticators()
        if authenticators:
            found.append(AuthenticationFailed)
            if self.method in _UNSAFE and any(isinstance(a, SessionAuthentication) for a in authenticators):
                found.append(CsrfFailed)
        if not all(isinstance(p, AllowAny) for p in view.get_permissions()):
            found += [NotAuthenticated, PermissionDenied]
        if view.get_throttles():
            found.append(Throttled)
        return found


def add_error_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the envelope every error response refers to."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ENVELOPE] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable and machine-readable; each operation lists the codes it can answer.",
                    },
                    "message": {"type": "string", "description": "For people; may change."},
                    "fields": {
                        "type": "object",
                        "description": "Per-field messages (`field` or `field.sub`), empty when none.",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    }
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
