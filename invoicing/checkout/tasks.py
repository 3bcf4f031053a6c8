"""The periodic sweep of online checkouts, per chain (CELERY_BEAT_SCHEDULE "online-checkouts-sweep"):
sessions paid without a webhook are settled, unopened ones opened or lapsed, pending Stripe refunds
asked again. Idempotent: a second run changes nothing more."""

from __future__ import annotations

from celery import shared_task

from invoicing.checkout.refunds import refunds_retry
from invoicing.checkout.services import checkouts_sweep
from tenants.selectors import current_schema


@shared_task(name="invoicing.checkout.tasks.checkouts_sweep")
def checkouts_sweep_task() -> dict[str, object]:
    return {"schema": current_schema(), "checkouts": checkouts_sweep(), "refunds": refunds_retry()}
