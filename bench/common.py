"""What every benchmark needs: its own database (clinicflow_bench), Django set up against it, and
a small timing helper. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Clinic

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = "clinicflow_bench"


def setup_django() -> None:
    # bench/scheduling.py would shadow the scheduling package: the project root comes first and
    # bench/ itself leaves the path once this module is imported.
    here = Path(__file__).resolve().parent
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != here]
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["PGDATABASE"] = BENCH_DB
    # A benchmark creates, migrates and seeds its own database: it does so as the owner role.
    os.environ["CLINICFLOW_DB_ROLE"] = "owner"
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **connection_params()) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'create database "{BENCH_DB}"')
    import django

    django.setup()
    from django.core.management import call_command

    from tenants.services import platform_ensure_public

    call_command("migrate_schemas", "--shared", verbosity=0)
    platform_ensure_public()
    # Chains seeded by an earlier run follow the migrations made since.
    call_command("migrate_schemas", "--tenant", verbosity=0)


def start(*, samples: int, seed: Callable[[], None]) -> int:
    """Read --samples (the benchmark's default unless given), set Django up against the bench
    database and seed the benchmark's chain once: what each benchmark does before timing."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=samples)
    args = parser.parse_args()
    setup_django()
    seed()
    return int(args.samples)


def bench_chain(
    *, slug: str, name: str, owner_email: str, timezone: str = "Europe/London", currency: str = "GBP"
) -> Clinic:
    """The benchmark's chain in the bench database: the one made on an earlier run, else a new one
    (through the real sign-up service, with its owner)."""
    from tenants.models import Clinic
    from tenants.services import clinic_create

    clinic = Clinic.objects.filter(slug=slug).first()
    if clinic is None:
        clinic, _ = clinic_create(name=name, slug=slug, owner_email=owner_email, timezone=timezone, currency=currency)
    return clinic


def connection_params() -> dict[str, str]:
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "54329"),
        "user": os.environ.get("PGUSER", "clinicflow"),
        "password": os.environ.get("PGPASSWORD", "clinicflow"),
    }


def measure(label: str, fn: Callable[[int], object], samples: int, warmup: int = 5) -> list[float]:
    for i in range(warmup):
        fn(-1 - i)
    timings = []
    for i in range(samples):
        started = time.perf_counter()
        fn(i)
        timings.append((time.perf_counter() - started) * 1000)
    report(label, timings)
    return timings


def report(label: str, timings_ms: list[float]) -> None:
    ordered = sorted(timings_ms)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"{label:<58} p50 {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ordered)})", flush=True)
