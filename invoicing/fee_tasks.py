"""Fee charges in the background: one task per charge, queued after the commit that made it
pending, and a periodic sweep for anything a lost task or a dead worker left behind. Both only call
``fee_charge_run``, which is safe to run twice and at once (invoicing/services/fees.py)."""

from __future__ import annotations

from celery import shared_task

from invoicing.services.fees import fee_charge_run, fee_charges_due
from tenants.selectors import current_schema


@shared_task(name="invoicing.fee_tasks.fee_charge")
def fee_charge(fee_charge_id: int) -> str:
    return str(fee_charge_run(fee_charge_id=fee_charge_id).status)


@shared_task(name="invoicing.fee_tasks.fee_charges_sweep")
def fee_charges_sweep() -> dict[str, object]:
    done = [str(fee_charge_run(fee_charge_id=pk).status) for pk in fee_charges_due()]
    return {"schema": current_schema(), "charges": len(done)}
