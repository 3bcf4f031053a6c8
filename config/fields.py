"""The one place where a client's text becomes a date, a date-time, an integer, an id or a token.

Every door of the API reads input through these: serializer fields (bodies and query-parameter
serializers), django-filter filters (list filters) and path converters. Each refuses, as a 4xx,
what Python would otherwise accept too kindly or choke on later:

- digits are ASCII only: ``int("٣")`` is 3 in Python, so an Arabic-Indic digit would name record 3;
- an id is a whole number: ``1.5``, ``1e0`` and ``true`` are not ids (Django would read them as 1);
- integers fit their column (int or bigint), or PostgreSQL answers with an error;
- dates and date-times are real (no minute 99, no February 30, offsets within ±18:00) and lie
  between EARLIEST and LATEST, so that the calendar's arithmetic (``day + timedelta``, a week from a
  day, a series of 52 occurrences 90 days apart) can never leave Python's date range;
- tokens and keys are printable ASCII, no longer than their column.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import BadRequest, ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# The calendar plans within these days. Wide enough for any birth date and any booking; narrow
# enough that no arithmetic on a day the API accepted overflows (Python's dates end at 9999-12-31).
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
INT_MAX = 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint

_INT = re.compile(r"[+-]?[0-9]{1,20}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_TOKEN = re.compile(r"[!-~]+")  # printable ASCII, no spaces
_MAX_OFFSET = timedelta(hours=18)


class InputError(ValueError):
    """A value a client sent that no field of ours accepts; ``message`` says why, for people."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# --- parsing: one rule per kind, shared by every door ---------------------------------------------
def parse_int(value: object, *, low: int = -INT_MAX - 1, high: int = INT_MAX) -> int:
    """A whole number written with ASCII digits (a JSON integer or such text), within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError("A whole number is required.")
    if isinstance(value, str):
        text = value.strip()
        if not _INT.fullmatch(text):
            raise InputError("A whole number is required, written with the digits 0-9.")
        value = int(text)
    if not low <= value <= high:
        raise InputError(f"Give a whole number from {low} to {high}.")
    return value


def _in_range(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise InputError(f"Give a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}.")


def parse_date(value: object) -> date:
    """A real calendar day as YYYY-MM-DD, between EARLIEST and LATEST."""
    if isinstance(value, datetime):
        raise InputError("A date is required, not a date-time.")
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise InputError("This date does not exist.") from exc
    else:
        raise InputError("Give a date as YYYY-MM-DD.")
    _in_range(day)
    return day


def parse_datetime(value: object) -> datetime:
    """A real ISO 8601 date-time with its UTC offset (Z or ±HH:MM, at most ±18:00), in range."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        match = _DATETIME.fullmatch(text)
        if match is None:
            raise InputError("Give a date-time as YYYY-MM-DDTHH:MM[:SS]±HH:MM, e.g. 2027-06-07T10:00:00+01:00.")
        if match["offset"] is None:
            raise InputError("Give the time with its UTC offset, e.g. 2027-06-07T10:00:00+01:00.")
        parse_date(match["date"])  # a real day within range, before any offset arithmetic
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:  # minute 99, February 30, offset +25:00
            raise InputError("This date-time does not exist.") from exc
    if timezone.is_naive(moment):
        raise InputError("Give the time with its UTC offset, e.g. 2027-06-07T10:00:00+01:00.")
    offset = moment.utcoffset()
    if offset is None or abs(offset) > _MAX_OFFSET:
        raise InputError("A UTC offset lies between -18:00 and +18:00.")
    _in_range(moment.date())
    # The instant, in UTC: PostgreSQL takes offsets only below 16:00, and nothing downstream may
    # read a local day from whatever offset the client chose (branches have their own zones).
    return moment.astimezone(UTC)


_AMOUNT = re.compile(r"(?P<whole>[0-9]{1,15})(?:\.(?P<fraction>[0-9]{1,6}))?")


