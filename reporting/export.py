"""Reports as files people open in a spreadsheet: CSV (UTF-8 with a byte-order mark, so Excel reads
the accents) and XLSX (XlsxWriter), the same cells in both. The API's ``format=csv|xlsx`` and the
dashboards' export buttons answer with ``export_response``.

A column says what its values are (``Kind``), so each file shows them as people read them: money kept
in minor units as a decimal amount in the row's currency, a ratio as a percentage, a day as a date.

Formula injection: a CSV cell whose text begins with ``= + - @``, a tab or a carriage return is run as a
formula by Excel and LibreOffice, so a patient named ``=HYPERLINK(...)`` could make a manager's
spreadsheet call out. Such text is written with a leading ``'`` (OWASP's advice), which spreadsheets
show as text. In XLSX every text is written as a string cell, which no spreadsheet evaluates, so it is
left as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import xlsxwriter
from django.http import HttpResponse

from config.errors import ValidationFailed
from config.money import from_minor, minor_units


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    #: An amount in minor units; the row's currency (``Column.currency``) gives its decimals.
    MONEY = "money"
    #: A share (0.125) shown as a percentage (12.5%); None is an empty cell.
    RATIO = "ratio"
    DATE = "date"
    #: A wall-clock time (already in the zone it is to be read in; any tzinfo is dropped).
    DATETIME = "datetime"


@dataclass(frozen=True)
class Column:
    """One column: the row's ``key`` it shows, its ``header`` and its ``kind``. A money column reads its
    currency from the row's ``currency`` key."""

    key: str
    header: str
    kind: Kind = Kind.TEXT
    currency: str = "currency"


CONTENT_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: What a spreadsheet takes for the start of a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


#: A phone number or a signed number: nothing a spreadsheet could run, left as it is (a quote before
#: "+447700900662" would be dialled and imported with it).
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9 ().]*")


