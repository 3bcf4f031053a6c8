"""The price of the access log: writing rows (one read, a 100-row listing), each in its own committed
transaction as a request does, and verifying the hash chain.

Uses the chain "benchaudit" in clinicflow_bench (made on first run), grows its log to --rows rows
once, then prints the figures.

    .venv/bin/python bench/audit.py [--samples 300] [--rows 100000]
"""

from __future__ import annotations

import argparse
import time

from common import bench_chain, measure, setup_django

SLUG = "benchaudit"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    setup_django()
    from django.db import transaction
    from django_tenants.utils import schema_context

    from tenants.accounts.models import User
    from tenants.audit.models import AccessLog
    from tenants.audit.selectors import access_log_chain_verify
    from tenants.audit.services import access_log_record

    clinic = bench_chain(
        slug=SLUG, name="Bench Audit", owner_email="owner@benchaudit.example", timezone="UTC", currency="EUR"
    )
    with schema_context(clinic.schema_name):
        owner = User.objects.get(email="owner@benchaudit.example")

        def one(i: int) -> None:
            with transaction.atomic():
                access_log_record(actor=owner, action="view", object_type="patient", object_ids=[i], patient_ids=[i])

        def hundred(i: int) -> None:
            ids = list(range(100))
            with transaction.atomic():
                access_log_record(actor=owner, action="view", object_type="patient", object_ids=ids, patient_ids=ids)

        measure("access log: one row, committed", one, args.samples)
        measure("access log: a 100-row listing, committed", hundred, max(20, args.samples // 5))

        have = AccessLog.objects.count()
        while have < args.rows:
            batch = min(1000, args.rows - have)
            with transaction.atomic():
                access_log_record(
                    actor=owner,
                    action="view",
                    object_type="patient",
                    object_ids=range(batch),
                    patient_ids=list(range(batch)),
                )
            have += batch
        started = time.perf_counter()
        report = access_log_chain_verify()
        elapsed = time.perf_counter() - started
        print(
            f"verify the chain: {have} rows in {elapsed * 1000:.0f} ms "
            f"({elapsed * 1000 / max(have, 1):.4f} ms per row), intact: {report.ok}",
            flush=True,
        )


if __name__ == "__main__":
    main()
