"""Server time of the desk's appointment book: one branch, 15 doctors, 300 appointments that day.

Seeds the chain "benchpages" in clinicflow_bench once, then times full requests through Django's
stack in-process (routing by host, session auth, permissions, queries, JSON, access log): the book's
data request (the JSON feed the calendar loads, and fetches again every 10 s at every desk), and the
page around it. Target: the feed's p95 under 30 ms.

    .venv/bin/python bench/pages.py [--samples 200]
"""

from __future__ import annotations

from datetime import date, time, timedelta

from common import bench_chain, measure, start

SLUG = "benchpages"
DOCTORS = 15
DAY = date.today() + timedelta(days=3)


def seed() -> None:
    from django_tenants.utils import schema_context

    from scheduling.models import Appointment

    clinic = bench_chain(slug=SLUG, name="Bench Pages", owner_email="owner@benchpages.example")
    with schema_context(clinic.schema_name):
        if Appointment.objects.filter(branch__name="Front").exists():
            return
        from tenants.accounts.models import User
        from tenants.org import services as org
        from tests.factories.scheduling import clinic_setup

        owner = User.objects.get(email="owner@benchpages.example")
        owner.set_password("Bench-pages-2026")
        owner.save()
        from tests.factories import Chain

        branch = org.branch_create(actor=owner, name="Front", timezone_name="Europe/London")
        chain = Chain(clinic=clinic, host=f"{SLUG}.localhost", users={"owner": owner}, branches=[branch])
        setup = clinic_setup(
            chain,
            branch=branch,
            doctors=DOCTORS,
            duration=30,
            opens=time(8),
            closes=time(18),
            shift=(time(8), time(18)),
        )
        from scheduling import services as sched

        for doctor in setup.doctors:
            for slot in range(20):
                start = setup.at(DAY, 8) + timedelta(minutes=30 * slot)
                sched.appointment_book(
                    actor=owner,
                    patient=setup.patient(),
                    doctor=doctor,
                    branch=branch,
                    service=setup.service,
                    start=start,
                )


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
        count = Appointment.objects.filter(branch=branch).count()
        owner = User.objects.get(email="owner@benchpages.example")
        client = Client(HTTP_HOST=f"{SLUG}.localhost")
        sign_in(client, owner)  # past the second factor owners owe, as the pages' tests sign in
    print(f"branch Front: {count} appointments on {DAY}", flush=True)
    feed = f"/desk/{branch.pk}/feed/?day={DAY}"
    first = client.get(feed)
    assert first.status_code == 200, first.status_code
    events = [e for e in first.json()["events"] if e.get("display") != "background"]
    print(f"feed: {len(first.json()['resources'])} doctors, {len(events)} appointments", flush=True)

    def data(i: int) -> object:
        response = client.get(feed, HTTP_X_CLINICFLOW_BACKGROUND="1")
        assert response.status_code == 200
        return response

    measure("appointment book, data request (JSON feed)", data, samples)
    measure("appointment book, page", lambda i: client.get(f"/desk/{branch.pk}/?day={DAY}"), samples)
    print("target: the data request's p95 under 30 ms")


if __name__ == "__main__":
    main()
