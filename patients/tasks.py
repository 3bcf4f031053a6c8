from __future__ import annotations

from celery import shared_task

from patients.portal import spent_codes_purge
from tenants.selectors import current_schema


@shared_task(name="patients.tasks.spent_codes_purge")
def spent_codes_purge_task() -> dict[str, object]:
    return {"schema": current_schema(), **spent_codes_purge()}
