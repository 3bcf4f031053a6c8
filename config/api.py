"""API plumbing shared by every module: the error format, pagination, the permission helper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions as drf
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import (
    ApplicationError,
    AuthenticationFailed,
    MalformedRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Throttled,
    UnsupportedMediaType,
    ValidationFailed,
    error_body,
)

# DRF's own refusals, answered as the kernel's errors (and documented from the same classes).
DRF_ERRORS: dict[type[drf.APIException], type[ApplicationError]] = {
    drf.ParseError: MalformedRequest,
    drf.UnsupportedMediaType: UnsupportedMediaType,
    drf.NotAuthenticated: NotAuthenticated,
    drf.AuthenticationFailed: AuthenticationFailed,
    drf.PermissionDenied: PermissionDenied,
    drf.NotFound: NotFound,
    drf.MethodNotAllowed: MethodNotAllowed,
    drf.NotAcceptable: NotAcceptable,
    drf.Throttled: Throttled,
}


def validated(
    serializer_class: type[serializers.Serializer], request: Request, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a view was sent (the request's body, or `data` such as its query), checked by
    `serializer_class`: the validated fields, or a 400 validation_error naming each field refused."""
    serializer = serializer_class(data=request.data if data is None else data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into {"field.sub": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body(ValidationFailed.code, ValidationFailed.default_message, fields), status=400)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        response.data = error_body(ValidationFailed.code, ValidationFailed.default_message, _flatten(exc.detail))
        return response
    error = next((error for cls, error in DRF_ERRORS.items() if isinstance(exc, cls)), None)
    code, message = (
        (error.code, error.default_message)
        if error is not None
        else (getattr(exc, "default_code", "error"), "The request could not be handled.")
    )
    detail = getattr(exc, "detail", None)
    if isinstance(detail, str) and detail and detail != getattr(exc, "default_detail", None):
        message = str(detail)
    response.data = error_body(code, message)
    return response


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def paginated(view: Any, request: Any, queryset: Any, serializer_class: Any) -> Response:
    """Filter (the view's filterset_class), paginate and serialise a list for a GenericAPIView."""
    page = view.paginate_queryset(view.filter_queryset(queryset))
    return view.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)


# Documented as the strings it takes: `type: boolean` would have clients send JSON booleans it refuses.
@extend_schema_field({"type": "string", "enum": ["true", "false"]})
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """?flag=true|false; anything else is a 400, where django-filter's BooleanFilter would ignore it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)
