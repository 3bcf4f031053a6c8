"""Scheduling at scale: one chain with 20 branches, 200 doctors, 500k patients, 1M appointments.

Seeds the chain "benchsched" in the database clinicflow_bench once (a few minutes; later runs reuse
it), then prints p50/p95 of:
  - booking through the service (scheduling.services.appointment_book, committed)
  - booking through the HTTP API (a gunicorn worker on loopback, token auth, JSON)
  - availability of one branch with 10 doctors over 7 days (selector)
  - a branch's day calendar (selector + the API's serialisation, and over HTTP)

    .venv/bin/python bench/scheduling.py [--samples 200]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from common import BENCH_DB, ROOT, bench_chain, measure, start

SLUG = "benchsched"
BRANCHES, DOCTORS, PATIENTS, APPOINTMENTS = 20, 200, 500_000, 1_000_000
SLOTS_PER_DAY = 10  # of 20 half-hours in a 08:00-18:00 shift: every doctor's day is half full
TZ = ZoneInfo("Europe/London")


def seed() -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    from scheduling import services as sched
    from tenants.org import services as org
    from tenants.org.models import Branch, Role, StaffMember

    clinic = bench_chain(slug=SLUG, name="Bench Chain", owner_email="owner@bench.example")
    with schema_context(clinic.schema_name):
        from scheduling.models import CalendarEntry

        if CalendarEntry.objects.count() >= APPOINTMENTS:
            return
        print("seeding (once)...", flush=True)
        owner = StaffMember.objects.get(roles__contains=[Role.OWNER]).user
        started = time.perf_counter()
        branches = list(Branch.objects.all()) or [
            org.branch_create(actor=owner, name=f"Branch {i:02d}", timezone_name="Europe/London")
            for i in range(BRANCHES)
        ]
        service = sched.service_create(actor=owner, name="Consultation", duration_minutes=30)
        for branch in branches:
            sched.branch_hours_replace(actor=owner, branch=branch, hours=[(d, _t(7), _t(20)) for d in range(7)])
        with connection.cursor() as cur:
            # 200 doctors, 10 per branch: users, staff rows, branch links, offerings, weekly shifts
            cur.execute(
                """
                INSERT INTO accounts_user (email, password, first_name, last_name, is_staff, is_superuser,
                                           is_active, date_joined)
                SELECT 'doctor' || g || '@bench.example', '!', 'Doctor', 'No' || g, false, false, true, now()
                FROM generate_series(1, %s) g""",
                [DOCTORS],
            )
            cur.execute("""
                INSERT INTO org_staffmember (user_id, roles, job_title, is_active, created_at)
                SELECT id, ARRAY['doctor'], 'GP', true, now() FROM accounts_user
                 WHERE email LIKE 'doctor%%@bench.example'""")
            cur.execute("SELECT id FROM org_staffmember WHERE 'doctor' = ANY(roles) ORDER BY id")
            doctor_ids = [r[0] for r in cur.fetchall()]
            links = [(d, branches[i % BRANCHES].pk) for i, d in enumerate(doctor_ids)]
            cur.executemany("INSERT INTO org_staffmember_branches (staffmember_id, branch_id) VALUES (%s, %s)", links)
            cur.executemany(
                "INSERT INTO scheduling_doctorservice (doctor_id, service_id, branch_id) VALUES (%s, %s, %s)",
                [(d, service.pk, b) for d, b in links],
            )
            cur.executemany(
                "INSERT INTO scheduling_shiftpattern (doctor_id, branch_id, weekday, starts, ends, valid_from)"
                " VALUES (%s, %s, %s, '08:00', '18:00', '2020-01-01')",
                [(d, b, wd) for d, b in links for wd in range(7)],
            )
            print(f"  staff and shifts: {time.perf_counter() - started:.0f} s", flush=True)
            cur.execute(
                """
                INSERT INTO patients_patient (first_name, last_name, phone, email, created_at)
                SELECT 'Patient', 'No' || g, '+4477009' || lpad(g::text, 6, '0'), '', now()
                FROM generate_series(1, %s) g""",
                [PATIENTS],
            )
            cur.execute("SELECT min(id) FROM patients_patient")
            first_patient = cur.fetchone()[0]
            print(f"  patients: {time.perf_counter() - started:.0f} s", flush=True)
            # 1M appointments: 5,000 per doctor, SLOTS_PER_DAY a day on alternate half-hours, over the
            # days before and after today. At one time, the 200 doctors see 200 different patients.
            per_doctor = APPOINTMENTS // DOCTORS
            days = per_doctor // SLOTS_PER_DAY
            today = date.today()
            first_day = today - timedelta(days=days - 45)
            cur.execute("""
                CREATE TEMP TABLE bench_doctors AS
                SELECT row_number() OVER (ORDER BY s.id) - 1 AS idx, s.id, b.branch_id
                FROM org_staffmember s JOIN org_staffmember_branches b ON b.staffmember_id = s.id
                WHERE 'doctor' = ANY(s.roles)""")
            cur.execute(
                """
                INSERT INTO scheduling_calendarentry
                  (kind, doctor_id, branch_id, patient_id, service_id, span, busy, status, source, is_override,
                   override_reason, notes, cancellation_reason, late_cancellation, hold_token, created_at, updated_at)
                SELECT 'appointment', d.id, d.branch_id,
                       %(first)s + ((g * 200 + d.idx) %% %(patients)s),
                       %(service)s, r, r,
                       CASE WHEN t < now() THEN 'completed' ELSE 'booked' END, 'phone', false,
                       '', '', '', false, '', now(), now()
                FROM bench_doctors d
                CROSS JOIN generate_series(0, %(n)s - 1) g
                CROSS JOIN LATERAL (SELECT ((%(first_day)s::date + (g / %(per_day)s)) + time '08:00'
                                            + ((g %% %(per_day)s) * 2) * interval '30 minutes')
                                           AT TIME ZONE 'Europe/London' AS t) ts
                CROSS JOIN LATERAL (SELECT tstzrange(ts.t, ts.t + interval '30 minutes', '[)') AS r) rr
            """,
                {
                    "first": first_patient,
                    "patients": PATIENTS,
                    "service": service.pk,
                    "n": per_doctor,
                    "first_day": first_day,
                    "per_day": SLOTS_PER_DAY,
                },
            )
            cur.execute("ANALYZE")
        print(f"  appointments: {time.perf_counter() - started:.0f} s", flush=True)


def _t(hour: int):  # type: ignore[no-untyped-def]
    from datetime import time as dtime

    return dtime(hour)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    samples = start(samples=200, seed=seed)

    from django.db import transaction
    from django_tenants.utils import schema_context

    from scheduling import selectors
    from scheduling import services as sched
    from scheduling.api.serializers import calendar_row_out
    from scheduling.models import CalendarEntry, Service
    from tenants.accounts.services import api_token_issue
    from tenants.models import Clinic
    from tenants.org.models import Branch, Role, StaffMember

    clinic = Clinic.objects.get(slug=SLUG)
    rng = random.Random(7)
    with schema_context(clinic.schema_name):
        owner = StaffMember.objects.get(roles__contains=[Role.OWNER]).user
        service = Service.objects.get(name="Consultation")
        branches = list(Branch.objects.order_by("pk"))
        count = CalendarEntry.objects.count()
        print(
            f"chain {SLUG}: {len(branches)} branches, {StaffMember.objects.filter(roles__contains=['doctor']).count()}"
            f" doctors, {count:,} calendar entries",
            flush=True,
        )
        week = date.today() + timedelta(days=7)
        made: list[int] = []

        def availability(i: int) -> object:
            branch = branches[i % len(branches)]
            return selectors.slot_list_available(
                service=service, branch=branch, date_from=week, date_to=week + timedelta(days=6), step=30
            )

        measure("availability: 1 branch, 10 doctors, 7 days", availability, samples)
        print(f"  ({len(availability(0))} free slots offered in that week)")

        # free slots to book, spread over branches and days
        offers = []
        for b in branches:
            offers += selectors.slot_list_available(
                service=service, branch=b, date_from=week, date_to=week + timedelta(days=6), step=30
            )
        rng.shuffle(offers)
        doctors = {d.pk: d for d in StaffMember.objects.filter(roles__contains=["doctor"]).prefetch_related("branches")}
        branch_of = {d: next(iter(doc.branches.all())) for d, doc in doctors.items()}
        patients = list(range(1, 500_000))

        from patients.models import Patient

        def book(i: int) -> object:
            slot = offers.pop()
            appointment = sched.appointment_book(
                actor=owner,
                patient=Patient(pk=rng.choice(patients)),
                doctor=doctors[slot.doctor_id],
                branch=branch_of[slot.doctor_id],
                service=service,
                start=slot.start,
            )
            made.append(appointment.pk)
            return appointment

        measure("booking through the service (committed)", book, samples)

        def day_calendar(i: int) -> object:
            branch = branches[i % len(branches)]
            rows = selectors.branch_day_rows(branch=branch, day=week + timedelta(days=i % 7))
            return [calendar_row_out(r) for r in rows]

        measure("day calendar of a branch (query + serialisation)", day_calendar, samples)
        print(f"  ({len(day_calendar(0))} entries that day)")
        # A token straight from the service: the owner's sign-in would ask for a second factor.
        _, key = api_token_issue(user=owner, client_name="bench")

    # --- over HTTP: a real gunicorn worker on loopback ---------------------------------------------
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PGDATABASE": BENCH_DB,
        "CLINICFLOW_PORT": str(port),
    }
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Host": f"{SLUG}.localhost", "Authorization": f"Token {key}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: object = None) -> dict:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
            return json.loads(data)

        def book_http(i: int) -> object:
            slot = offers.pop()
            created = call(
                "POST",
                "/api/v1/appointments/",
                {
                    "patient": rng.choice(patients),
                    "doctor": slot.doctor_id,
                    "branch": branch_of[slot.doctor_id].pk,
                    "service": service.pk,
                    "start": slot.start.isoformat(),
                },
            )
            made.append(created["id"])
            return created

        measure("booking through the HTTP API (gunicorn, loopback)", book_http, samples)

        def day_http(i: int) -> object:
            branch = branches[i % len(branches)]
            return call("GET", f"/api/v1/calendar/branches/{branch.pk}/day/{week + timedelta(days=i % 7)}/")

        measure("day calendar through the HTTP API", day_http, samples)

        def availability_http(i: int) -> object:
            branch = branches[i % len(branches)]
            return call(
                "GET",
                f"/api/v1/availability/?service={service.pk}&branch={branch.pk}"
                f"&date_from={week}&date_to={week + timedelta(days=6)}&step=30",
            )

        measure("availability through the HTTP API", availability_http, samples)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        with schema_context(clinic.schema_name), transaction.atomic():
            # keep the data set as it was for the next run
            CalendarEntry.history.filter(id__in=made).delete()
            CalendarEntry.objects.filter(pk__in=made).delete()
    print("targets: availability p95 < 20 ms, booking through HTTP p95 < 25 ms, day calendar p95 < 15 ms")


if __name__ == "__main__":
    main()
