"""Saving leave over appointments with real concurrent connections: two managers resolving the same
leave, or a booking racing the resolution, never leave a split result. The data is committed first
in a branch of its own and removed afterwards (see test_concurrency.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.leave_plan import LeaveAction
from scheduling.models import ACTIVE_STATUSES, Appointment, CalendarEntry, Leave, Status
from scheduling.services import LeaveDecision
from tenants.org import services as org
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        branch = org.branch_create(actor=chain.users["owner"], name="Leave races", timezone_name="America/New_York")
        return clinic_setup(chain, branch=branch, doctors=3)


@pytest.fixture
def shared(racing_clinic: Clinic) -> Iterator[Clinic]:
    yield racing_clinic
    with committed(), schema_context(racing_clinic.chain.schema):
        CalendarEntry.objects.filter(doctor__in=racing_clinic.doctors).delete()


def _booked(clinic: Clinic) -> list[Appointment]:
    with committed(), schema_context(clinic.chain.schema):
        return [
            book(clinic, clinic.at(MONDAY, hour), actor=clinic.owner, doctor=clinic.doctors[0]) for hour in (10, 11, 12)
        ]


def _where(clinic: Clinic, appointments: list[Appointment]) -> dict[int, tuple[int, str]]:
    with committed(), schema_context(clinic.chain.schema):
        return {
            a.pk: (a.doctor_id, a.status)
            for a in Appointment.objects.filter(pk__in=[a.pk for a in appointments], status__in=ACTIVE_STATUSES)
        }


def _leave(clinic: Clinic) -> int:
    with committed(), schema_context(clinic.chain.schema):
        return Leave.objects.filter(doctor=clinic.doctors[0], status=Status.BOOKED).count()


def test_two_managers_resolving_the_same_leave_at_once(shared):
    # given: three appointments in the way; one manager moves them to the second doctor, the
    # other to the third
    booked = _booked(shared)
    targets = shared.doctors[1:]

    # when
    outcomes = race(
        2,
        lambda i: sched.leave_create_resolving(
            actor=shared.owner,
            doctor=shared.doctors[0],
            start=shared.at(MONDAY, 9),
            end=shared.at(MONDAY, 17),
            for_all=LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=targets[i]),
        ),
        shared.chain.schema,
    )

    # then: one won, the other found the leave saved; every appointment is with the winner's doctor
    assert sorted(outcomes) == ["leave_conflicts_appointments", "ok"], outcomes
    winner = targets[outcomes.index("ok")]
    assert _where(shared, booked) == {a.pk: (winner.pk, Status.BOOKED) for a in booked}
    assert _leave(shared) == 1


def test_a_booking_racing_the_resolution(shared):
    # given: the manager moves the day's appointments to the second doctor while the desk books
    # the first doctor into the leave's afternoon
    booked = _booked(shared)
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()

    def attempt(i: int) -> object:
        if i == 0:
            return sched.leave_create_resolving(
                actor=shared.owner,
                doctor=shared.doctors[0],
                start=shared.at(MONDAY, 9),
                end=shared.at(MONDAY, 17),
                for_all=LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=shared.doctors[1]),
            )
        return book(shared, shared.at(MONDAY, 15), actor=shared.owner, patient=patient, doctor=shared.doctors[0])

    # when
    outcomes = race(2, attempt, shared.chain.schema)

    # then: the outcome is one of the three serial orders, never a split one
    with committed(), schema_context(shared.chain.schema):
        newcomer = {a.doctor_id for a in Appointment.objects.filter(patient=patient, status__in=ACTIVE_STATUSES)}
    if outcomes == ["ok", "ok"]:
        # the booking committed before the resolution looked: the leave moved it with the others
        assert (_leave(shared), newcomer) == (1, {shared.doctors[1].pk})
        assert _where(shared, booked) == {a.pk: (shared.doctors[1].pk, Status.BOOKED) for a in booked}
    elif outcomes[0] == "ok":
        # the leave committed first: the booking was refused and left nothing
        assert outcomes[1] in {"doctor_on_leave", "doctor_busy"}, outcomes
        assert (_leave(shared), newcomer) == (1, set())
        assert _where(shared, booked) == {a.pk: (shared.doctors[1].pk, Status.BOOKED) for a in booked}
    else:
        # the booking committed while the resolution was under way: the leave was refused and
        # every move it had made rolled back
        assert outcomes == ["leave_conflicts_appointments", "ok"], outcomes
        assert (_leave(shared), newcomer) == (0, {shared.doctors[0].pk})
        assert _where(shared, booked) == {a.pk: (shared.doctors[0].pk, Status.BOOKED) for a in booked}


def test_resolutions_race_over_and_over_without_a_split_result(shared):
    # given/when: the race run several times, with a fresh day each time
    for n in range(3):
        day = MONDAY + timedelta(days=n + 1)
        with committed(), schema_context(shared.chain.schema):
            booked = [book(shared, shared.at(day, 10), actor=shared.owner, doctor=shared.doctors[0])]
        outcomes = race(
            2,
            lambda i, day=day: sched.leave_create_resolving(
                actor=shared.owner,
                doctor=shared.doctors[0],
                start=shared.at(day, 9),
                end=shared.at(day, 17),
                for_all=LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=shared.doctors[1 + i]),
            ),
            shared.chain.schema,
        )
        # then: one leave, the appointment with exactly one doctor, the winner's
        assert sorted(outcomes) == ["leave_conflicts_appointments", "ok"], outcomes
        assert _where(shared, booked) == {booked[0].pk: (shared.doctors[1 + outcomes.index("ok")].pk, Status.BOOKED)}
