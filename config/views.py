"""Error pages that answer in the API's format under /api/ and as pages elsewhere."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.api import json_error

_PAGES = {
    400: ("bad_request", "Bad request", "The request could not be understood."),
    403: ("permission_denied", "Not allowed", "You are not allowed to do this."),
    404: ("not_found", "Not found", "There is nothing at this address."),
    500: ("server_error", "Something went wrong", "The error was logged; try again in a moment."),
}


def _error(request: HttpRequest, status: int) -> HttpResponse:
    code, title, message = _PAGES[status]
    if request.path.startswith("/api/") or request.path.startswith("/fhir/"):
        return json_error(status, code, message)
    return render(request, "error.html", {"title": title, "message": message, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 400)


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 403)


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(403, "csrf_failed", "CSRF check failed; send the X-CSRFToken header or use a token.")
    ctx = {"title": "Form expired", "message": "Reload the page and try again.", "code": "csrf_failed"}
    return render(request, "error.html", ctx, status=403)
