"""The outbox: real reminders, dispatched through the real Twilio SDK to the local fake
(tests/fakes/twilio_server.py, a process of its own) by worker processes running the dispatcher
(notifications/dispatch.py: claim a batch FOR UPDATE SKIP LOCKED, policy, compose, send, settle in
bulk), as the Celery task does.

The rows are what booking writes: appointments (bulk-inserted, as a chain's calendar holds them:
one doctor at a time, one patient each, patients who agreed to texts) whose reminders the reminder
planner writes (notifications.reminders.reminders_sync, the rule every booking runs: one per offset
of the chain, a day and two hours before). Each reminder is asked the policy (consent, the visit
still upcoming), composed from the chain's template with the visit's service, branch, doctor, local
time and a fresh manage link, and sent. The dispatcher runs at the moment the last reminder falls
due (its ``now``), so all are due at once.

Prints messages/s, the total time, duplicates (a row the fake received more than once, by the row
id in the status callback), lost (rows not 'sent' at the end) and each worker's peak RSS. Targets:
>= 1,000/s on 2 cores, 0 duplicates, 0 lost.

    .venv/bin/python bench/outbox.py [--samples 20000] (messages; BENCH_WORKERS=2, BENCH_BATCH=500)

BENCH_PROFILE=1 first dispatches one batch in the parent under cProfile and prints where its time
went (those messages are counted apart from the timed run).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta
from multiprocessing.connection import Connection

from common import ROOT, bench_chain, start

SLUG = "benchoutbox"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
DOCTORS = 10
VISIT = timedelta(minutes=20)


def _fake() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.twilio_server", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _doctors(branch_id: int) -> list[int]:
    """The chain's doctors (invited and accepted through the staff services), each at the branch."""
    from tenants.org import services as org
    from tenants.org.models import Role, StaffMember

    owner = StaffMember.objects.filter(roles__contains=[Role.OWNER]).order_by("pk").first()
    assert owner is not None
    have = list(StaffMember.objects.filter(roles__contains=[Role.DOCTOR]).order_by("pk").values_list("pk", flat=True))
    for i in range(len(have), DOCTORS):
        email = f"doctor{i}@{SLUG}.example"
        _, link = org.staff_invite(actor=owner.user, email=email, roles=[Role.DOCTOR], branch_ids=[branch_id])
        token = link.rstrip("/").rsplit("/", 1)[-1]
        user = org.invitation_accept(token=token, first_name="Doctor", last_name=f"No {i}", password="Bench-Pass-42")
        have.append(user.staff.pk)
    return have