def parse_amount(value: object, *, places: int, low: int = 1, high: int = BIGINT_MAX) -> int:
    """An amount of money people type in major units ("75", "75.5", "75.00" pounds) as the minor
    units every door keeps (7500 pence): ASCII digits, at most one decimal point and no more
    decimals than the currency has (``places``); no sign, exponent, separator or other digits
    (1E1, 1_0, full-width digits are refused, as the API's integer amounts refuse them). The
    result is range-checked by ``parse_int``, the API's rule for amounts in minor units."""
    text = value.strip() if isinstance(value, str) else None
    found = _AMOUNT.fullmatch(text) if text else None
    if found is None:
        raise InputError("Give an amount written with the digits 0-9 and a decimal point, e.g. 75.00.")
    fraction = found["fraction"] or ""
    if len(fraction) > places:
        raise InputError(f"Give at most {places} digits after the decimal point." if places else "Give a whole amount.")
    minor = found["whole"] + fraction.ljust(places, "0")
    try:
        return parse_int(minor.lstrip("0") or "0", low=low, high=high)
    except InputError as exc:
        raise InputError("The amount must be more than zero." if int(minor) < low else exc.message) from exc


def parse_token(value: object, *, max_length: int) -> str:
    """A token, key or link secret: printable ASCII without spaces, at most max_length long."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InputError("Use printable ASCII characters only, without spaces.")
    if len(value) > max_length:
        raise InputError(f"Use at most {max_length} characters.")
    return value


def pk_max(model: type[models.Model]) -> int:
    """The largest id the model's primary key column can hold."""
    pk = model._meta.pk
    small = pk is not None and pk.get_internal_type() in {"AutoField", "IntegerField", "SmallAutoField"}
    return INT_MAX if small else BIGINT_MAX


def max_length(model: type[models.Model], field: str) -> int:
    """The column's own limit, so that a serializer's length check can never drift from the model's."""
    length = model._meta.get_field(field).max_length  # type: ignore[union-attr]
    if length is None:
        raise ImproperlyConfigured(f"{model.__name__}.{field} has no max_length")
    return int(length)


# --- serializer fields ----------------------------------------------------------------------------
class _Strict:
    """to_internal_value through one parse function; an InputError becomes the field's message."""

    def _parsed(self, parse: Any, value: object, **kwargs: Any) -> Any:
        try:
            return parse(value, **kwargs)
        except InputError as exc:
            raise serializers.ValidationError(exc.message, code="invalid") from exc


class StrictIntegerField(_Strict, serializers.IntegerField):
    """An integer in a PostgreSQL integer column unless min_value/max_value narrow it."""

    def to_internal_value(self, data: Any) -> int:
        low = self.min_value if self.min_value is not None else -INT_MAX - 1
        high = self.max_value if self.max_value is not None else INT_MAX
        return int(self._parsed(parse_int, data, low=low, high=high))


class StrictDateField(_Strict, serializers.DateField):
    def to_internal_value(self, value: Any) -> date:
        return self._parsed(parse_date, value)  # type: ignore[no-any-return]


class StrictDateTimeField(_Strict, serializers.DateTimeField):
    """A date-time that must carry its UTC offset: a naive time is ambiguous across time zones."""

    def to_internal_value(self, value: Any) -> datetime:
        return self._parsed(parse_datetime, value)  # type: ignore[no-any-return]


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false, nothing else: DRF's BooleanField reads "yes", "on", 1 and "1" as true,
    which turns a typo into an override."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        raise serializers.ValidationError("Give true or false.", code="invalid")


