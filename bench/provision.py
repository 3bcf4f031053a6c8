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
    from tenants.services import clinic_create, clinic_spares_replenish

    def create(slug: str) -> float:
        started = time.perf_counter()
        clinic_create(name=slug, slug=slug, owner_email=f"o@{slug}.example", timezone="UTC", currency="EUR")
        return time.perf_counter() - started

    def drop_spares() -> None:
        for spare in Clinic.objects.filter(status=Clinic.Status.SPARE):
            spare.delete(force_drop=True)

    drop_spares()
    have = Clinic.objects.filter(slug__startswith="base-").count()
    if have < args.existing:
        print(f"seeding {args.existing - have} chains (once; kept in clinicflow_bench)...", flush=True)
        for i in range(have, args.existing):
            create(f"base-{i:04d}")
    existing = Clinic.objects.exclude(schema_name="public").count()

    def sample(with_spare: bool) -> list[float]:
        timings = []
        for _ in range(args.samples):
            # What the periodic task does in the background between two sign-ups (not timed).
            drop_spares()
            if with_spare:
                clinic_spares_replenish(target=1)
            slug = f"probe-{time.time_ns() % 10**12}"
            timings.append(create(slug))
            Clinic.objects.get(slug=slug).delete(force_drop=True)  # keep the population as it was
        return timings

    print(f"existing chains: {existing}")
    for label, with_spare in (("with a spare schema ready (normal)", True), ("cold, migrating a new schema", False)):
        timings = sample(with_spare)
        print(
            f"provision one chain, {label}: median {statistics.median(timings):.3f} s, "
            f"max {max(timings):.3f} s over {len(timings)} samples"
        )
    print("target: under 2 s")


if __name__ == "__main__":
    main()
