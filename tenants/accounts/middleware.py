"""Page sessions fit for health data: they end after a spell of inactivity and after a fixed time
from sign-in, and a session that owes its second factor reaches nothing but the sign-in pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from config.api import json_error
from tenants.accounts.selectors import two_factor_enabled, two_factor_required
from tenants.selectors import current_schema

STARTED = "_session_started"
LAST_SEEN = "_session_last_seen"
# Stamping every request would write the session on every click; a minute's precision is enough.
STAMP_EVERY = 60
# The appointment book's live refresh sends this header (frontend/static/frontend/book.js): it is not
# the person's activity.
BACKGROUND_HEADER = "HTTP_X_CLINICFLOW_BACKGROUND"
# Paths whose own authentication decides (DRF: VerifiedSessionAuthentication), or that must stay
# reachable while the second factor is owed.
API_PREFIXES = ("/api/", "/fhir/")
OPEN_PREFIXES = (
    "/static/",
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password_reset/",
    "/accounts/reset/",
    "/accounts/two-factor/verify/",
    "/accounts/two-factor/recovery/",
    "/accounts/two-factor/setup/",
)


ENDED_MESSAGE = "Your session ended after a spell without activity, or at the end of its day. Sign in again."


def session_stamp(request: HttpRequest) -> None:
    """Start the clocks of a freshly signed-in session (user_logged_in)."""
    now = int(time.time())
    request.session[STARTED] = now
    request.session[LAST_SEEN] = now
    request.session.set_expiry(int(settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()))


def _away(
    request: HttpRequest, url: str, message: str, status: int = 401, code: str = "session_expired"
) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        return json_error(status, code, message)
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            now = int(time.time())
            started: int | None = session.get(STARTED)
            last_seen: int = session.get(LAST_SEEN) or started or now
            idle = int(settings.SESSION_IDLE_TIMEOUT.total_seconds())
            lifetime = int(settings.SESSION_ABSOLUTE_LIFETIME.total_seconds())
            if started is None:
                # A session from before these clocks (or a test's force_login): they start now.
                session_stamp(request)
            elif now - started >= lifetime or now - last_seen >= idle:
                logout(request)
                messages.warning(request, ENDED_MESSAGE)
                return _away(request, _login_url(request), "The session has ended. Sign in again.")
            elif not request.META.get(BACKGROUND_HEADER) and now - last_seen >= STAMP_EVERY:
                session[LAST_SEEN] = now
                # The idle limit is kept here, on the server; the cookie lives to the absolute limit
                # so that an idle session comes back to be ended with a word, not silently dropped.
                session.set_expiry(max(1, lifetime - (now - started)))
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request")
            and response.status_code == 302
            and response.get("Location", "").startswith(reverse("login"))
        ):
            # A signed-out page fragment (htmx) must not swap the sign-in page into the page
            # around it: the whole window goes to sign in.
            return _away(request, _login_url(request), "Sign in first.")
        return response


def _login_url(request: HttpRequest) -> str:
    # An htmx fragment's own address is no page to come back to: the page it was part of is.
    target = request.get_full_path()
    if request.headers.get("HX-Request") and request.headers.get("HX-Current-URL"):
        current = urlsplit(request.headers["HX-Current-URL"])
        target = current.path + (f"?{current.query}" if current.query else "")
    return f"{reverse('login')}?{urlencode({'next': target})}"


class TwoFactorMiddleware:
    """A signed-in person who owes a second factor (has an authenticator, or their role requires
    one) sees only the code page, or the set-up page when they have no authenticator yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        path = request.path
        if (
            user.is_authenticated
            and current_schema() != "public"
            and not path.startswith(OPEN_PREFIXES + API_PREFIXES)
            and not user.is_verified()  # type: ignore[union-attr,attr-defined]
        ):
            enabled = two_factor_enabled(user)  # type: ignore[arg-type]
            if enabled or two_factor_required(user):  # type: ignore[arg-type]
                target = reverse("two-factor-verify" if enabled else "two-factor-setup")
                url = f"{target}?{urlencode({'next': request.get_full_path()})}"
                return _away(request, url, "Finish two-factor sign-in first.", code="otp_required")
        return self.get_response(request)
