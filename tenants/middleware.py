from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.api import json_error
from tenants.exceptions import ClinicSuspended

SUSPENDED_MESSAGE = ClinicSuspended.default_message


class ClinicStatusMiddleware:
    """A suspended chain answers every request with 403 clinic_suspended; its data stays intact."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is not None and getattr(tenant, "is_suspended", False):
            if request.path.startswith("/api/"):
                return json_error(ClinicSuspended.status, ClinicSuspended.code, SUSPENDED_MESSAGE)
            return render(request, "suspended.html", {"message": SUSPENDED_MESSAGE}, status=403)
        return self.get_response(request)
