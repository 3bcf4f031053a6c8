"""Value checks every module shares: time zones, currencies, locales, phone numbers, host names,
and the {"field": ["error"]} shape services raise them in. The kernel: imports no domain module."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from config.errors import ApplicationError
from config.money import currencies

PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset({"www", "api", "admin", "public", "static", "media", "app", "mail", "platform"})


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_error(value: str) -> str | None:
    return None if value in _timezones() else f"'{value}' is not a known IANA time zone."


def currency_error(value: str) -> str | None:
    return None if value in currencies() else f"'{value}' is not an ISO 4217 currency code in use."


def locale_error(value: str) -> str | None:
    return None if value.lower() in LANG_INFO else f"'{value}' is not a supported locale."


def normalize_phone(value: str) -> str:
    """Strip spacing and punctuation people type; the result must be E.164 (+ and digits)."""
    return re.sub(r"[\s\-().]", "", value or "")


def phone_error(value: str) -> str | None:
    if not value:
        return None
    return None if PHONE_RE.match(value) else "Enter the number in international form, e.g. +44 20 7946 0000."


def email_error(value: str) -> str | None:
    """An e-mail address as Django checks one (empty is not one: guard where it is optional)."""
    try:
        validate_email(value)
    except ValidationError:
        return "Enter a valid e-mail address."
    return None


def slug_error(value: str) -> str | None:
    """A chain's name in its host (slug.example): a DNS label, and none the platform serves itself."""
    if value in RESERVED_SLUGS:
        return f"'{value}' is reserved."
    if not SLUG_RE.match(value):
        return "Use 3-40 lowercase letters, digits and hyphens, starting with a letter."
    return None


def collect(checks: dict[str, str | None]) -> dict[str, list[str]]:
    """{"field": error or None} -> {"field": [error]} for the fields that failed."""
    return {name: [msg] for name, msg in checks.items() if msg}


def require_valid(error: type[ApplicationError], checks: dict[str, str | None]) -> None:
    """Raise ``error`` naming the fields whose check failed ({"field": error or None}), if any did."""
    errors = collect(checks)
    if errors:
        raise error(fields=errors)
