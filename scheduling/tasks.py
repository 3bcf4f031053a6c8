"""The calendar's periodic work, run in each chain by tenants.tasks.for_each_clinic (CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from scheduling.no_shows import no_shows_mark
from tenants.selectors import current_schema


@shared_task(name="scheduling.tasks.no_shows_mark")
def no_shows_mark_task() -> dict[str, object]:
    """Visits nobody came to, past the chain's grace period, marked no-shows by the system
    (scheduling/no_shows.py; safe to run twice and at once with the desk's check-in)."""
    return {"schema": current_schema(), "marked": no_shows_mark()}
