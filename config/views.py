"""Error pages that answer in the API's format under /api/ and as pages elsewhere."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.api import json_error
from config.errors import BadRequest, CsrfFailed, NotFound, PermissionDenied, ServerError
from scheduling.fhir.outcomes import fhir_error

_PAGES = {
    400: (BadRequest.code, "Bad request", BadRequest.default_message),
    403: (PermissionDenied.code, "Not allowed", PermissionDenied.default_message),
    404: (NotFound.code, "Not found", "There is nothing at this address."),
    500: (ServerError.code, "Something went wrong", ServerError.default_message),
}


def _error(request: HttpRequest, status: int, exception: Any = None) -> HttpResponse:
    code, title, message = _PAGES[status]
    if request.path.startswith("/fhir/"):  # a FHIR client reads an OperationOutcome, whatever refused it
        return fhir_error(request, status, str(code), message, exception)
    if request.path.startswith("/api/"):
        return json_error(status, code, message)
    return render(request, "error.html", {"title": title, "message": message, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 400, exception)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 403)


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(CsrfFailed.status, CsrfFailed.code, CsrfFailed.default_message)
    ctx = {"title": "Form expired", "message": "Reload the page and try again.", "code": CsrfFailed.code}
    return render(request, "error.html", ctx, status=403)
