"""Server time of the desk's appointment book: one branch, 15 doctors, 300 appointments that day.

Seeds the chain "benchpages" in clinicflow_bench once, then times full requests through Django's
stack in-process (routing by host, session auth, permissions, queries, JSON, access log): the book's
data request (the JSON feed the calendar loads, and fetches again every 10 s at every desk), and the
page around it. Target: the feed's p95 under 30 ms.

    .venv/bin/python bench/pages.py [--samples 200]
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from common import bench_chain, measure, start

SLUG = "benchpages"
DOCTORS = 15
DAY = date.today() + timedelta(days=3)


def seed() -> None:
    """The branch, its 15 doctors and one service (made once), and 300 appointments on DAY (made on
    each day the bench runs: a bench database kept from an earlier day still measures a full day)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django_tenants.utils import schema_context

    from patients.services import patient_create
    from scheduling import services as sched
    from scheduling.models import Appointment, Service
    from scheduling.selectors import doctors_offering
    from tenants.accounts.models import User
    from tenants.org.models import Branch

    clinic = bench_chain(slug=SLUG, name="Bench Pages", owner_email="owner@benchpages.example")
    with schema_context(clinic.schema_name):
        owner = User.objects.get(email="owner@benchpages.example")
        branch = Branch.objects.filter(name="Front").first()
        if branch is None:
            branch = _branch(clinic, owner)
        if Appointment.objects.filter(branch=branch, span__startswith__date=DAY).exists():
            return
        service = Service.objects.filter(offerings__branch=branch).distinct().get()
        tz = ZoneInfo(branch.timezone)
        for n, doctor in enumerate(doctors_offering(branch=branch)):
            for slot in range(20):
                patient = patient_create(actor=owner, first_name=f"Bench{n}", last_name=f"{DAY} {slot}")
                sched.appointment_book(
                    actor=owner,
                    patient=patient,
                    doctor=doctor,
                    branch=branch,
                    service=service,
                    start=datetime.combine(DAY, time(8), tzinfo=tz) + timedelta(minutes=30 * slot),
                )


def _branch(clinic: Any, owner: Any) -> Any:
    from tenants.org import services as org
    from tests.factories import Chain
    from tests.factories.scheduling import clinic_setup

    owner.set_password("Bench-pages-2026")
    owner.save()
    branch = org.branch_create(actor=owner, name="Front", timezone_name="Europe/London")
    chain = Chain(clinic=clinic, host=f"{SLUG}.localhost", users={"owner": owner}, branches=[branch])
    clinic_setup(
        chain, branch=branch, doctors=DOCTORS, duration=30, opens=time(8), closes=time(18), shift=(time(8), time(18))
    )
    return branch


def main() -> None:
    samples = start(samples=200, seed=seed)
    from django.test import Client
    from django_tenants.utils import schema_context

    from scheduling.models import Appointment
    from tenants.accounts.models import User
    from tenants.org.models import Branch
    from tests.helpers import sign_in

    with schema_context(SLUG):
        branch = Branch.objects.get(name="Front")
        count = Appointment.objects.filter(branch=branch, span__startswith__date=DAY).count()
        owner = User.objects.get(email="owner@benchpages.example")
        client = Client(HTTP_HOST=f"{SLUG}.localhost")
        sign_in(client, owner)  # past the second factor owners owe, as the pages' tests sign in
    print(f"branch Front: {count} appointments on {DAY}", flush=True)
    feed = f"/desk/{branch.pk}/feed/?day={DAY}"
    first = client.get(feed)
    assert first.status_code == 200, first.status_code
    events = [e for e in first.json()["events"] if e.get("display") != "background"]
    print(f"feed: {len(first.json()['resources'])} doctors, {len(events)} appointments", flush=True)
    assert len(events) == count, "the feed must show the day's appointments, or the figure measures an empty day"

    def data(i: int) -> object:
        response = client.get(feed, HTTP_X_CLINICFLOW_BACKGROUND="1")
        assert response.status_code == 200
        return response

    measure("appointment book, data request (JSON feed)", data, samples)
    measure("appointment book, page", lambda i: client.get(f"/desk/{branch.pk}/?day={DAY}"), samples)
    print("target: the data request's p95 under 30 ms")


if __name__ == "__main__":
    main()