def _seed(n: int) -> tuple[str, datetime]:
    """Visits enough for ``n`` reminders, and their reminders written by the planner. Answers the
    chain's schema and the moment every reminder is due by."""
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import schema_context
    from psycopg.types.range import Range

    from notifications.models import Message, MessagingSettings
    from notifications.reminders import reminders_sync
    from patients.models import Patient
    from scheduling import services as sched
    from scheduling.models import CalendarEntry, Kind, Service, Status
    from tenants.org import services as org
    from tenants.org.models import Branch, Role, StaffMember

    clinic = bench_chain(slug=SLUG, name="Bench Outbox", owner_email=f"owner@{SLUG}.example")
    with schema_context(clinic.schema_name):
        started = time.perf_counter()
        Message.objects.all().delete()
        CalendarEntry.objects.all().delete()
        Patient.objects.all().delete()
        owner = StaffMember.objects.filter(roles__contains=[Role.OWNER]).order_by("pk").first()
        assert owner is not None
        # a day and two hours before; no quiet hours (every reminder due at its own offset)
        MessagingSettings.objects.update_or_create(
            pk=1, defaults={"reminder_offsets_minutes": [1440, 120], "quiet_hours_start": None, "quiet_hours_end": None}
        )
        branch = Branch.objects.order_by("pk").first() or org.branch_create(
            actor=owner.user, name="Bench Camden", timezone_name="Europe/London"
        )
        service = Service.objects.filter(name="Bench consultation").first() or sched.service_create(
            actor=owner.user, name="Bench consultation", duration_minutes=20
        )
        doctors = _doctors(branch.pk)
        visits = n // 2  # two reminders each
        now = timezone.now()
        consent = now - timedelta(days=30)
        patients = Patient.objects.bulk_create(
            (
                Patient(first_name=f"Pat{i}", last_name="Bench", phone=f"+4477{i:08d}", sms_consent_at=consent)
                for i in range(visits)
            ),
            batch_size=5000,
        )
        first = (now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        entries = []
        for i, patient in enumerate(patients):
            begins = first + VISIT * (i // DOCTORS)
            span = Range(begins, begins + VISIT, "[)")
            entries.append(
                CalendarEntry(
                    kind=Kind.APPOINTMENT,
                    doctor_id=doctors[i % DOCTORS],
                    branch=branch,
                    patient=patient,
                    service=service,
                    span=span,
                    busy=span,
                    status=Status.BOOKED,
                    booked_by=owner.user,
                    placed_by=owner.user,
                )
            )
        CalendarEntry.objects.bulk_create(entries, batch_size=5000)
        written = time.perf_counter()
        for chunk in range(0, len(entries), 1000):
            ids = [e.pk for e in entries[chunk : chunk + 1000]]
            with transaction.atomic():
                for entry in CalendarEntry.objects.filter(pk__in=ids).select_related("branch", "patient"):
                    reminders_sync(appointment=entry, now=now)
        rows = Message.objects.count()
        last = Message.objects.order_by("-due_at").values_list("due_at", flat=True).first() or now
        print(
            f"seeded {visits} visits in {written - started:.1f} s; the reminder planner wrote {rows} reminders "
            f"in {time.perf_counter() - written:.1f} s",
            flush=True,
        )
    return str(clinic.schema_name), last + timedelta(minutes=1)


def _worker(schema: str, at: datetime, go: object, pipe: Connection) -> None:
    from django.db import connections
    from django_tenants.utils import schema_context

    from notifications.dispatch import messages_dispatch

    connections.close_all()  # the parent's connection is not shared with a forked child
    go.wait()  # type: ignore[attr-defined]
    at_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # what the fork brought from the seeding parent
    sent = 0
    with schema_context(schema):
        while True:
            tally = messages_dispatch(limit=int(os.environ.get("BENCH_BATCH", "500")), now=at)
            if tally.claimed == 0:
                break
            sent += tally.counts.get("sent", 0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
    pipe.send((sent, peak_kib, at_start))


def _profiled_batch(schema: str, at: datetime, pipe: Connection) -> None:
    """One batch dispatched under cProfile (in a process of its own, as the workers: its connections
    to the database and the fake are not inherited by them), after a warm-up batch (the URL
    resolver and Babel's data loaded); prints the functions that took its time, sends how many it
    sent."""
    import cProfile
    import pstats

    from django.db import connections
    from django_tenants.utils import schema_context

    from notifications.dispatch import messages_dispatch

    connections.close_all()
    with schema_context(schema):
        warm = messages_dispatch(limit=50, now=at).counts.get("sent", 0)
    profile = cProfile.Profile()
    with schema_context(schema):
        started = time.perf_counter()
        tally = profile.runcall(messages_dispatch, limit=int(os.environ.get("BENCH_BATCH", "500")), now=at)
        elapsed = time.perf_counter() - started
    print(f"profiled batch: {tally.as_dict()} in {elapsed:.2f} s (under cProfile)", flush=True)
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(20)
    pipe.send(warm + tally.counts.get("sent", 0))


def main() -> None:
    fake, url = _fake()
    os.environ["TWILIO_API_BASE"] = url
    os.environ["CLINICFLOW_TEST_SMS_BACKEND"] = "notifications.sms.TwilioBackend"
    os.environ["CLINICFLOW_NOTIFICATIONS_DISPATCH_INLINE"] = "0"
    try:
        n = start(samples=20_000, seed=lambda: None)
        schema, at = _seed(n)
        from django.db import connections
        from django_tenants.utils import schema_context

        from notifications.models import Message, MessageStatus

        connections.close_all()
        context = multiprocessing.get_context("fork")
        profiled = 0
        if os.environ.get("BENCH_PROFILE"):
            ours, theirs = context.Pipe()
            profiler = context.Process(target=_profiled_batch, args=(schema, at, theirs))
            profiler.start()
            profiled = ours.recv()
            profiler.join()
        go = context.Event()
        pipes, workers = [], []
        for _ in range(WORKERS):
            ours, theirs = context.Pipe()
            worker = context.Process(target=_worker, args=(schema, at, go, theirs))
            worker.start()
            pipes.append(ours)
            workers.append(worker)
        started = time.perf_counter()
        go.set()
        answers = [pipe.recv() for pipe in pipes]
        elapsed = time.perf_counter() - started
        sent = sum(count for count, _, _ in answers)
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
        print(
            f"messages sent: {sent} (+ {profiled} in the profiled and warm-up batches; "
            f"rows marked sent with Twilio's sid: {marked}; fake received {len(received)})"
        )
        print(f"total time: {elapsed:.1f} s   throughput: {sent / elapsed:,.0f} messages/s")
        print(f"duplicates (received more than once): {duplicates}   lost (rows not sent): {lost}")
        peaks = ", ".join(f"{peak / 1024:.0f} MiB (at start {start / 1024:.0f})" for _, peak, start in answers)
        print(f"peak RSS per worker: {peaks}   load average at the end: {os.getloadavg()}")
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
