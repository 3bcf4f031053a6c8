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
from rest_framework import serializers
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


# The column holding the key (scheduling's CalendarEntry.idempotency_key) is 100 long; a test
# keeps the two equal (the kernel imports no module).
IDEMPOTENCY_KEY_MAX_LENGTH = 100
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH, "pattern": "^[!-~]+$"},
    OpenApiParameter.HEADER,
    description=(
        "Makes a retry safe. The key belongs to the user who sends it (another user's same key is another key) "
        "and is kept with the booking it made, for as long as that booking exists. The same key with the same "
        "body answers the first booking again without booking twice; with any other body it answers 409 "
        "`idempotency_key_reused`. Printable ASCII without spaces, at most 100 characters (longer or other "
        "characters: 400 `validation_error`)."
    ),
)


# What DRF's TimeField reads ("09:30", "09:30:00") and writes ("09:30:00"): a wall-clock time
# without a zone. OpenAPI's `format: time` is RFC 3339's full-time, which demands an offset.
TIME_SCHEMA = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
    "description": "Wall-clock time in the branch's zone, HH:MM or HH:MM:SS (answered as HH:MM:SS).",
    "example": "09:30:00",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's inspector, adding to each operation the error answers it can give."""

    def map_parsers(self) -> list[str]:
        # Bodies are documented as JSON only: a form encoding cannot carry what JSON bodies hold
        # (arrays, nesting, null). A view that takes no JSON (the multipart upload) keeps its own.
        media_types = super().map_parsers()
        return ["application/json"] if "application/json" in media_types else media_types

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        if isinstance(field, serializers.TimeField):
            schema: dict[str, Any] = dict(TIME_SCHEMA)
            if field.allow_null:
                schema["nullable"] = True
            return schema
        return super()._map_serializer_field(field, direction, bypass_extensions)

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