def neutralised(text: str) -> str:
    """Text a spreadsheet shows as it is instead of running it as a formula."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def export_filename(name: str, first: date, last: date) -> str:
    """A file name with the period in it: ``figures-branch_2026-05-01_2026-05-31`` (no extension)."""
    return f"{name}_{first.isoformat()}_{last.isoformat()}"


def safe_filename(name: str) -> str:
    """Letters, digits, dots, dashes and underscores only (a header cannot be split, a path cannot be
    climbed); never empty, never starting with a dot."""
    cleaned = _UNSAFE_IN_NAME.sub("-", name).strip(".-") or "report"
    return cleaned[:120]


def percentage(ratio: float | Decimal) -> Decimal:
    """0.1234 → 12.34 (the ratios have four decimals: reporting.selectors)."""
    return (Decimal(str(ratio)) * 100).quantize(Decimal("0.01"))


def _money(row: Mapping[str, Any], column: Column) -> Decimal | None:
    value = row.get(column.key)
    if value is None:
        return None
    return from_minor(int(value), str(row[column.currency]))


def csv_cell(row: Mapping[str, Any], column: Column) -> str:
    """How one value reads in the CSV file."""
    value = row.get(column.key)
    if value is None:
        return ""
    if column.kind == Kind.MONEY:
        return str(_money(row, column))
    if column.kind == Kind.RATIO:
        return f"{percentage(value)}%"
    if column.kind == Kind.INT:
        return str(int(value))
    if column.kind == Kind.DATE:
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if column.kind == Kind.DATETIME:
        return f"{value:%Y-%m-%d %H:%M}"
    return neutralised(str(value))


def csv_bytes(*, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralised(c.header) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row, c) for c in columns])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(*, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], title: str = "Report") -> bytes:
    out = io.BytesIO()
    # Text is never read as a formula, a number or a link: a cell is what the report says it is.
    book = xlsxwriter.Workbook(
        out,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    sheet = book.add_worksheet(safe_filename(title)[:31])
    header = book.add_format({"bold": True})
    ratio = book.add_format({"num_format": "0.00%"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    money_formats: dict[int, Any] = {}

    def money_format(currency: str) -> Any:
        units = minor_units(currency)
        if units not in money_formats:
            money_formats[units] = book.add_format({"num_format": "#,##0" + ("." + "0" * units if units else "")})
        return money_formats[units]

    widths = [max(len(c.header), 10) for c in columns]
    for x, column in enumerate(columns):
        sheet.write_string(0, x, column.header, header)
    y = 0
    for y, row in enumerate(rows, start=1):
        for x, column in enumerate(columns):
            value = row.get(column.key)
            if value is None:
                continue
            if column.kind == Kind.MONEY:
                currency = str(row[column.currency])
                # Excel keeps numbers as doubles; the format shows the currency's decimals.
                sheet.write_number(y, x, float(_money(row, column) or 0), money_format(currency))
            elif column.kind == Kind.RATIO:
                sheet.write_number(y, x, float(value), ratio)
            elif column.kind == Kind.INT:
                sheet.write_number(y, x, int(value))
            elif column.kind == Kind.DATE:
                sheet.write_datetime(y, x, value.date() if isinstance(value, datetime) else value, day)
            elif column.kind == Kind.DATETIME:
                sheet.write_datetime(y, x, value.replace(tzinfo=None), moment)
            else:
                text = str(value)
                widths[x] = max(widths[x], min(len(text), 60))
                sheet.write_string(y, x, text)
    for x, width in enumerate(widths):
        sheet.set_column(x, x, width + 2)
    sheet.freeze_panes(1, 0)
    if columns:
        sheet.autofilter(0, 0, max(y, 1), len(columns) - 1)
    book.close()
    return out.getvalue()


def export_format(value: str | None) -> Format:
    try:
        return Format(value or Format.CSV)
    except ValueError:
        raise ValidationFailed(
            "Choose csv or xlsx.", fields={"format": [f"Choose one of: {', '.join(Format)}."]}
        ) from None


def export_response(
    *, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], filename: str, fmt: str | Format
) -> HttpResponse:
    """The rows as a file to download: ``filename`` without its extension (made safe here), ``fmt``
    csv or xlsx (anything else: 400 validation_error on ``format``)."""
    chosen = export_format(fmt)
    name = safe_filename(filename)
    if chosen == Format.XLSX:
        body = xlsx_bytes(rows=rows, columns=columns, title=name.split("_", 1)[0])
    else:
        body = csv_bytes(rows=rows, columns=columns)
    response = HttpResponse(body, content_type=CONTENT_TYPES[chosen])
    response["Content-Disposition"] = f'attachment; filename="{name}.{chosen.value}"'
    # A report may name patients: no shared cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response


# --- the reports' columns (the API's exports and the dashboards' download links) ------------------

_PERIOD = [Column("from", "From", Kind.DATE), Column("to", "To", Kind.DATE)]
_RATIO_HEADERS = {
    "utilization": "Utilization",
    "no_show_rate": "No-show rate",
    "cancellation_rate": "Cancellation rate",
    "rebook_rate": "Rebook rate",
    "no_show_rate_reminded": "No-show rate, reminded",
    "no_show_rate_not_reminded": "No-show rate, not reminded",
}
_COUNT_HEADERS = {
    "bookings": "Bookings",
    "appointments": "Appointments not cancelled",
    "booked_minutes": "Booked minutes",
    "capacity_minutes": "Capacity minutes",
    "leave_minutes": "Leave minutes",
    "completed": "Completed",
    "no_shows": "No-shows",
    "outcomes": "Completed or missed",
    "cancelled": "Cancelled",
    "cancelled_late": "Cancelled late",
    "cancelled_early_patient": "Cancelled early by patient",
    "cancelled_early_clinic": "Cancelled early by clinic",
    "cancelled_late_patient": "Cancelled late by patient",
    "cancelled_late_clinic": "Cancelled late by clinic",
    "source_online": "Booked online",
    "source_walk_in": "Walk-ins",
    "source_phone": "Booked by phone",
    "source_waitlist": "From the waitlist",
    "source_staff": "Booked by staff",
    "new_patients": "New patients",
    "returning_patients": "Returning patients",
    "rebooked": "Rebooked",
    "outcomes_reminded": "Reminded (completed or missed)",
    "no_shows_reminded": "No-shows reminded",
}

FIGURE_COLUMNS = [
    *_PERIOD,
    Column("key", "Key"),
    Column("label", "Name"),
    *(Column(name, header, Kind.INT) for name, header in _COUNT_HEADERS.items()),
    *(Column(name, header, Kind.RATIO) for name, header in _RATIO_HEADERS.items()),
]

MONEY_COLUMNS = [
    *_PERIOD,
    Column("key", "Key"),
    Column("label", "Name"),
    Column("currency", "Currency"),
    Column("invoices", "Invoices", Kind.INT),
    Column("invoiced_minor", "Invoiced", Kind.MONEY),
    Column("credited_minor", "Credited", Kind.MONEY),
    Column("payments", "Payments", Kind.INT),
    Column("collected_minor", "Collected", Kind.MONEY),
    Column("refunds", "Refunds", Kind.INT),
    Column("refunded_minor", "Refunded", Kind.MONEY),
    Column("net_collected_minor", "Net collected", Kind.MONEY),
]

MESSAGE_COLUMNS = [
    *_PERIOD,
    Column("channel", "Channel"),
    Column("kind", "Kind"),
    Column("messages", "Written", Kind.INT),
    Column("sent", "Sent", Kind.INT),
    Column("delivered", "Delivered", Kind.INT),
    Column("failed", "Failed", Kind.INT),
    Column("delivery_rate", "Delivery rate", Kind.RATIO),
]

LOAD_COLUMNS = [
    *_PERIOD,
    Column("doctor", "Doctor"),
    Column("branch", "Branch"),
    Column("capacity_minutes", "Capacity minutes", Kind.INT),
    Column("booked_minutes", "Booked minutes", Kind.INT),
    Column("utilization", "Utilization", Kind.RATIO),
    Column("overloaded", "Overloaded"),
]


def period_rows(rows: Iterable[Mapping[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    """Rows with their period's days (a file of a period and the one before it says which is which);
    keys as text (an id or a day)."""
    out = []
    for row in rows:
        key = row.get("key")
        out.append(
            {
                **row,
                "from": first,
                "to": last,
                "key": key.isoformat() if isinstance(key, date) else ("" if key is None else str(key)),
            }
        )
    return out
