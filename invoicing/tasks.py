"""The ledger's periodic work, run in each chain (tenants.tasks.for_each_clinic)."""

from __future__ import annotations

from celery import shared_task

from invoicing.reconciliation.services import reconciliation_nightly as reconcile_days_due
from tenants.selectors import current_schema


# --- recon12: nightly reconciliation with the connected Stripe account
@shared_task(name="invoicing.tasks.reconciliation_nightly")
def reconciliation_nightly() -> dict[str, object]:
    """Reconcile the chain's local days not reconciled yet (idempotent: a complete day is not run
    again, and a run of a day again adds nothing). Beat calls it hourly so each chain's night comes
    in its own time zone."""
    runs = reconcile_days_due()
    return {
        "schema": current_schema(),
        "runs": [{"period_start": r.period_start.isoformat(), "mismatches": r.mismatches} for r in runs],
    }
