"""Charts drawn from tables: the figures a dashboard shows, as a ``Chart``, rendered by the part
``frontend/chart.html`` into a ``<figure>`` with its caption and a real table, from which
``frontend/static/frontend/charts.js`` draws the chart (Chart.js, from npm, under vendor/chartjs/).

The table is the truth: every figure is in a cell, its header says what it is and in which unit, the
cell reads as people read it ("£1,234.00", "87.5%") and carries the plain number the chart plots
(``data-value="1234.00"``). Screen-reader and keyboard users read the table; the chart is drawn
only when the browser can, and without script the table simply stays open.

A page builds a ``Chart`` in its view and includes the part::

    chart = Chart(
        caption="Visits by week",
        kind="line",
        label="Week",
        series=[Series("Visits"), Series("Previous period", comparison=True)],
        rows=[("3 Mar", [41, 38]), ("10 Mar", [45, None])],
    )
    {% include "frontend/chart.html" with chart=chart %}

Values: counts as numbers; money as integer minor units of ``currency`` (1234 GBP reads "£12.34");
shares as fractions of 1 (0.875 reads "87.5%"); None for a figure that does not exist (a dash in
the table, a gap in the chart). A chart with no rows, no series or no figure at all reads
"No figures for this period". A page that swaps charts in with htmx loads ``{% chart_assets %}``
itself, since htmx runs no script it swaps in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal, get_currency_symbol
from django import template
from django.db import connection
from django.templatetags.static import static
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import slugify
from django_tenants.utils import get_public_schema_name

from config.money import from_minor, money_format
from tenants.org.selectors import chain_settings_get

register = template.Library()

Kind = Literal["line", "bar", "stacked"]
Format = Literal["count", "money", "percent"]
Axis = Literal["left", "right"]
Number = int | float | Decimal

KINDS: frozenset[str] = frozenset({"line", "bar", "stacked"})
FORMATS: frozenset[str] = frozenset({"count", "money", "percent"})
EMPTY = "—"


@dataclass(frozen=True)
class Series:
    """One column of figures. ``comparison``: a previous period's, drawn dashed (a line) or hatched
    (a bar); ``axis``: "right" for a second scale (a share beside counts)."""

    label: str
    format: Format = "count"
    comparison: bool = False
    axis: Axis = "left"


@dataclass(frozen=True)
class Chart:
    """A chart and the table it is drawn from. ``label`` heads the first column (what each row
    is: "Week", "Doctor"); each row is that label and one value per series, in the series' order.
    ``locale`` is the chain's by default."""

    caption: str
    kind: Kind
    label: str
    series: Sequence[Series]
    rows: Sequence[tuple[str, Sequence[Number | None]]]
    currency: str = ""
    locale: str = ""


@dataclass(frozen=True)
class Cell:
    text: str
    value: str | None  # the plain number the chart plots; None: no figure


@dataclass(frozen=True)
class Column:
    header: str
    format: str
    comparison: bool
    axis: str


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[Cell]


@dataclass(frozen=True)
class Table:
    """A chart as the part renders it: headers with their units, cells as text and number."""

    id: str
    caption: str
    kind: str  # "" when the kind is unknown: the table is shown, no chart is drawn
    label: str
    locale: str  # BCP 47, for the browser's number formats ("en-GB")
    currency: str
    columns: list[Column] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def _babel_locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def _page_locale(chart_locale: str) -> str:
    """The chart's own locale, else the chain's (as the reconciliation report reads money), else the
    page's language (the public site has no chain)."""
    if chart_locale:
        return chart_locale
    if getattr(connection, "schema_name", None) not in (None, get_public_schema_name()):
        return chain_settings_get().locale
    return translation.get_language() or "en"


def _number(value: object) -> Decimal | None:
    """A figure as a Decimal; None for no figure, and for anything that is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    """A number as the chart reads it: no grouping, a dot, no exponent ("1234.5", "100")."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(share: Decimal, locale: Locale) -> str:
    """A share in the locale's own percent pattern with at most one decimal: "87.5%", "87,5 %"."""
    pattern = copy(locale.percent_formats[None])
    pattern.frac_prec = (0, 1)
    return str(pattern.apply(share, locale))


