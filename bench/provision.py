"""How long does provisioning one more clinic chain take when 200 already exist?

Creates (once) up to 200 chains in a throw-away database `clinicflow_bench`, then times a number of
further provisionings (schema + migrations + domain + profile + owner) and prints the figures.

    .venv/bin/python bench/provision.py [--existing 200] [--samples 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--existing", type=int, default=200)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()

    setup_django()
    from tenants.models import Clinic
    from tenants.services import clinic_create

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
        Clinic.objects.get(slug=slug).delete(force_drop=True)  # keep the population as it was

    print(f"existing chains: {existing}")
    print(
        f"provision one chain: median {statistics.median(timings):.3f} s, max {max(timings):.3f} s "
        f"over {len(timings)} samples"
    )
    print("target: under 2 s")


if __name__ == "__main__":
    main()
