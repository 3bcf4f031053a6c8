"""Patient search at scale: one chain with 1M patients.

Seeds the chain "benchpatients" in the database clinicflow_bench once (a minute or two; later runs
reuse it), then prints p50/p95 of the search a receptionist runs as they type: partial names
(accents and case ignored), full names, phone numbers, MRNs and dates of birth, 20 results a page.

    .venv/bin/python bench/patients.py [--samples 300]
"""

from __future__ import annotations

import random
import time

from common import bench_chain, measure, start

SLUG = "benchpatients"
PATIENTS = 1_000_000
FIRST = [
    "Amélie",
    "Oliver",
    "Zoë",
    "Noah",
    "Chloé",
    "Leo",
    "Mia",
    "Arthur",
    "Freya",
    "George",
    "Sofía",
    "Harry",
    "Isla",
    "Jack",
    "Ava",
    "Muhammad",
    "Léa",
    "Oscar",
    "Emily",
    "Thomas",
    "Olivia",
    "James",
    "Ella",
    "William",
    "Grace",
    "Henry",
    "Lily",
    "Charlie",
    "Ivy",
    "Jacob",
    "Aoife",
    "Siobhán",
    "Björn",
    "Małgorzata",
    "José",
]
LAST = [
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Müller",
    "García",
    "Nowak",
    "O'Brien",
    "Kowalski",
    "Dubois",
    "Rossi",
    "Okonkwo",
    "Nguyen",
    "Khan",
    "Patel",
    "Ó Súilleabháin",
    "Fernández",
    "Lindqvist",
    "Ñúñez",
    "Schröder",
    "Van der Berg",
    "McDonald",
    "Jørgensen",
    "Håkansson",
]


def seed() -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    clinic = bench_chain(slug=SLUG, name="Bench Patients", owner_email="owner@benchp.example")
    with schema_context(clinic.schema_name), connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM patients_patient")
        if cur.fetchone()[0] >= PATIENTS:
            return
        print("seeding 1M patients (once)...", flush=True)
        started = time.perf_counter()
        # Names combine a first name, a last name and a suffix number so that most fragments are
        # selective the way real registers are (many surnames, some very common).
        cur.execute(
            """
            INSERT INTO patients_patient (first_name, last_name, date_of_birth, sex, phone, email, address_line,
                city, postcode, country, emergency_contact_name, emergency_contact_phone,
                emergency_contact_relation, preferred_language, created_at)
            SELECT f.names[1 + (g * 7) %% array_length(f.names, 1)],
                   l.names[1 + (g * 13) %% array_length(l.names, 1)]
                     || CASE WHEN g %% 3 = 0 THEN '' ELSE '-' || l.names[1 + (g / 7) %% array_length(l.names, 1)] END
                     || ' ' || (g %% 997)::text,
                   date '1930-01-01' + (g * 37 %% 32000),
                   (ARRAY['female','male','other','unknown'])[1 + g %% 4],
                   '+4479' || lpad(g::text, 8, '0'), '', '', '', '', 'GB', '', '', '', 'en', now()
              FROM generate_series(1, %s) g,
                   (SELECT %s::text[] AS names) f, (SELECT %s::text[] AS names) l
        """,
            [PATIENTS, FIRST, LAST],
        )
        cur.execute("ANALYZE patients_patient")
        print(f"  {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    samples = start(samples=300, seed=seed)
    from django_tenants.utils import schema_context

    from patients.models import Patient
    from patients.selectors import patient_search
    from tenants.models import Clinic

    rng = random.Random(11)
    clinic = Clinic.objects.get(slug=SLUG)
    with schema_context(clinic.schema_name):
        total = Patient.objects.count()
        sample = list(Patient.objects.order_by("?").values("mrn", "phone", "date_of_birth", "last_name")[:200])
        print(f"chain {SLUG}: {total:,} patients", flush=True)

        def run(q: str) -> list[Patient]:
            return list(patient_search(q=q)[:20])

        def fragment(i: int) -> object:
            last = rng.choice(LAST).lower()
            start = rng.randrange(0, max(1, len(last) - 4))
            return run(rng.choice(FIRST)[:3] + " " + last[start : start + 4])

        queries = {
            "first and last name fragments ('ame rson')": fragment,
            "full name ('Amelie Muller')": lambda i: run(f"{rng.choice(FIRST)} {rng.choice(LAST)}"),
            "surname alone, accents off ('nunez')": lambda i: run(
                rng.choice(["nunez", "muller", "garcia", "schroder"])
            ),
            "phone (national digits)": lambda i: run("0" + rng.choice(sample)["phone"][3:]),
            "MRN": lambda i: run(rng.choice(sample)["mrn"]),
            "date of birth": lambda i: run(str(rng.choice(sample)["date_of_birth"])),
        }
        for label, fn in queries.items():
            measure(f"search: {label}", fn, samples)
    print("target: p95 under 30 ms")


if __name__ == "__main__":
    main()
