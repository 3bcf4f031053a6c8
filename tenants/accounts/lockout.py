"""What a locked-out login sees: the API error format for the API, a page for people."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.api import json_error

LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again in 15 minutes or reset your password."


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(429, "login_locked", LOCKED_MESSAGE)
    return render(request, "registration/locked.html", {"message": LOCKED_MESSAGE}, status=429)
