"""Periodic messages in each chain (fanned out by tenants.tasks.for_each_clinic from
CELERY_BEAT_SCHEDULE): thin and idempotent, each run writes what is due and nothing twice."""

from __future__ import annotations

from celery import shared_task

from notifications.summary import daily_summaries_write, follow_up_reminders_write
from tenants.selectors import current_schema


@shared_task(name="notifications.schedule_tasks.scheduled_messages_write")
def scheduled_messages_write() -> dict[str, object]:
    """The branch managers' morning summaries and the patients' follow-up reminders now due."""
    return {
        "schema": current_schema(),
        "summaries": daily_summaries_write(),
        "follow_ups": follow_up_reminders_write(),
    }
