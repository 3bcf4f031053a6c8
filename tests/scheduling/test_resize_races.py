"""Real concurrent connections: a visit lengthened while others book the same time, and shortened while
others book the time it frees. The row lock and the exclusion constraints let the calendar stay whole."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import ACTIVE_STATUSES, Appointment, CalendarEntry
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def resizing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = clinic_setup(chain, branch=chain.branches[1], doctors=1)
        sched.service_update(actor=clinic.owner, service=clinic.service, length_adjustable=True)
        clinic.service.refresh_from_db()
        return clinic


@pytest.fixture
def shared(resizing_clinic: Clinic) -> Iterator[Clinic]:
    yield resizing_clinic
    with committed(), schema_context(resizing_clinic.chain.schema):
        CalendarEntry.objects.filter(doctor__in=resizing_clinic.doctors).delete()


def _rows(clinic: Clinic) -> list[tuple[object, object]]:
    with committed(), schema_context(clinic.chain.schema):
        return sorted(
            (a.span.lower, a.span.upper)
            for a in Appointment.objects.filter(doctor=clinic.doctors[0], status__in=ACTIVE_STATUSES)
        )


def _resize_while_booking(shared, visit, end, patients) -> list[object]:
    """The desk resizes ``visit`` to ``end`` (attempt 0) while each patient books 10:30 with its doctor."""

    def attempt(i: int) -> object:
        if i == 0:
            return sched.appointment_resize(actor=shared.owner, appointment=visit, end=end)
        return sched.appointment_book(
            actor=shared.owner,
            patient=patients[i - 1],
            doctor=shared.doctors[0],
            branch=shared.branch,
            service=shared.service,
            start=shared.at(MONDAY, 10, 30),
        )

    return race(len(patients) + 1, attempt, shared.chain.schema)


def test_a_lengthening_and_bookings_racing_for_the_same_time_one_wins(shared):
    # given a visit at 10:00-10:30, and seven callers wanting 10:30 with the same doctor
    with committed(), schema_context(shared.chain.schema):
        visit = book(shared, shared.at(MONDAY, 10), actor=shared.owner)
        patients = [shared.patient() for _ in range(7)]

    # when the desk drags the visit to 11:00 while they all book 10:30
    outcomes = _resize_while_booking(shared, visit, shared.at(MONDAY, 11), patients)

    # then exactly one of them has 10:30, the others are told the doctor is busy, and nothing overlaps
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} == {"doctor_busy"}, outcomes
    rows = _rows(shared)
    assert all(a[1] <= b[0] for a, b in pairwise(rows)), rows
    assert len(rows) == (2 if outcomes[0] != "ok" else 1)


def test_a_shortening_and_bookings_into_the_time_it_frees(shared):
    # given an hour's visit at 10:00, and four callers wanting 10:30
    with committed(), schema_context(shared.chain.schema):
        visit = book(shared, shared.at(MONDAY, 10), actor=shared.owner)
        sched.appointment_resize(actor=shared.owner, appointment=visit, end=shared.at(MONDAY, 11))
        patients = [shared.patient() for _ in range(4)]

    # when the desk shortens it to 10:30 while they all book 10:30
    outcomes = _resize_while_booking(shared, visit, shared.at(MONDAY, 10, 30), patients)

    # then the shortening always wins, at most one caller gets the freed time, and nothing overlaps
    assert outcomes[0] == "ok", outcomes
    assert outcomes[1:].count("ok") <= 1, outcomes
    assert set(outcomes[1:]) - {"ok"} <= {"doctor_busy"}, outcomes
    rows = _rows(shared)
    assert rows[0] == (shared.at(MONDAY, 10), shared.at(MONDAY, 10, 30))
    assert all(a[1] <= b[0] for a, b in pairwise(rows)), rows