def _cell(value: object, fmt: str, currency: str, locale: Locale, locale_name: str) -> Cell:
    number = _number(value)
    if number is None:
        return Cell(EMPTY, None)
    if fmt == "money" and currency and number == number.to_integral_value():
        amount = int(number)
        return Cell(money_format(amount, currency, locale=locale_name), _plain(from_minor(amount, currency)))
    if fmt == "percent":
        return Cell(_percent(number, locale), _plain(round(number * 100, 4)))
    return Cell(format_decimal(number, locale=locale), _plain(number))


def _format(series: Series) -> str:
    return series.format if series.format in FORMATS else "count"


def _header(series: Series, currency: str, locale: Locale) -> str:
    if series.format == "money" and currency:
        return f"{series.label} ({get_currency_symbol(currency, locale=locale)})"
    if series.format == "percent":
        return f"{series.label} (%)"
    return str(series.label)


def _page_state(context: template.Context) -> dict[str, Any]:
    """What the parts on one page share: the outermost render context, which every include of the
    part sees (each include pushes a layer of its own on top of it)."""
    return cast(dict[str, Any], context.render_context.dicts[0])


def _unique_id(context: template.Context, caption: str) -> str:
    taken: set[str] = _page_state(context).setdefault("chart_ids", set())
    base = "chart-" + (slugify(caption)[:40] or "figures")
    chosen, n = base, 1
    while chosen in taken:
        n += 1
        chosen = f"{base}-{n}"
    taken.add(chosen)
    return chosen


@register.simple_tag(takes_context=True)
def chart_table(context: template.Context, chart: Any) -> Table | None:
    """The part's view of a Chart, or None when it has no figure to show. Anything that is not a
    Chart with rows and series is no figure: the page says so instead of failing."""
    series = [s for s in (getattr(chart, "series", None) or []) if isinstance(s, Series)]
    rows = getattr(chart, "rows", None) or []
    if not series or not rows:
        return None
    currency = str(getattr(chart, "currency", "") or "").upper()
    locale_name = _page_locale(str(getattr(chart, "locale", "") or ""))
    locale = _babel_locale(locale_name)
    table_rows = []
    for row in rows:
        try:
            label, values = row
            values = list(values)
        except (TypeError, ValueError):
            continue
        values = (values + [None] * len(series))[: len(series)]
        cells = [_cell(v, _format(s), currency, locale, locale_name) for v, s in zip(values, series, strict=True)]
        table_rows.append(Row(str(label), cells))
    if not any(cell.value is not None for row in table_rows for cell in row.cells):
        return None
    caption = str(getattr(chart, "caption", "") or "")
    kind = str(getattr(chart, "kind", ""))
    return Table(
        id=_unique_id(context, caption),
        caption=caption,
        kind=kind if kind in KINDS else "",
        label=str(getattr(chart, "label", "") or ""),
        locale=str(locale).replace("_", "-"),
        currency=currency,
        columns=[
            Column(
                header=_header(s, currency, locale),
                format=_format(s),
                comparison=bool(s.comparison),
                axis="right" if s.axis == "right" else "left",
            )
            for s in series
        ],
        rows=table_rows,
    )


@register.simple_tag(takes_context=True)
def chart_assets(context: template.Context) -> SafeString:
    """The chart's stylesheet and scripts, once per page however many charts it has (the CSP
    allows no inline script: charts.js draws every figure[data-chart] once the page is ready)."""
    outermost = _page_state(context)
    if outermost.get("chart_assets"):
        return SafeString("")
    outermost["chart_assets"] = True
    return format_html(
        '<link rel="stylesheet" href="{}">\n<script src="{}" defer></script>\n<script src="{}" defer></script>',
        static("frontend/charts.css"),
        static("vendor/chartjs/chart.umd.js"),
        static("frontend/charts.js"),
    )
