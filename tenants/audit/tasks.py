from __future__ import annotations

import logging

from celery import shared_task

from tenants.audit.selectors import access_log_chain_verify

log = logging.getLogger(__name__)


@shared_task(name="tenants.audit.tasks.access_log_chain_check")
def access_log_chain_check() -> dict[str, object]:
    """Periodic, in each chain (tenants.tasks.for_each_clinic): walk the access log's hash chain.
    A break is logged as an error; a sound chain logs its head, so the log kept elsewhere also
    remembers what the head was at each check."""
    report = access_log_chain_verify()
    if report.ok:
        log.info("access log of %s: %s rows, head %s %s", report.schema, report.rows, report.head_seq, report.head_hash)
    else:
        log.error(
            "access log of %s: chain broken at seq %s (id %s): %s",
            report.schema,
            report.broken_seq,
            report.broken_id,
            report.problem,
        )
    return {"schema": report.schema, "ok": report.ok, "rows": report.rows, "broken_seq": report.broken_seq}
