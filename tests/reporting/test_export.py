"""Reports as CSV and XLSX files (reporting.export): what a spreadsheet opens is what the report says,
and no cell of it runs as a formula."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from config.errors import ValidationFailed
from reporting.export import Column, Kind, export_filename, export_response, neutralised, safe_filename

# A day of the last century: the files show whatever day they are given, so no test depends on the run's date.
DAY = date(1999, 12, 31)
# A wall-clock time in the branch's zone (as the appointments list gives it).
START = datetime(1999, 12, 31, 9, 30, tzinfo=ZoneInfo("Europe/Zurich"))

COLUMNS = [
    Column("label", "Branch"),
    Column("completed", "Completed", Kind.INT),
    Column("invoiced_minor", "Invoiced", Kind.MONEY),
    Column("no_show_rate", "No-show rate", Kind.RATIO),
    Column("day", "Day", Kind.DATE),
    Column("start", "Start", Kind.DATETIME),
    Column("currency", "Currency"),
]

ROWS = [
    {
        "label": "Zürich Nord — Praxis",
        "completed": 42,
        "invoiced_minor": 1234567,
        "no_show_rate": 0.125,
        "day": DAY,
        "start": START,
        "currency": "CHF",
    },
    {
        "label": '=HYPERLINK("http://evil.example","click")',
        "completed": 0,
        "invoiced_minor": 1200,
        "no_show_rate": None,
        "day": DAY,
        "start": None,
        "currency": "JPY",
    },
    {"label": "+A1*2", "completed": 3, "invoiced_minor": -500, "no_show_rate": 0.0, "day": DAY, "currency": "KWD"},
    {"label": "-2+3", "completed": 1, "invoiced_minor": 0, "no_show_rate": 1.0, "day": DAY, "currency": "GBP"},
    {"label": "@SUM(A1)", "completed": 1, "invoiced_minor": 1, "no_show_rate": 0.3333, "day": DAY, "currency": "GBP"},
    {"label": "\tTab", "completed": 1, "invoiced_minor": 1, "day": DAY, "currency": "GBP"},
    {"label": "\rReturn", "completed": 1, "invoiced_minor": 1, "day": DAY, "currency": "GBP"},
    {"label": "Plain, with a comma\nand a line", "completed": 1, "invoiced_minor": 1, "day": DAY, "currency": "GBP"},
]


def _csv(response) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_round_trip_shows_each_kind_as_people_read_it():
    # when
    response = export_response(rows=ROWS, columns=COLUMNS, filename=export_filename("figures", DAY, DAY), fmt="csv")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="figures_1999-12-31_1999-12-31.csv"'
    assert response["Cache-Control"] == "private, no-store"
    table = _csv(response)
    assert table[0] == ["Branch", "Completed", "Invoiced", "No-show rate", "Day", "Start", "Currency"]
    assert table[1] == ["Zürich Nord — Praxis", "42", "12345.67", "12.50%", "1999-12-31", "1999-12-31 09:30", "CHF"]
    # yen have no minor unit, Kuwaiti dinars three; a missing ratio or time is an empty cell
    assert table[2][2:6] == ["1200", "", "1999-12-31", ""]
    assert table[3][2:4] == ["-0.500", "0.00%"]
    assert table[4][2:4] == ["0.00", "100.00%"]
    assert table[5][3] == "33.33%"
    assert table[8][0] == "Plain, with a comma\nand a line"
    assert len(table) == len(ROWS) + 1


def test_csv_neutralises_every_formula_start():
    # when
    table = _csv(export_response(rows=ROWS, columns=COLUMNS, filename="x", fmt="csv"))
    # then: each text a spreadsheet would run is written as text
    labels = [row[0] for row in table[2:8]]
    assert labels == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+A1*2",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "'\rReturn",
    ]
    # numbers the report wrote itself (a negative amount) stay numbers
    assert table[3][2] == "-0.500"


def test_neutralised_leaves_other_text_alone():
    assert neutralised("Anna = Berta") == "Anna = Berta"
    # a phone number or a signed number runs nothing: it is written as the desk would dial it
    assert neutralised("+447700900662") == "+447700900662"
    assert neutralised("+44 (20) 7946 0018") == "+44 (20) 7946 0018"
    assert neutralised("-12.50") == "-12.50"
    assert neutralised("+44+cmd|' /C calc'!A0") == "'+44+cmd|' /C calc'!A0"
    assert neutralised("") == ""
    assert neutralised("=1+1") == "'=1+1"


def test_xlsx_opens_with_the_same_cells():
    # when
    response = export_response(rows=ROWS, columns=COLUMNS, filename="figures_x", fmt="xlsx")
    # then
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="figures_x.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["Branch", "Completed", "Invoiced", "No-show rate", "Day", "Start", "Currency"]
    midnight = datetime.combine(DAY, datetime.min.time())  # a spreadsheet day has no zone
    wall_clock = START.replace(tzinfo=None)
    assert cells[1] == ["Zürich Nord — Praxis", 42, 12345.67, 0.125, midnight, wall_clock, "CHF"]
    # text is a string cell, never a formula, so it is kept as it is
    assert cells[2][0] == '=HYPERLINK("http://evil.example","click")'
    assert sheet.cell(row=3, column=1).data_type == "s"
    assert cells[2][2:4] == [1200, None]
    assert cells[3][2] == -0.5
    assert len(cells) == len(ROWS) + 1
    # the same numbers as the CSV, read as the spreadsheet formats them
    assert sheet.cell(row=2, column=3).number_format == "#,##0.00"
    assert sheet.cell(row=3, column=3).number_format == "#,##0"
    assert sheet.cell(row=4, column=3).number_format == "#,##0.000"
    assert sheet.cell(row=2, column=4).number_format == "0.00%"
    csv_table = _csv(export_response(rows=ROWS, columns=COLUMNS, filename="x", fmt="csv"))
    for csv_row, xlsx_row in zip(csv_table[1:], cells[1:], strict=True):
        assert Decimal(csv_row[1]) == xlsx_row[1]
        assert Decimal(csv_row[2]) == Decimal(str(xlsx_row[2]))


def test_an_empty_report_is_a_header_row():
    table = _csv(export_response(rows=[], columns=COLUMNS, filename="x", fmt="csv"))
    assert table == [[c.header for c in COLUMNS]]
    xlsx = export_response(rows=[], columns=COLUMNS, filename="x", fmt="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert [c.value for c in next(book.active.iter_rows())] == [c.header for c in COLUMNS]


@pytest.mark.parametrize(
    ("asked", "safe"),
    [
        ('a"; filename="evil.exe', "a-filename-evil.exe"),
        ("../../etc/passwd", "etc-passwd"),
        ("Zürich Nord\r\nX-Header: 1", "Z-rich-Nord-X-Header-1"),
        ("", "report"),
        ("...", "report"),
    ],
)
def test_file_names_are_safe(asked, safe):
    assert safe_filename(asked) == safe
    response = export_response(rows=[], columns=COLUMNS, filename=asked, fmt="csv")
    assert response["Content-Disposition"] == f'attachment; filename="{safe}.csv"'


def test_an_unknown_format_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        export_response(rows=[], columns=COLUMNS, filename="x", fmt="pdf")
    assert refused.value.fields == {"format": ["Choose one of: csv, xlsx."]}
