from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.errors import ApplicationError, NotAuthenticated


class ApplicationErrorPageMiddleware:
    """A service error raised under a page becomes a page with the error's status, code and message.
    (The API renders the same errors as JSON through its exception handler.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, ApplicationError) or request.path.startswith("/api/"):
            return None
        if isinstance(exc, NotAuthenticated):
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        titles = {403: "Not allowed", 404: "Not found", 409: "Conflict"}
        context = {"title": titles.get(exc.status, "Something is wrong"), "message": exc.message, "code": exc.code}
        return render(request, "error.html", context, status=exc.status)
