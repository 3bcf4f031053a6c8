"""Value checks every module shares: time zones, currencies, locales, phone numbers, host names,
and the {"field": ["error"]} shape services raise them in. The kernel: imports no domain module."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from functools import cache

import phonenumbers
from babel.core import get_global
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from config.errors import ApplicationError
from config.money import currencies

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


PHONE_EXAMPLE = "+44 20 7946 0958"
MOBILE_EXAMPLE = "+44 7911 123456"
# What libphonenumber calls a number that can take an SMS: a mobile, or (where the plan does not
# tell them apart, as in North America) a number that may be either.
MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})


def phone_region(*, timezones: Iterable[str | None] = (), locale: str = "") -> str | None:
    """The country a number typed in national form is read in: that of the first time zone that lies in
    one (the branch's, then the chain's: Europe/London is GB, UTC is none), else the locale's territory
    (en-gb: GB); None when neither says, and then only international numbers are taken."""
    territories: Mapping[str, str] = get_global("zone_territories")
    for name in timezones:
        if name and territories.get(name, "001") != "001":
            return territories[name]
    _, _, territory = locale.replace("_", "-").partition("-")
    return territory.upper() if len(territory) == 2 and territory.isalpha() else None


def phone_e164(value: str, *, region: str | None, mobile: bool = False) -> str:
    """The one reading of a phone number people type, for the API and the pages alike: national form
    ("020 7946 0958", read in ``region``) or international ("+44 20 7946 0958", "0044 ..."), with any
    spacing and punctuation, in E.164 ("+442079460958"); "" for nothing typed; ValueError with the
    message a person reads otherwise.

    A number is taken when it has a length the country's numbers have (libphonenumber's "possible"),
    not only when its range is known to be issued: ranges are issued faster than the library's
    metadata is updated, and refusing a branch's real number is worse than keeping one unusual.
    A ``mobile`` (what the clinic texts: a patient's mobile, an SMS code) must be more: a number
    libphonenumber knows as issued and able to take an SMS (MOBILE_TYPES), or a slip of a digit
    would be stored and every reminder lost."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        if region is None and exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise ValueError(f"Enter the number in international form, e.g. {PHONE_EXAMPLE}.") from exc
        raise ValueError(f"This is not a phone number. Enter it as you would dial it, e.g. {PHONE_EXAMPLE}.") from exc
    # Only a number dialable from anywhere: libphonenumber also calls "1234" possible, as a local
    # number of some area (IS_POSSIBLE_LOCAL_ONLY), which no SMS or call from the clinic can reach.
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(
            f"This phone number has too few or too many digits. Enter it as you would dial it, e.g. {PHONE_EXAMPLE}."
        )
    if mobile and not (phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in MOBILE_TYPES):
        raise ValueError(
            f"This is not a mobile number. Enter a number that can receive text messages, e.g. {MOBILE_EXAMPLE}."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_shown(value: str, *, region: str | None) -> str:
    """A number stored in E.164 as people here read and dial it: in the national form of ``region``
    when it is one of that country's ("+447946000008" in GB: "07946 000008"), in international form
    otherwise ("+33 1 23 45 67 89"); anything that does not read as a number, as stored."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    national = region is not None and phonenumbers.region_code_for_number(number) == region
    style = phonenumbers.PhoneNumberFormat.NATIONAL if national else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def phone_checked(value: str, *, region: str | None) -> tuple[str, str | None]:
    """(the number in E.164, None), or (the text as typed, why it is not a number): for services that
    collect every field's error before refusing."""
    try:
        return phone_e164(value, region=region), None
    except ValueError as exc:
        return (value or "").strip(), str(exc)


def email_error(value: str) -> str | None:
    """An e-mail address as Django checks one (empty is not one: guard where it is optional)."""
    try:
        validate_email(value)
    except ValidationError:
        return "Enter a valid e-mail address."
    return None


def name_error(value: str, *, empty: str = "The name cannot be empty.") -> str | None:
    """A name people and messages show on one line (a chain, branch, room, service, a person): not
    empty, and no line break, tab or other control or invisible format character. A line break in a
    name would end an e-mail's subject header or the line a text puts it on, so it is refused where
    the name is typed, for the API and the pages alike. (The zero-width joiners some scripts and
    emoji are written with stay allowed.)"""
    text = value.strip()
    if not text:
        return empty
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\u200c\u200d" for ch in text):
        return "A name is one line: no line breaks, tabs or other control characters."
    return None


def text_error(value: str, *, limit: int, empty: str) -> str | None:
    """A short text people write to a patient (an answer to an SMS): lines of plain text, not empty
    once invisible characters are set aside, at most ``limit`` characters, and no NUL, escape or
    other control, invisible format or private-use character (they would reach the patient's phone
    as typed); a text of nothing a reader sees (spaces, marks alone, blank letters) is empty."""
    text = value.strip()
    if not text or not any(_shows(ch) for ch in text):
        return empty
    if len(text) > limit:
        return f"Write at most {limit} characters."
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Zl", "Zp") and ch not in "\n\r\u200c\u200d" for ch in text):
        return "Write plain text: no control or invisible characters."
    return None


#: Letters and symbols that are drawn as nothing (Hangul fillers, the blank Braille pattern).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows(ch: str) -> bool:
    """Whether a character is drawn as something a reader sees: a letter, digit, punctuation or
    symbol (not a space, a mark alone, a format or private character, nor a blank letter)."""
    return unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK


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
