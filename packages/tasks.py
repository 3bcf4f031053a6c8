from __future__ import annotations

from celery import shared_task

from packages import services
from tenants.selectors import current_schema


@shared_task(name="packages.tasks.packages_expire")
def packages_expire() -> dict[str, object]:
    """Run in each chain by tenants.tasks.for_each_clinic (CELERY_BEAT_SCHEDULE)."""
    return {"schema": current_schema(), "expired": services.packages_expire()}
