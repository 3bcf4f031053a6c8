from __future__ import annotations

from celery import shared_task

from tenants.org import services
from tenants.selectors import current_schema


@shared_task(name="tenants.org.tasks.invitations_expire")
def invitations_expire() -> dict[str, object]:
    return {"schema": current_schema(), "expired": services.invitations_expire()}
