"""Platform-wide periodic work: fan a tenant task out to every active clinic chain."""

from __future__ import annotations

from celery import shared_task
from django_tenants.utils import schema_context

from tenants.selectors import clinic_list_active


@shared_task(name="tenants.tasks.for_each_clinic")
def for_each_clinic(task_name: str) -> int:
    """Enqueue ``task_name`` once in each active chain's schema (the schema travels in the headers)."""
    from config.celery import app

    clinics = clinic_list_active()
    for clinic in clinics:
        with schema_context(clinic.schema_name):
            app.send_task(task_name)
    return len(clinics)


@shared_task(name="tenants.tasks.spares_replenish")
def spares_replenish() -> int:
    from tenants.services import clinic_spares_replenish

    return clinic_spares_replenish()
