"""How long does provisioning one more clinic chain take when 200 already exist?

Creates (once) up to 200 chains in a throw-away database `clinicflow_bench`, then times a number of
further provisionings (schema + migrations + domain + profile + owner) and prints the figures.

    .venv/bin/python bench/provision.py [--existing 200] [--samples 5] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["PGDATABASE"] = "clinicflow_bench"


def ensure_database() -> None:
    import psycopg

    params = {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "54329"),
        "user": os.environ.get("PGUSER", "clinicflow"),
        "password": os.environ.get("PGPASSWORD", "clinicflow"),
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("select 1 from pg_database where datname = 'clinicflow_bench'").fetchone():
            conn.execute("create database clinicflow_bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=200)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    from tenants.models import Clinic
    from tenants.services import clinic_create, platform_ensure_public

    call_command("migrate_schemas", "--shared", verbosity=0)
    platform_ensure_public()

    def create(slug: str) -> float:
        started = time.perf_counter()
        clinic_create(name=slug, slug=slug, owner_email=f"o@{slug}.example", timezone="UTC", currency="EUR")
        return time.perf_counter() - started

    have = Clinic.objects.filter(slug__startswith="base-").count()
    if have < args.existing:
        print(f"seeding {args.existing - have} chains (once; kept in clinicflow_bench)...", flush=True)
        for i in range(have, args.existing):
            create(f"base-{i:04d}")
    existing = Clinic.objects.exclude(schema_name="public").count()

    timings = []
    for _ in range(args.samples):
        slug = f"probe-{time.time_ns() % 10**12}"
        timings.append(create(slug))
        Clinic.objects.get(slug=slug).delete(force_drop=True)  # keep the population at --existing

    print(f"existing chains: {existing}")
    print(
        f"provision one chain: median {statistics.median(timings):.3f} s, max {max(timings):.3f} s "
        f"over {len(timings)} samples"
    )
    print("target: under 2 s")


if __name__ == "__main__":
    main()
