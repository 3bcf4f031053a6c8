"""Booking by day: which days of a month have a free time, at a branch with 15 doctors.

Seeds the chain "benchdays" in clinicflow_bench once: one branch open 08:00-18:00 every day, 15
doctors on shift 08:00-18:00, each half booked (10 of 20 half-hours) on every day of the next five
weeks, and every doctor fully booked on every seventh day (a full day). Then prints p50/p95 of:
  - scheduling.free_days.free_days over a month (any doctor, and one doctor)
  - scheduling.free_days.day_picker (the month, the chosen day's times, next free day)
  - GET /api/v1/availability/days/ for a month, through Django's stack in-process

    .venv/bin/python bench/free_days.py [--samples 100]
"""

from __future__ import annotations

from datetime import date, time, timedelta

from common import bench_chain, measure, start

SLUG = "benchdays"
DOCTORS = 15
DAYS = 35


def _first_day() -> date:
    return date.today() + timedelta(days=1)


def seed() -> None:
    from django_tenants.utils import schema_context

    clinic = bench_chain(slug=SLUG, name="Bench Days", owner_email="owner@benchdays.example")
    with schema_context(clinic.schema_name):
        from scheduling.models import Appointment

        if Appointment.objects.filter(branch__name="Days").exists():
            return
        print("seeding (once)...", flush=True)
        from scheduling import services as sched
        from tenants.accounts.models import User
        from tenants.org import services as org
        from tests.factories import Chain
        from tests.factories.scheduling import clinic_setup

        owner = User.objects.get(email="owner@benchdays.example")
        branch = org.branch_create(actor=owner, name="Days", timezone_name="Europe/London")
        chain = Chain(clinic=clinic, host=f"{SLUG}.localhost", users={"owner": owner}, branches=[branch])
        setup = clinic_setup(
            chain, branch=branch, doctors=DOCTORS, opens=time(8), closes=time(18), shift=(time(8), time(18))
        )
        patients = [setup.patient() for _ in setup.doctors]  # each doctor's own: never two places at once
        first = _first_day()
        for n in range(DAYS):
            day = first + timedelta(days=n)
            full = n % 7 == 3
            for i, doctor in enumerate(setup.doctors):
                for slot in range(0, 20, 1 if full else 2):
                    sched.appointment_book(
                        actor=owner,
                        patient=patients[i],
                        doctor=doctor,
                        branch=branch,
                        service=setup.service,
                        start=setup.at(day, 8) + timedelta(minutes=30 * slot),
                    )


def main() -> None:
    samples = start(samples=100, seed=seed)
    from django.test import Client
    from django_tenants.utils import schema_context

    from scheduling.free_days import day_picker, free_days
    from scheduling.models import Service
    from tenants.accounts.models import User
    from tenants.org.models import Branch
    from tests.helpers import sign_in

    with schema_context(SLUG):
        branch = Branch.objects.get(name="Days")
        service = Service.objects.filter(offerings__branch=branch).distinct().get()
        doctor_id = service.offerings.filter(branch=branch).values_list("doctor_id", flat=True).first()
        first = _first_day()
        last = first + timedelta(days=30)
        days = free_days(service=service, branch=branch, date_from=first, date_to=last, step=30)
        print(f"{len(days)} days, {sum(d.free for d in days)} with free times, {sum(d.free_times for d in days)} times")
        measure(
            "free_days: a month, any of 15 doctors",
            lambda _: free_days(service=service, branch=branch, date_from=first, date_to=last, step=30),
            samples,
        )
        measure(
            "free_days: a month, one doctor",
            lambda _: free_days(
                service=service, branch=branch, date_from=first, date_to=last, doctor_ids=[doctor_id], step=30
            ),
            samples,
        )
        measure(
            "day_picker: the month, a full day and its next free day",
            lambda _: day_picker(service=service, branch=branch, day=first + timedelta(days=3), step=30),
            samples,
        )
        owner = User.objects.get(email="owner@benchdays.example")
        client = Client(HTTP_HOST=f"{SLUG}.localhost")
        sign_in(client, owner)
        url = (
            f"/api/v1/availability/days/?service={service.pk}&branch={branch.pk}"
            f"&date_from={first}&date_to={last}&step=30"
        )
        assert client.get(url).status_code == 200
        measure("GET /api/v1/availability/days/ (a month, in-process)", lambda _: client.get(url), samples)


if __name__ == "__main__":
    main()
