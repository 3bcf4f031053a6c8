"""Pages say dates one way per language and statuses in words: templates name the locale's formats
(config/formats/<lang>/formats.py) and never a pattern of their own; statuses read from the model's labels."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import formats

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend" / "templates"
FILTER = re.compile(r"""\|(date|time):(["'])([^"']+)\2""")
# Machine forms: a day or a time of day inside a link or an input's value, never shown as text.
MACHINE = {"Y-m-d", "H:i", "c"}
# The formats a locale names (django.utils.formats): any other name would be read as a pattern.
NAMED = {
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "MONTH_DAY_FORMAT",
    "YEAR_MONTH_FORMAT",
    "TIME_FORMAT",
}


def test_every_template_names_the_locales_format_instead_of_writing_one() -> None:
    own = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = str(path.relative_to(TEMPLATES))
        for match in FILTER.finditer(path.read_text()):
            kind, quote, fmt = match.groups()
            if fmt in NAMED or (quote == "'" and fmt in MACHINE):
                continue
            own.append(f"{name}: |{kind}:{quote}{fmt}{quote}")
    assert own == []


def test_the_english_formats_read_as_the_clinic_writes_them() -> None:
    # a day long past, so the test never meets the calendar (tests/test_no_calendar_dates.py)
    moment = datetime(1999, 6, 7, 9, 30, tzinfo=ZoneInfo("UTC"))
    assert formats.date_format(moment, "DATE_FORMAT") == "Monday 7 June 1999"
    assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "7 Jun 1999"
    assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "7 Jun 1999, 09:30"
    assert formats.time_format(moment, "TIME_FORMAT") == "09:30"


def test_a_status_reads_as_words_from_the_models_labels() -> None:
    page = Template("{% load display %}{{ a|status_word }} / {{ b|status_word }}").render(
        Context({"a": "checked_in", "b": "no_show"})
    )
    assert page == "Checked in / No-show"


PAGES = TEMPLATES.parent
# A day written with its own pattern in a page's message: names of days or months, or day numbers.
OWN_DAY = re.compile(r"""\{[^{}]+:[^{}]*%[aAbBdj][^{}]*\}|strftime\(["'][^"']*%[aAbBdj]""")


def test_page_messages_name_the_locales_format_instead_of_writing_one() -> None:
    own = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(PAGES.glob("*.py"))
        if path.name != "demo.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OWN_DAY.search(line)
    ]
    assert own == []
