"""Currencies and amounts, from the Unicode CLDR data Babel keeps (never a hand-written table):
which ISO 4217 codes are legal tender somewhere today, what each is called, how many minor units
it has, and how an amount reads in a locale. The kernel: imports no domain module."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import format_currency, get_currency_name, get_currency_precision, get_territory_currencies

DEFAULT_LOCALE = "en"


@cache
def _currencies_on(day: date) -> frozenset[str]:
    territories = get_global("territory_currencies")
    return frozenset(code for t in territories for code in get_territory_currencies(t, day, tender=True))


def currencies(*, on: date | None = None) -> frozenset[str]:
    """The ISO 4217 codes some territory uses as legal tender on `on` (today by default): a code
    that was retired (ANG, ZWL) is not offered; its successor (XCG, ZWG) is."""
    return _currencies_on(on or date.today())  # noqa: DTZ011 - a calendar day, any zone will do


def _locale(locale: str | None) -> Locale:
    """A Django language code (en-gb) or a POSIX one (en_GB) as Babel's Locale; English if unknown."""
    try:
        return Locale.parse((locale or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def currency_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """(code, "code - name") for every currency in use, by code: a form's choices."""
    where = _locale(locale)
    return [(code, f"{code} - {get_currency_name(code, locale=where)}") for code in sorted(currencies())]


def minor_units(currency: str) -> int:
    """How many digits follow the decimal point: 2 for GBP, 0 for JPY, 3 for KWD."""
    return int(get_currency_precision(currency))


def money_format(amount_minor: int, currency: str, *, locale: str | None = None) -> str:
    """An amount kept in minor units (pence, cents, yen) as people read it: 12345 GBP in en-gb is
    "£123.45", 1200 JPY in ja is "￥1,200"."""
    amount = Decimal(amount_minor).scaleb(-minor_units(currency))
    return str(format_currency(amount, currency, locale=_locale(locale)))


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount people type (75.00 pounds) as kept (7500 pence); it must not have more decimals
    than the currency's minor units (the caller validates that)."""
    return int(amount.scaleb(minor_units(currency)))


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """An amount kept in minor units as people type it, with as many decimals as the currency has:
    7500 GBP is Decimal("75.00"), 1200 JPY is Decimal("1200")."""
    units = minor_units(currency)
    return Decimal(amount_minor).scaleb(-units).quantize(Decimal(1).scaleb(-units))
