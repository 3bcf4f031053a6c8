from __future__ import annotations

from celery import shared_task
from django.db import connection

from tenants.org import services


@shared_task(name="tenants.org.tasks.invitations_expire")
def invitations_expire() -> dict[str, object]:
    return {"schema": connection.schema_name, "expired": services.invitations_expire()}
