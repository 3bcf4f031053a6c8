"""Reporting at scale: one chain with 5,000,000 appointments over two years, and how fast its
dashboards answer.

Seeds the chain "benchreport" in clinicflow_bench (``--reuse`` keeps the one an earlier run made;
without it the chain is made afresh): branches, doctors with weekly shifts, services, rooms and a
package, then two years of history written by the demo's own generator (frontend/demo_history.py)
at this scale: appointments with every outcome and source, patients, leave, invoices, payments,
refunds, credit notes, messages, follow-ups and package sessions in proportion. The reporting
triggers are held back while the history goes in (``marks_paused``; the bench runs as the owner).
With ``--defer`` the bulk tables' foreign keys, exclusion and unique constraints and secondary
indexes are dropped while the rows go in and put back after, each then checked against every row
(about 1.7 times faster at 100k appointments). Then it prints:

  (a-c) rollups_rebuild over the whole period (``--no-rebuild``: the rollups an earlier run built),
        the rows a month of each rollup holds, then p50/p95 of the owner's overview of a month, a
        branch's month and a doctor's drill-down (reporting.selectors figures_overview,
        figures_branch, figures_doctor), each over ``--samples`` runs on different months,
        branches and doctors (target under 50 ms each), sampled over the months the history
        fills;
  (d)   what the rollup marks add to a booking: ``--bookings`` bookings through
        scheduling.services.appointment_book with the ``reporting_marks*`` triggers enabled and as
        many with them disabled, in alternating blocks, and the difference per booking on the wall
        clock; beside it the mark functions' own time over the bookings with them, as PostgreSQL
        counts it (pg_stat_user_functions, track_functions = pl), per booking (target under 1 ms);
  (e)   the time of rollups_refresh_all() after a burst of 100 bookings (how stale figures get);
  and the peak RSS of this process.

    .venv/bin/python bench/reporting.py [--appointments 5000000] [--reuse] [--defer] [--samples 200]
                                        [--bookings 300] [--seed-only] [--no-rebuild]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from datetime import date, timedelta
from typing import Any

from common import bench_chain, measure, report, setup_django

SLUG = "benchreport"
OWNER = "owner@benchreport.example"
#: Appointment rows one doctor's two years come to (every outcome, cancelled ones and the times they
#: freed taken again), measured on the generator at this plan: the doctors are the target over this.
PER_DOCTOR = 5_400
DOCTORS_PER_BRANCH = 20
SERVICES = [
    # name, minutes, buffer after, price, needs a room, how often chosen
    ("Consultation", 20, 5, 6500, False, 6.0),
    ("Review", 10, 0, 3500, False, 2.0),
    ("Physiotherapy", 45, 10, 7500, True, 4.0),
    ("Minor procedure", 60, 15, 24000, True, 0.6),
]
# weekdays, start, end, lunch
SHIFTS = [
    ((0, 1, 2, 3, 4), 8, 16, (12, 13)),
    ((0, 1, 2, 3, 4), 10, 18, (13, 14)),
    ((0, 1, 2, 3, 5), 9, 17, (12, 13)),
]


def _t(hour: int) -> Any:
    from datetime import time as dtime

    return dtime(hour) if hour < 24 else None


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drop(slug: str) -> None:
    from tenants.models import Clinic

    for clinic in Clinic.objects.filter(slug=slug):
        print(f"dropping the earlier {slug} chain ...", flush=True)
        clinic.delete(force_drop=True)


def _frame(appointments: int) -> None:
    """Branches, services, rooms, hours, a package and the doctors with their shifts."""
    from django.db import connection

    from invoicing import services as billing
    from packages import services as pkg
    from scheduling import services as sched
    from tenants.accounts.models import User
    from tenants.org import services as org

    owner = User.objects.get(email=OWNER)
    doctors = max(2, round(appointments / PER_DOCTOR))
    branch_count = max(2, -(-doctors // DOCTORS_PER_BRANCH))
    started = time.perf_counter()
    branches = [
        org.branch_create(actor=owner, name=f"Branch {i + 1:02d}", timezone_name="Europe/London")
        for i in range(branch_count)
    ]
    services = [
        sched.service_create(
            actor=owner,
            name=name,
            duration_minutes=minutes,
            buffer_after_minutes=after,
            price_minor=price,
            requires_room=room,
        )
        for name, minutes, after, price, room, _ in SERVICES
    ]
    weekly = [(d, _t(8), _t(19)) for d in range(5)] + [(5, _t(9), _t(13))]
    for branch in branches:
        sched.branch_hours_replace(actor=owner, branch=branch, hours=weekly)
        for n in range(3):
            sched.room_create(actor=owner, branch=branch, name=f"Room {n + 1}")
    billing.tax_rate_create(actor=owner, name="VAT exempt (medical care)", rate_bp=0, is_default=True)
    pkg.product_create(
        actor=owner, name="Physio 10", services=[services[2]], sessions=10, price_minor=65000, validity_days=180
    )
    since = date.today() - timedelta(days=800)
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO accounts_user (email, password, first_name, last_name, is_staff, is_superuser,
                                       is_active, date_joined)
            SELECT 'doctor' || g || '@benchreport.example', '!', 'Doctor', 'No ' || g, false, false, true, now()
              FROM generate_series(1, %s) g""",
            [doctors],
        )
        cur.execute("""
            INSERT INTO org_staffmember (user_id, roles, job_title, is_active, created_at)
            SELECT id, ARRAY['doctor'], 'GP', true, now() FROM accounts_user
             WHERE email LIKE 'doctor%%@benchreport.example' ORDER BY id""")
        cur.execute("SELECT id FROM org_staffmember WHERE 'doctor' = ANY(roles) ORDER BY id")
        doctor_ids = [r[0] for r in cur.fetchall()]
        links = [(d, branches[i % branch_count].pk) for i, d in enumerate(doctor_ids)]
        cur.executemany("INSERT INTO org_staffmember_branches (staffmember_id, branch_id) VALUES (%s, %s)", links)
        offers = []
        for i, (d, b) in enumerate(links):
            offered = [services[0], services[1]]
            if i % 3 == 0:
                offered.append(services[2])
            if i % 5 == 0:
                offered.append(services[3])
            offers += [(d, s.pk, b) for s in offered]
        cur.executemany(
            "INSERT INTO scheduling_doctorservice (doctor_id, service_id, branch_id) VALUES (%s, %s, %s)", offers
        )
        patterns = []
        for i, (d, b) in enumerate(links):
            weekdays, h1, h2, (l1, l2) = SHIFTS[i % len(SHIFTS)]
            for wd in weekdays:
                if wd == 5:
                    patterns.append((d, b, wd, _t(9), _t(13), None, None, since))
                else:
                    patterns.append((d, b, wd, _t(h1), _t(h2), _t(l1), _t(l2), since))
        cur.executemany(
            "INSERT INTO scheduling_shiftpattern (doctor_id, branch_id, weekday, starts, ends, break_starts,"
            " break_ends, valid_from) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            patterns,
        )
    print(
        f"  frame: {branch_count} branches, {doctors} doctors, {len(services)} services in"
        f" {time.perf_counter() - started:.0f} s",
        flush=True,
    )


