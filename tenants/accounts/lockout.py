"""Sign-in lock-out (django-axes) and what a locked-out login sees.

Failures are counted per (e-mail, client address): five wrong passwords for alice from address X
lock alice out at X only, so a stranger cannot lock a real person out from elsewhere. That alone
would let one address try a few passwords at every account (password spraying), so each address
also has a budget of failures across all accounts (LOGIN_FAILURES_PER_ADDRESS within the cool-off);
past it, every sign-in from that address is locked. Both budgets live in the chain's schema."""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.api import json_error
from tenants.accounts.exceptions import LoginLocked

LOCKED_MESSAGE = "Too many failed sign-in attempts. Try again in 15 minutes or reset your password."


class AddressBudgetHandler(AxesDatabaseHandler):
    """axes' database handler with the per-address budget on top of the per-(e-mail, address) count."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        per_login = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if per_login >= limit:
            return per_login
        per_address = (
            AccessAttempt.objects.filter(
                ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
                attempt_time__gte=get_cool_off_threshold(request),
            ).aggregate(total=Sum("failures_since_start"))["total"]
            or 0
        )
        # Spent: report the lock-out limit, so that axes locks this sign-in as it would any other.
        return limit if per_address >= settings.LOGIN_FAILURES_PER_ADDRESS else per_login


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The e-mail a sign-in is counted under, as accounts match it: trimmed and lower-cased, so that
    "Alice@X" and "alice@x" share one budget (sign-in matches e-mails case-insensitively)."""
    source: Any = credentials if credentials else request.POST
    value = source.get(settings.AXES_USERNAME_FORM_FIELD, "") if source else ""
    return str(value or "").strip().lower()


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(LoginLocked.status, LoginLocked.code, LOCKED_MESSAGE)
    return render(request, "registration/locked.html", {"message": LOCKED_MESSAGE}, status=429)
