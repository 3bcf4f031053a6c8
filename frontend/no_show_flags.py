"""The no-show flag beside a patient's name on the desk's pages, said as the book says it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scheduling.book import NO_SHOW_FLAG
from scheduling.no_shows import NoShowRecord, no_show_records


def flags_of(records: dict[int, NoShowRecord]) -> dict[str, Any]:
    """The page context of frontend/templates/waitlist/_no_show_flag.html: which of the patients a page
    names are flagged for no-shows, and the book's words for it."""
    return {"flagged": {pk for pk, record in records.items() if record.flagged}, "no_show_flag": NO_SHOW_FLAG}


def no_show_flags(patient_ids: Iterable[int]) -> dict[str, Any]:
    """flags_of the patients ``patient_ids``, read in one go."""
    return flags_of(no_show_records(patient_ids=list(patient_ids)))
