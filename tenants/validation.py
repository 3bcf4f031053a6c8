"""Small value checks shared by the tenants services."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from django.conf.locale import LANG_INFO

# ISO 4217 codes of currencies in current use.
CURRENCIES = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)
PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset({"www", "api", "admin", "public", "static", "media", "app", "mail", "platform"})


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_error(value: str) -> str | None:
    return None if value in _timezones() else f"'{value}' is not a known IANA time zone."


def currency_error(value: str) -> str | None:
    return None if value in CURRENCIES else f"'{value}' is not an ISO 4217 currency code."


def locale_error(value: str) -> str | None:
    return None if value.lower() in LANG_INFO else f"'{value}' is not a supported locale."


def normalize_phone(value: str) -> str:
    """Strip spacing and punctuation people type; the result must be E.164 (+ and digits)."""
    return re.sub(r"[\s\-().]", "", value or "")


def phone_error(value: str) -> str | None:
    if not value:
        return None
    return None if PHONE_RE.match(value) else "Enter the number in international form, e.g. +44 20 7946 0000."


def slug_error(value: str) -> str | None:
    if value in RESERVED_SLUGS:
        return f"'{value}' is reserved."
    if not SLUG_RE.match(value):
        return "Use 3-40 lowercase letters, digits and hyphens, starting with a letter."
    return None


def collect(checks: dict[str, str | None]) -> dict[str, list[str]]:
    """{"field": error or None} -> {"field": [error]} for the fields that failed."""
    return {name: [msg] for name, msg in checks.items() if msg}
