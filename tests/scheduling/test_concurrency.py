"""Real concurrent connections racing for the calendar: the database lets exactly one win.

Each client is a thread with its own PostgreSQL connection. The data they race over is committed
first (outside the test's transaction) in a chain of its own, and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import ACTIVE_STATUSES, CalendarEntry
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return clinic_setup(chain, branch=chain.branches[2], doctors=3, requires_room=True, rooms=1)


@pytest.fixture
def shared(racing_clinic: Clinic) -> Iterator[Clinic]:
    yield racing_clinic
    with committed(), schema_context(racing_clinic.chain.schema):
        CalendarEntry.objects.filter(doctor__in=racing_clinic.doctors).delete()


def _active(**filters) -> int:
    with committed(), schema_context(WORLD["b"].schema):
        return CalendarEntry.objects.filter(status__in=ACTIVE_STATUSES, **filters).count()


def test_32_clients_booking_overlapping_slots_for_one_doctor(shared):
    doctor = shared.doctors[0]
    with committed(), schema_context(shared.chain.schema):
        patients = [shared.patient() for _ in range(32)]
    # everyone aims at 10:00-10:30 give or take 15 minutes: all overlap 10:15
    starts = [shared.at(MONDAY, 10) + timedelta(minutes=5 * (i % 4)) for i in range(32)]

    outcomes = race(
        32,
        lambda i: sched.appointment_book(
            actor=shared.owner,
            patient=patients[i],
            doctor=doctor,
            branch=shared.branch,
            service=shared.service,
            start=starts[i],
        ),
        shared.chain.schema,
    )

    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} == {"doctor_busy"}, outcomes
    assert _active(doctor=doctor) == 1


def test_leave_racing_a_booking(shared):
    doctor = shared.doctors[1]
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()

    def attempt(i: int) -> object:
        if i % 2:
            return sched.leave_create(
                actor=shared.owner, doctor=doctor, start=shared.at(MONDAY, 9), end=shared.at(MONDAY, 17)
            )
        return sched.appointment_book(
            actor=shared.owner,
            patient=patient,
            doctor=doctor,
            branch=shared.branch,
            service=shared.service,
            start=shared.at(MONDAY, 11),
        )

    outcomes = race(2, attempt, shared.chain.schema)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"doctor_on_leave", "leave_conflicts_appointments"}, outcomes
    assert _active(doctor=doctor) == 1


def test_one_patient_racing_into_two_doctors(shared):
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()

    outcomes = race(
        8,
        lambda i: sched.appointment_book(
            actor=shared.owner,
            patient=patient,
            doctor=shared.doctors[i % 3],
            branch=shared.branch,
            service=shared.service,
            start=shared.at(MONDAY, 14),
        ),
        shared.chain.schema,
    )

    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"patient_busy", "doctor_busy"}, outcomes
    assert "patient_busy" in outcomes
    assert _active(patient=patient) == 1


def test_two_bookings_racing_for_one_room(shared):
    with committed(), schema_context(shared.chain.schema):
        patients = [shared.patient() for _ in range(2)]
    room = shared.rooms[0]

    outcomes = race(
        2,
        lambda i: sched.appointment_book(
            actor=shared.owner,
            patient=patients[i],
            doctor=shared.doctors[i],
            branch=shared.branch,
            service=shared.service,
            start=shared.at(MONDAY, 16),
            room=room,
        ),
        shared.chain.schema,
    )

    assert sorted(outcomes) == ["ok", "room_taken"], outcomes
    assert _active(room=room) == 1


def test_one_idempotency_key_sent_by_eight_clients_books_once(shared):
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()
    results: list[int] = []

    def attempt(i: int) -> object:
        appointment = book(
            shared,
            shared.at(MONDAY, 12),
            actor=shared.owner,
            patient=patient,
            doctor=shared.doctors[2],
            idempotency_key="same-key-for-all",
        )
        results.append(appointment.pk)
        return appointment

    outcomes = race(8, attempt, shared.chain.schema)
    assert outcomes == ["ok"] * 8, outcomes
    assert len(set(results)) == 1
    assert _active(patient=patient) == 1