class QueryBooleanField(serializers.BooleanField):
    """?flag=true|false: a query string's text for what a JSON body writes as true or false, and
    nothing else (as StrictBooleanFilter reads a filter's)."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if data in ("true", "false"):
            return bool(data == "true")
        raise serializers.ValidationError("Give true or false.", code="invalid")


def visible_text(value: str) -> bool:
    """Whether text shows anything: not only spaces (Unicode's Z categories), control characters
    (Cc), or invisible format characters (Cf: zero-width spaces, joiners, direction marks)."""
    return any(not ch.isspace() and unicodedata.category(ch)[0] not in "CZ" for ch in value)


_KEPT_FORMAT = {"\u200c", "\u200d"}  # zero-width (non-)joiners: part of how some scripts and emoji are written


def plain_text(value: str) -> str:
    """Free text a person typed (a reason, a note of one line), fit to store and to show: control
    characters (a NUL, which PostgreSQL cannot store; terminal escapes) and invisible format characters
    (direction overrides that turn the text around on the desk's screen) dropped, and each run of
    white space made one space."""
    kept = "".join(
        ch for ch in value if ch.isspace() or ch in _KEPT_FORMAT or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return " ".join(kept.split())


class StrictPrimaryKeyRelatedField(_Strict, serializers.PrimaryKeyRelatedField):  # type: ignore[type-arg]
    """A related row by its id; the id must be a whole number its column can hold."""

    def to_internal_value(self, data: Any) -> Any:
        model = self.get_queryset().model  # type: ignore[union-attr]  # every use declares a queryset
        pk = self._parsed(parse_int, data, low=1, high=pk_max(model))
        return super().to_internal_value(pk)


class IdListField(serializers.ListField):
    """A list of ids of `model`."""

    def __init__(self, model: type[models.Model], **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 500)
        super().__init__(child=StrictIntegerField(min_value=1, max_value=pk_max(model)), **kwargs)


class TokenField(_Strict, serializers.CharField):
    """A token or key: printable ASCII, no longer than max_length (required: the column's)."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return self._parsed(parse_token, data, max_length=self.max_length or 0)  # type: ignore[no-any-return]


# --- form fields and filters (query parameters of list endpoints) --------------------------------
class _StrictFormField(forms.Field):
    parse: Any = None

    def __init__(self, *args: Any, parse_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        self.parse_kwargs = parse_kwargs or {}
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            return type(self).parse(value, **self.parse_kwargs)
        except InputError as exc:
            raise forms.ValidationError(exc.message, code="invalid") from exc


class IdFormField(_StrictFormField):
    parse = staticmethod(parse_int)


class AmountFormField(_StrictFormField):
    """An amount typed on a page in the currency's major units, cleaned to minor units by
    ``parse_amount`` (``places``: the currency's decimals, config.money.minor_units)."""

    parse = staticmethod(parse_amount)
    widget = forms.TextInput

    def __init__(self, *args: Any, places: int, **kwargs: Any) -> None:
        super().__init__(*args, parse_kwargs={"places": places}, **kwargs)
        self.widget.attrs |= {"inputmode": "decimal", "autocomplete": "off"}


class DateTimeFormField(_StrictFormField):
    parse = staticmethod(parse_datetime)


class DateFormField(_StrictFormField):
    parse = staticmethod(parse_date)


# The schema types are declared: drf-spectacular cannot guess them from a custom form field.
@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    """?doctor=12: an id its column can hold (ASCII digits, no fractions, no exponents)."""

    field_class = IdFormField

    def __init__(self, *args: Any, high: int = BIGINT_MAX, **kwargs: Any) -> None:
        kwargs.setdefault("parse_kwargs", {"low": 1, "high": high})
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.Filter):
    """?weekday=3: an integer within an int column."""

    field_class = IdFormField


@extend_schema_field(OpenApiTypes.DATETIME)  # the schema cannot guess it from a range column
class DateTimeFilter(django_filters.Filter):
    field_class = DateTimeFormField


@extend_schema_field(OpenApiTypes.DATE)
class DateFilter(django_filters.Filter):
    field_class = DateFormField


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose generated filters read ids, integers and dates strictly."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.AutoField: {"filter_class": IdFilter},
        models.BigAutoField: {"filter_class": IdFilter},
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.IntegerField: {"filter_class": IntegerFilter},
        models.SmallIntegerField: {"filter_class": IntegerFilter},
        models.PositiveSmallIntegerField: {"filter_class": IntegerFilter},
        models.PositiveIntegerField: {"filter_class": IntegerFilter},
        models.BigIntegerField: {"filter_class": IntegerFilter},
        models.DateField: {"filter_class": DateFilter},
        models.DateTimeField: {"filter_class": DateTimeFilter},
    }


class StrictFilterBackend(DjangoFilterBackend):
    """DRF's filter backend building `filterset_fields` on StrictFilterSet; a bad parameter is a 400."""

    filterset_base = StrictFilterSet


# --- path converters ------------------------------------------------------------------------------
class IsoDateConverter:
    """<isodate:day>. A day that does not exist (2027-02-30) names nothing: 404. A real day outside
    the calendar's range is refused with a 400 before any view adds a week to it."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> date:
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(value) from exc
        try:
            _in_range(day)
        except InputError as exc:
            raise BadRequest(exc.message) from exc
        return day

    def to_url(self, value: date) -> str:
        return value.isoformat()
