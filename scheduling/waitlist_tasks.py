"""The waitlist's periodic work: offers not answered in time expire and their times move on to the
next patient (scheduling.services.waitlist; idempotent, safe to overlap)."""

from __future__ import annotations

from celery import shared_task

from scheduling import services as sched
from tenants.selectors import current_schema


@shared_task(name="scheduling.waitlist_tasks.waitlist_offers_expire")
def waitlist_offers_expire() -> dict[str, object]:
    return {"schema": current_schema(), "expired": sched.waitlist_offers_expire()}