#: The tables the history fills in bulk: with --defer, their foreign keys, exclusion and unique
#: constraints and secondary indexes are dropped while the rows go in and put back after (each
#: checked then against every row), instead of being checked and maintained row by row.
BULK_TABLES = (
    "patients_patient",
    "scheduling_calendarentry",
    "invoicing_invoice",
    "invoicing_invoiceline",
    "invoicing_payment",
    "notifications_message",
    "patients_followup",
)


def _constraints_off() -> list[str]:
    """Drop the bulk tables' constraints (but primary keys and checks) and secondary indexes; the
    statements that put them back."""
    from django.db import connection

    restore: list[str] = []
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'x', 'u') ORDER BY contype DESC, conname
            """,
            [list(BULK_TABLES)],
        )
        for table, name, definition in cur.fetchall():
            restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
             WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [list(BULK_TABLES)],
        )
        for name, definition in cur.fetchall():
            restore.insert(0, definition)
            cur.execute(f"DROP INDEX {name}")
    return restore


def _constraints_on(restore: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for statement in restore:
            cur.execute(statement)


def seed(appointments: int, reuse: bool, defer: bool) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    from frontend.demo_history import HistoryPlan, history_write, marks_paused
    from scheduling.models import Appointment, Service
    from tenants.org.models import Branch, StaffMember

    if not reuse:
        _drop(SLUG)
    clinic = bench_chain(slug=SLUG, name="Bench Reporting", owner_email=OWNER)
    with schema_context(clinic.schema_name):
        if Appointment.objects.exists():
            with connection.cursor() as cur:  # a seeding stopped half-way leaves the bulk tables bare
                cur.execute(
                    "SELECT count(*) FROM pg_index WHERE indrelid = 'notifications_message'::regclass"
                    " AND NOT indisprimary"
                )
                if cur.fetchone()[0] == 0:
                    raise SystemExit(f"the chain {SLUG}'s seeding did not finish: run without --reuse")
            print(f"reusing chain {SLUG}", flush=True)
            return
        print(f"seeding {SLUG}: about {appointments:,} appointments over two years ...", flush=True)
        started = time.perf_counter()
        _frame(appointments)
        branches = list(Branch.objects.order_by("pk"))
        doctors = list(StaffMember.objects.filter(roles__contains=["doctor"]).order_by("pk"))
        weights = {s.pk: w for (name, *_, w) in SERVICES for s in Service.objects.filter(name=name)}
        plan = HistoryPlan(
            days_ahead=14,
            seed=5,
            cancel_heavy_branch=branches[1].pk,
            no_show_doctor=doctors[0].pk,
            overloaded_doctor=doctors[1].pk,
            service_weights=weights,
            remind_ahead=False,
            chunk_days=3,
        )
        restore = _constraints_off() if defer else []
        try:
            with marks_paused() as paused:
                written = history_write(plan=plan)
        finally:
            if restore:
                began = time.perf_counter()
                _constraints_on(restore)
                print(
                    f"  {len(restore)} constraints and indexes put back in {time.perf_counter() - began:.0f} s",
                    flush=True,
                )
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        took = time.perf_counter() - started
        print(
            f"  history: {written.rows['appointments']:,} appointments, {written.rows['patients']:,} patients,"
            f" {written.rows['invoicing_invoice']:,} invoices, {written.rows['invoicing_payment']:,} payments,"
            f" {written.rows['messages']:,} messages, {written.rows['leave']:,} leave in {took:.0f} s"
            f" ({written.rows['appointments'] / took:,.0f} appointments/s; marks paused: {paused})",
            flush=True,
        )


def _months(first: date, last: date) -> list[date]:
    out, day = [], first.replace(day=1)
    while day <= last:
        if day >= first:
            out.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=5_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the chain an earlier run made")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--bookings", type=int, default=300, help="bookings with the marks, and as many without")
    parser.add_argument(
        "--defer", action="store_true", help="drop the bulk tables' constraints and indexes while seeding, then restore"
    )
    parser.add_argument("--seed-only", action="store_true", help="seed the chain and stop")
    parser.add_argument(
        "--no-rebuild", action="store_true", help="read the rollups an earlier run built instead of building them again"
    )
    args = parser.parse_args()
    setup_django()
    seed(args.appointments, args.reuse, args.defer)
    if args.seed_only:
        return

    from django.db import connection, transaction
    from django.db.models import Count
    from django_tenants.utils import schema_context

    from config.errors import ApplicationError
    from reporting.models import (
        BranchDay,
        BranchMoneyDay,
        BranchServiceDay,
        Dirty,
        DoctorDay,
        MoneyDay,
        ServiceDay,
    )
    from reporting.period import Period
    from reporting.rollups import AHEAD_DAYS, rollups_rebuild, rollups_refresh_all
    from reporting.selectors import figures_branch, figures_doctor, figures_overview
    from scheduling import services as sched
    from scheduling.models import Appointment, CalendarEntry, Service
    from scheduling.selectors import slot_list_available
    from tenants.accounts.models import User
    from tenants.models import Clinic
    from tenants.org.models import Branch, StaffMember

    clinic = Clinic.objects.get(slug=SLUG)
    rng = random.Random(3)
    with connection.cursor() as cur:  # rows written in bulk: the planner needs their statistics
        cur.execute("ANALYZE")
    with schema_context(clinic.schema_name):
        owner = User.objects.get(email=OWNER)
        branches = list(Branch.objects.order_by("pk"))
        doctors = list(StaffMember.objects.filter(roles__contains=["doctor"]).order_by("pk"))
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                [clinic.schema_name],
            )
            size = cur.fetchone()[0]
            cur.execute(
                "SELECT min(lower(span)), max(lower(span)), max(lower(span)) FILTER (WHERE lower(span) < now())"
                " FROM scheduling_calendarentry WHERE kind = 'appointment'"
            )
            lo, hi, history_end = cur.fetchone()
        print(
            f"chain {SLUG}: {len(branches)} branches, {len(doctors)} doctors,"
            f" {Appointment.objects.count():,} appointments from {lo:%Y-%m-%d} to {hi:%Y-%m-%d}; schema {size}",
            flush=True,
        )
        today = date.today()
        first, last = lo.date(), today + timedelta(days=AHEAD_DAYS)

        # (a-c) the figures of the whole period, then the dashboards
        if args.no_rebuild and DoctorDay.objects.exists():
            print("rollups_rebuild: skipped (--no-rebuild: the rollups an earlier run built are read)", flush=True)
        else:
            started = time.perf_counter()
            with transaction.atomic():
                # The bench is the only writer: the marks its set-up left are what the rebuild computes.
                Dirty.objects.all().delete()
                cells = rollups_rebuild(first=first, last=last)
            rebuilt = time.perf_counter() - started
            print(
                f"rollups_rebuild {first} .. {last}: {rebuilt:.1f} s ({len(cells.visits):,} doctor-days,"
                f" {len(cells.money):,} money and {len(cells.messages):,} message cells;"
                f" {DoctorDay.objects.count():,} DoctorDay rows)",
                flush=True,
            )
        with connection.cursor() as cur:  # the rollups were written in bulk: the planner needs their statistics
            cur.execute(
                "ANALYZE reporting_doctorday, reporting_serviceday, reporting_moneyday, reporting_branchday,"
                " reporting_branchserviceday, reporting_branchmoneyday"
            )
        # the months the history fills (bookings earlier runs made lie ahead of today)
        months = [
            Period.month_of(m)
            for m in _months(first + timedelta(days=62), min(today, history_end.date()) - timedelta(days=31))
        ]
        rollup_tables = (DoctorDay, ServiceDay, MoneyDay, BranchDay, BranchServiceDay, BranchMoneyDay)
        newest = (months[-1].first, months[-1].last)
        counts = ", ".join(f"{m.__name__} {m.objects.filter(day__range=newest).count():,}" for m in rollup_tables)
        print(f"rows of {months[-1].first:%B %Y} in each rollup: {counts}", flush=True)
        busy = {
            d: b
            for d, b in DoctorDay.objects.filter(day__gte=today - timedelta(days=90), booked_minutes__gt=0)
            .values_list("doctor_id", "branch_id")
            .distinct()
        }
        pairs = sorted(busy.items())
        results: dict[str, list[float]] = {}

        def overview(i: int) -> object:
            return figures_overview(actor=owner, period=months[i % len(months)])

        def branch_month(i: int) -> object:
            return figures_branch(
                actor=owner, branch_id=branches[i % len(branches)].pk, period=months[(i * 7) % len(months)]
            )

        def doctor_drill(i: int) -> object:
            doctor, branch = pairs[(i * 13) % len(pairs)]
            return figures_doctor(actor=owner, doctor_id=doctor, branch_id=branch, period=months[(i * 5) % len(months)])

        for label, fn in (
            ("(a) owner's overview of a month (figures_overview)", overview),
            ("(b) a branch's month (figures_branch)", branch_month),
            ("(c) a doctor's drill-down, a month (figures_doctor)", doctor_drill),
        ):
            results[label] = measure(label, fn, args.samples)

        # (d) what the marks cost a booking
        service = Service.objects.get(name="Consultation")
        patients = list(
            CalendarEntry.objects.filter(kind="appointment").values_list("patient_id", flat=True).distinct()[:20000]
        )
        rng.shuffle(patients)
        slots = []
        for n in range(30, 400):
            day = today + timedelta(days=n)
            for branch in rng.sample(branches, min(4, len(branches))):
                found = list(slot_list_available(service=service, branch=branch, date_from=day, date_to=day, step=30))
                rng.shuffle(found)
                slots += [(branch, s) for s in found[:40]]
            if len(slots) >= 3 * args.bookings + 600:
                break
        rng.shuffle(slots)
        staff = {d.pk: d for d in doctors}
        from patients.models import Patient

        people = {p.pk: p for p in Patient.objects.filter(pk__in=patients[: 3 * args.bookings + 600])}
        queue = list(zip(slots, people.values(), strict=False))

        def book_one() -> float:
            """One booking through the one door, timed; a time an earlier run took is passed over."""
            while True:
                (branch, slot), patient = queue.pop()
                began = time.perf_counter()
                try:
                    sched.appointment_book(
                        actor=owner,
                        patient=patient,
                        doctor=staff[slot.doctor_id],
                        branch=branch,
                        service=service,
                        start=slot.start,
                        source="phone",
                    )
                except ApplicationError:
                    continue
                return (time.perf_counter() - began) * 1000

        from frontend.demo_history import MARK_TRIGGERS

        tables = ("scheduling_calendarentry", "notifications_message", "invoicing_invoice", "invoicing_payment")

        def triggers(action: str) -> None:
            with connection.cursor() as cur:
                for table in tables:
                    cur.execute(f"ALTER TABLE {table} " + ", ".join(f"{action} TRIGGER {t}" for t in MARK_TRIGGERS))

        def marks_time() -> tuple[int, float]:
            """The calls and total milliseconds of the mark functions, as PostgreSQL counts them."""
            with connection.cursor() as cur:
                cur.execute("SELECT pg_stat_force_next_flush()")
            with connection.cursor() as cur:
                cur.execute("SELECT pg_stat_clear_snapshot()")
                cur.execute(
                    "SELECT coalesce(sum(calls), 0), coalesce(sum(total_time), 0) FROM pg_stat_user_functions"
                    " WHERE schemaname = current_schema() AND funcname LIKE 'reporting_mark_%%'"
                )
                calls, total = cur.fetchone()
                return int(calls), float(total)

        with connection.cursor() as cur:
            cur.execute("SET track_functions = 'pl'")  # the functions' own time (the bench runs as the owner)
        on: list[float] = []
        off: list[float] = []
        for _ in range(3):  # warm-up
            book_one()
        block = 20
        timed_calls, timed_ms = 0, 0.0
        try:
            while len(on) < args.bookings:
                triggers("ENABLE")
                calls, total = marks_time()
                on += [book_one() for _ in range(block)]
                calls_after, total_after = marks_time()
                timed_calls += calls_after - calls
                timed_ms += total_after - total
                triggers("DISABLE")
                off += [book_one() for _ in range(block)]
        finally:
            triggers("ENABLE")
        report("(d) a booking with the rollup marks (appointment_book)", on)
        report("    the same booking without them (triggers disabled)", off)
        print(
            f"    marks add per booking: {statistics.mean(on) - statistics.mean(off):+.3f} ms on the mean,"
            f" {statistics.median(on) - statistics.median(off):+.3f} ms on the median (wall clock, noisy)",
            flush=True,
        )
        print(
            f"    as PostgreSQL times them (pg_stat_user_functions): {timed_calls} calls of the mark functions in"
            f" {len(on)} bookings, {timed_ms:.1f} ms in all: {timed_ms / len(on):.3f} ms a booking"
            f" (target under 1 ms)",
            flush=True,
        )

        # (e) how stale the figures can get: a refresh after a burst of bookings
        rollups_refresh_all()
        for _ in range(100):
            book_one()
        waiting = Dirty.objects.count()
        by_scope = ", ".join(
            f"{r['scope']} {r['n']}" for r in Dirty.objects.values("scope").annotate(n=Count("id")).order_by("scope")
        )
        started = time.perf_counter()
        taken = rollups_refresh_all()
        print(
            f"(e) rollups_refresh_all() after 100 bookings: {(time.perf_counter() - started) * 1000:.0f} ms"
            f" ({waiting} marks waiting, {taken} taken: {waiting / 100:.1f} marks a booking; {by_scope})",
            flush=True,
        )
    print(f"peak RSS of this process: {_rss_mb():.0f} MB", flush=True)


if __name__ == "__main__":
    main()
