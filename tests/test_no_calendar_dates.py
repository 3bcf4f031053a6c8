"""No test may depend on the date it is run: a date of this century written into a test (``date(2027,
6, 7)``, ``"2027-06-07T09:00:00Z"``) passes today and fails the day it is in the past. Tests derive
their days from the run's clock (tests/factories/scheduling.py: MONDAY, monday_ahead, clock_changes)
or write them under a time travel (``with time_machine.travel(...)``, or a travel decorator), where
the date is the test's own, not the calendar's. Impossible dates and times written on purpose (bad
input: February 30, minute 99) are not calendar dates and may be written as they are."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DATE_TEXT = re.compile(r"^20\d\d-\d\d-\d\d")
DATE_CALLS = {"date", "datetime"}
TRAVELS = {"travel", "freeze_time", "move_to"}
# Files that may name dates freely because they freeze time for every test (none today).
ALLOWED: set[str] = set()


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_travel(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in TRAVELS


def _is_date_text(text: str) -> bool:
    """Text that starts with a real date of this century (and, if a time follows, a real time)."""
    match = DATE_TEXT.match(text)
    if match is None:
        return False
    try:
        date.fromisoformat(match.group())
        if text[match.end() :].startswith(("T", " ")):
            datetime.fromisoformat(text)
    except ValueError:
        return False  # impossible on purpose: bad input that stays bad whatever the date
    return True


def _is_literal_date(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and _name(node.func) in DATE_CALLS and node.args:
        year = node.args[0]
        return isinstance(year, ast.Constant) and type(year.value) is int and 2000 <= year.value <= 2099
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_date_text(node.value)


def literal_dates(source: str) -> list[int]:
    """The lines of ``source`` that write a date of this century outside a time travel."""
    found: list[int] = []

    def visit(node: ast.AST, travelled: bool) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            travelled = travelled or any(_is_travel(item.context_expr) for item in node.items)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            travelled = travelled or any(_is_travel(d) for d in node.decorator_list)
        if not travelled and _is_literal_date(node):
            found.append(node.lineno)  # type: ignore[attr-defined]
        for child in ast.iter_child_nodes(node):
            visit(child, travelled)

    visit(ast.parse(source), travelled=False)
    return found


def test_the_check_finds_dates_outside_a_travel():
    source = """
from datetime import date, datetime
import time_machine

DAY = date(2027, 6, 7)
BORN = date(1980, 5, 1)


def test_one():
    assert book(datetime(2030, 1, 7, 10)) == "2027-06-07T09:00:00Z"
    assert f"{DAY}T10:00:00" and "day=2030-01-07" and "2027-02-30" and "2027-06-07T10:99:00+01:00"
    assert "2027-06-07T10:00:00" and "2027-06-07/"
    with time_machine.travel(datetime(2027, 6, 7, 9)):
        assert date(2027, 6, 7)


@time_machine.travel("2027-06-07 09:00")
def test_two():
    assert date(2027, 6, 7)
"""
    assert literal_dates(source) == [5, 10, 10, 12, 12]


def test_no_test_names_a_calendar_date():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.relative_to(TESTS).as_posix() not in ALLOWED
        for line in literal_dates(path.read_text())
    ]
    assert offenders == [], "derive dates from the run's clock or travel in time: " + ", ".join(offenders)
