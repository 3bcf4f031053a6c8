"""Billing: webhook events processed per second, and reconciliation of 100k balance transactions.

Seeds the chain "benchbilling" in clinicflow_bench once (a branch, a priced service, and the
ledger's 100k Stripe payments of yesterday, written in bulk: the ledger's services would take an
hour for that many and are not what is measured), then, against the local Stripe fake
(tests/fakes/stripe_server.py, in a child process of its own so its memory is not counted):

1. Webhook events per second: N signed ``payment_intent.succeeded`` / ``checkout.session.completed``
   events POSTed in-process through Django's test client to the real Connect endpoint
   (/stripe/connect/webhook/): the SDK's signature check, the chain found from the account, the
   event recorded once, its handler run. First one process, then two worker processes (a web server
   runs a worker per core) sharing new events. Target >= 300/s on 2 cores.
2. Reconciliation of yesterday: 100k charges at the fake (with the ledger's payments, 200 of them
   missing here and 100 with another amount), read through the SDK's auto-pagination and matched,
   in a child process whose peak memory is read from /proc. Then the same day again (idempotent:
   it adds nothing). Target < 60 s.

    .venv/bin/python bench/billing.py [--samples 2000] (events; BENCH_TXNS=100000 for the size)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from common import bench_chain, start

SLUG = "benchbilling"
OWNER = "owner@benchbilling.example"
TXNS = int(os.environ.get("BENCH_TXNS", "100000"))
MISSING_HERE = 200
AMOUNT_DIFFERS = 100
PER_INVOICE = 100
PRICE = 7500


def _intent(i: int) -> str:
    return f"pi_bench_{i:07d}"


def _period() -> tuple[datetime, datetime]:
    from invoicing.reconciliation.services import day_period

    return day_period(datetime.now(UTC).date() - timedelta(days=1), "UTC")


def seed() -> None:
    from django.db import transaction
    from django_tenants.utils import schema_context

    from invoicing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
    from tenants.accounts.models import User
    from tenants.org import services as org
    from tests.factories import Chain
    from tests.factories.scheduling import clinic_setup

    clinic = bench_chain(slug=SLUG, name="Bench Billing", owner_email=OWNER, timezone="UTC")
    start_at, end_at = _period()
    with schema_context(clinic.schema_name):
        owner = User.objects.get(email=OWNER)
        if not Payment.objects.exists():
            branch = org.branch_create(actor=owner, name="Front", timezone_name="UTC")
            chain = Chain(clinic=clinic, host=f"{SLUG}.localhost", users={"owner": owner}, branches=[branch])
            setup = clinic_setup(chain, branch=branch, doctors=1)
            patient = setup.patient()
            print(f"seeding {TXNS} Stripe payments in the ledger ...", flush=True)
            step = (end_at - start_at) / TXNS
            for first in range(0, TXNS, PER_INVOICE * 50):
                with transaction.atomic():
                    invoices = Invoice.objects.bulk_create(
                        [
                            Invoice(
                                number=f"INV-B{n // PER_INVOICE:06d}",
                                patient=patient,
                                branch=branch,
                                status=InvoiceStatus.PAID,
                                currency="GBP",
                                subtotal_minor=PRICE * PER_INVOICE,
                                total_minor=PRICE * PER_INVOICE,
                                paid_minor=PRICE * PER_INVOICE,
                                issued_at=start_at,
                            )
                            for n in range(first, min(first + PER_INVOICE * 50, TXNS), PER_INVOICE)
                        ]
                    )
                    Payment.objects.bulk_create(
                        [
                            Payment(
                                invoice=invoices[(i - first) // PER_INVOICE],
                                method=PaymentMethod.STRIPE,
                                amount_minor=PRICE,
                                currency="GBP",
                                reference=_intent(i),
                                received_at=start_at + step * i,
                            )
                            for i in range(first, min(first + PER_INVOICE * 50, TXNS))
                            if i >= MISSING_HERE  # the first ones are at Stripe only
                        ],
                        batch_size=5000,
                    )


# --- the fake, in a process of its own --------------------------------------------------------------
def _fake_process(pipe: Connection) -> None:
    from tests.fakes.stripe_server import FakeStripe, load_charges

    fake = FakeStripe().start()
    pipe.send(fake.url)
    while True:
        command, args = pipe.recv()
        if command == "onboard":
            fake.complete_onboarding(args)
            pipe.send(None)
        elif command == "charges":
            account, first, count, start_ts, step = args
            rows = []
            for i in range(first, first + count):
                amount = PRICE + 100 if MISSING_HERE <= i < MISSING_HERE + AMOUNT_DIFFERS else PRICE
                rows.append((_intent(i), amount, "gbp", int(start_ts + step * i)))
            load_charges(fake, account=account, charges=rows)
            pipe.send(None)
        elif command == "stop":
            fake.stop()
            pipe.send(None)
            return


def _ask(pipe: Connection, command: str, args: Any = None) -> Any:
    pipe.send((command, args))
    return pipe.recv()


def _connect(pipe: Connection, schema: str) -> str:
    from django_tenants.utils import schema_context

    from invoicing.connect import services as connect
    from tenants.accounts.models import User
    from tenants.models import StripeConnection

    with schema_context(schema):
        # Each run has a fresh fake: the chain connects again to an account made there.
        StripeConnection.objects.filter(clinic__schema_name=schema).delete()
        connection = connect.connect_onboarding_start(actor=User.objects.get(email=OWNER))
        _ask(pipe, "onboard", connection.account_id)
        connect.connection_sync(account_id=connection.account_id)
        return connection.account_id


# --- 1. webhooks ------------------------------------------------------------------------------------
def _signed_events(account: str, events: int, run: str) -> list[tuple[bytes, str]]:
    from django.conf import settings

    from tests.fakes.stripe_server import FakeStripe

    secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET
    stamp = int(time.time())
    bodies = []
    for i in range(events):
        kind = "payment_intent.succeeded" if i % 2 else "checkout.session.completed"
        obj = (
            {"id": f"pi_wh_{run}_{i}", "object": "payment_intent", "amount": PRICE, "currency": "gbp", "metadata": {}}
            if i % 2
            else {"id": f"cs_wh_{run}_{i}", "object": "checkout.session", "payment_status": "paid", "metadata": {}}
        )
        event = {
            "id": f"evt_wh_{run}_{i}",
            "object": "event",
            "api_version": "2025-01-01",
            "created": stamp,
            "type": kind,
            "account": account,
            "livemode": False,
            "data": {"object": obj},
        }
        payload = json.dumps(event).encode()
        bodies.append((payload, FakeStripe.sign(payload, secret)))
    return bodies


def _post_all(bodies: list[tuple[bytes, str]]) -> dict[int, int]:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    statuses: dict[int, int] = {}
    for payload, signature in bodies:
        answer = client.post(
            "/stripe/connect/webhook/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    return statuses


def _worker(bodies: list[tuple[bytes, str]], go: Any, pipe: Connection) -> None:
    from django.db import connections

    connections.close_all()  # the parent's connection is not shared with a forked child
    go.wait()
    pipe.send(_post_all(bodies))


def webhooks(account: str, events: int) -> None:
    """1. one process, then the same number of new events split over two worker processes (a web
    server runs a worker per core: the figure for 2 cores)."""
    from django.db import connections

    run = f"{int(time.time()):x}"
    bodies = _signed_events(account, events, f"{run}a")
    cpu = _cpu()
    started = time.perf_counter()
    statuses = _post_all(bodies)
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu
    print(
        f"{'webhook events, one process':<58} {events / elapsed:8.0f} events/s"
        f"   ({events} in {elapsed:.2f} s, answers {statuses}; this process's CPU {cpu:.2f} s,"
        f" {events / cpu:.0f} events per CPU second)",
        flush=True,
    )
    bodies = _signed_events(account, events, f"{run}b")
    context = multiprocessing.get_context("fork")
    go = context.Event()
    connections.close_all()
    pipes, workers = [], []
    for half in (bodies[0::2], bodies[1::2]):
        ours, theirs = context.Pipe()
        worker = context.Process(target=_worker, args=(half, go, theirs))
        worker.start()
        pipes.append(ours)
        workers.append(worker)
    time.sleep(0.5)  # both workers connected and waiting
    started = time.perf_counter()
    go.set()
    answers = [pipe.recv() for pipe in pipes]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    statuses = {}
    for answer in answers:
        for code, count in answer.items():
            statuses[code] = statuses.get(code, 0) + count
    print(
        f"{'webhook events, two worker processes (2 cores)':<58} {events / elapsed:8.0f} events/s"
        f"   ({events} in {elapsed:.2f} s, answers {statuses})",
        flush=True,
    )


# --- 2. reconciliation ------------------------------------------------------------------------------
def _cpu() -> float:
    """This process's CPU seconds (user and system): what its own work cost, whatever else the
    machine runs (the database's share is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> tuple[float, float]:
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _reconcile_child(schema: str, pipe: Connection) -> None:
    from django.db import connections
    from django_tenants.utils import schema_context

    from invoicing.reconciliation.services import reconciliation_run

    connections.close_all()  # the parent's connection is not shared with a forked child
    rss_start, _ = _peak_rss_mb()
    start_at, end_at = _period()
    figures = []
    with schema_context(schema):
        for _ in range(2):
            started, cpu = time.perf_counter(), _cpu()
            run = reconciliation_run(period_start=start_at, period_end=end_at)
            elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
            figures.append((elapsed, cpu, run.transactions, run.matched, run.mismatches))
    _, peak = _peak_rss_mb()
    pipe.send((figures, rss_start, peak))


def reconcile(fake: Connection, schema: str, account: str) -> None:
    from django.db import connections
    from django_tenants.utils import schema_context

    from invoicing.models import BalanceTransaction, Mismatch, Payout, ReconciliationRun

    with schema_context(schema):
        Mismatch.history.model.objects.all().delete()
        Mismatch.objects.all().delete()
        BalanceTransaction.objects.all().delete()
        Payout.objects.all().delete()
        ReconciliationRun.objects.all().delete()
    start_at, end_at = _period()
    step = (end_at - start_at).total_seconds() / TXNS
    for first in range(0, TXNS, 10_000):
        _ask(fake, "charges", (account, first, min(10_000, TXNS - first), start_at.timestamp(), step))
    connections.close_all()
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_reconcile_child, args=(schema, theirs))
    child.start()
    figures, rss_start, peak = ours.recv()
    child.join()
    for n, (seconds, cpu, txns, matched, mismatches) in enumerate(figures, 1):
        label = "reconciliation, first run" if n == 1 else "reconciliation, same day again"
        print(
            f"{label:<58} {seconds:8.2f} s   ({txns} balance transactions, {matched} matched, "
            f"{mismatches} mismatches, {txns / seconds:.0f}/s; its process's CPU {cpu:.1f} s)",
            flush=True,
        )
    print(f"{'reconciliation process memory':<58} peak {peak:6.0f} MB   (at start {rss_start:.0f} MB)", flush=True)


def main() -> None:
    events = start(samples=2000, seed=seed)
    from django.conf import settings

    ours, theirs = multiprocessing.get_context("fork").Pipe()
    fake = multiprocessing.get_context("fork").Process(target=_fake_process, args=(theirs,), daemon=True)
    fake.start()
    settings.STRIPE_API_BASE = ours.recv()
    try:
        account = _connect(ours, SLUG)
        webhooks(account, events)
        reconcile(ours, SLUG, account)
    finally:
        _ask(ours, "stop")
        fake.join(timeout=5)


if __name__ == "__main__":
    main()
