"""The outbox: 100k messages due at once in one chain, dispatched through the real Twilio SDK to the
local fake (tests/fakes/twilio_server.py, a process of its own) by worker processes running the
dispatcher (notifications/dispatch.py: claim a batch FOR UPDATE SKIP LOCKED, policy, compose, send,
settle in bulk), as the Celery task does.

Prints messages/s, the total time, duplicates (a row the fake received more than once, by the row
id in the status callback) and lost (rows not 'sent' at the end). Targets: >= 1,000/s on 2 cores,
all 100k in < 2 min, 0 duplicates, 0 lost.

The rows are written in bulk (the writers' services are not what is measured) as answers to a reply
(kind "reply": sent whatever the consent and the hour, its text in the row's context), so each
message is composed through the chain's template and asked the policy like any other, without 100k
appointments behind them.

    .venv/bin/python bench/outbox.py [--samples 100000] (BENCH_WORKERS=2, BENCH_BATCH=500)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from multiprocessing.connection import Connection

from common import ROOT, bench_chain, start

SLUG = "benchoutbox"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def _fake() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.twilio_server", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _seed(n: int) -> str:
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from notifications.models import Channel, Kind, Message, MessagingSettings, Template

    clinic = bench_chain(slug=SLUG, name="Bench Outbox", owner_email=f"owner@{SLUG}.example")
    with schema_context(clinic.schema_name):
        Message.objects.all().delete()
        Template.objects.update_or_create(
            kind=Kind.REPLY, channel=Channel.SMS, language="en", defaults={"body": "{text}", "subject": ""}
        )
        MessagingSettings.objects.get_or_create(pk=1)
        due = timezone.now() - timedelta(minutes=1)
        rows = (
            Message(
                kind=Kind.REPLY,
                channel=Channel.SMS,
                recipient=f"+4477{i:08d}",
                due_at=due,
                context={"text": f"Reminder {i}: your appointment at Bench Outbox is tomorrow at 10:00."},
            )
            for i in range(n)
        )
        started = time.perf_counter()
        batch: list[Message] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                Message.objects.bulk_create(batch)
                batch.clear()
        Message.objects.bulk_create(batch)
        print(f"seeded {n} due messages in {time.perf_counter() - started:.1f} s", flush=True)
    return str(clinic.schema_name)


def _worker(schema: str, go: object, pipe: Connection) -> None:
    from django.db import connections
    from django_tenants.utils import schema_context

    from notifications.dispatch import messages_dispatch

    connections.close_all()  # the parent's connection is not shared with a forked child
    go.wait()  # type: ignore[attr-defined]
    sent = 0
    with schema_context(schema):
        while True:
            tally = messages_dispatch(limit=int(os.environ.get("BENCH_BATCH", "500")))
            if tally.claimed == 0:
                break
            sent += tally.counts.get("sent", 0)
    pipe.send(sent)


def main() -> None:
    fake, url = _fake()
    os.environ["TWILIO_API_BASE"] = url
    os.environ["CLINICFLOW_TEST_SMS_BACKEND"] = "notifications.sms.TwilioBackend"
    os.environ["CLINICFLOW_NOTIFICATIONS_DISPATCH_INLINE"] = "0"
    try:
        n = start(samples=100_000, seed=lambda: None)
        schema = _seed(n)
        from django.db import connections
        from django_tenants.utils import schema_context

        from notifications.models import Message, MessageStatus

        connections.close_all()
        context = multiprocessing.get_context("fork")
        go = context.Event()
        pipes, workers = [], []
        for _ in range(WORKERS):
            ours, theirs = context.Pipe()
            worker = context.Process(target=_worker, args=(schema, go, theirs))
            worker.start()
            pipes.append(ours)
            workers.append(worker)
        started = time.perf_counter()
        go.set()
        sent = sum(pipe.recv() for pipe in pipes)
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join()

        with urllib.request.urlopen(f"{url}/_fake/received") as answer:  # noqa: S310 (our local fake)
            received = json.load(answer)
        per_row = Counter(callback.rsplit("m=", 1)[-1] for _, _, callback, _ in received)
        duplicates = sum(1 for count in per_row.values() if count > 1)
        with schema_context(schema):
            lost = Message.objects.exclude(status=MessageStatus.SENT).count()
            marked = Message.objects.filter(status=MessageStatus.SENT).exclude(provider_id="").count()
        print(f"workers: {WORKERS} processes, batch {os.environ.get('BENCH_BATCH', '500')}", flush=True)
        print(f"messages sent: {sent} (rows marked sent with Twilio's sid: {marked}; fake received {len(received)})")
        print(f"total time: {elapsed:.1f} s   throughput: {sent / elapsed:,.0f} messages/s")
        print(f"duplicates (received more than once): {duplicates}   lost (rows not sent): {lost}")
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
