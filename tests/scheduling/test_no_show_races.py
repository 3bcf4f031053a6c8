"""The no-show sweep racing the desk, on real concurrent connections: the desk checks a late patient
in at the very moment the sweep marks the visit a no-show. Exactly one wins, and the loser changes
nothing: a checked-in visit is never also a no-show, a no-show never also checked in. The sweep run
by several workers at once marks each visit once. Data is committed in chain B and removed after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import Appointment, Status
from scheduling.no_shows import no_show_mark_overdue, no_shows_mark
from tenants.org import services as org
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import calendar_clear, committed, race

pytestmark = pytest.mark.django_db

ROUNDS = 4


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        branch = org.branch_create(actor=chain.users["owner"], name="No-show races", timezone_name="Europe/Paris")
        return clinic_setup(chain, branch=branch, doctors=1)


@pytest.fixture
def shared(racing_clinic: Clinic) -> Iterator[Clinic]:
    yield racing_clinic
    with committed(), schema_context(racing_clinic.chain.schema):
        calendar_clear(racing_clinic.doctors)


def _visits(clinic: Clinic, hours: range) -> list[Appointment]:
    with committed(), schema_context(clinic.chain.schema):
        return [book(clinic, clinic.at(MONDAY, hour), actor=clinic.owner) for hour in hours]


def test_the_desk_checking_in_while_the_sweep_marks_has_one_winner(shared):
    # given four visits, each 20 minutes past its start with nobody checked in (committed)
    visits = _visits(shared, range(9, 9 + ROUNDS))
    desk = shared.owner
    for visit in visits:
        late = visit.span.lower + timedelta(minutes=20)
        won: dict[int, object] = {}

        def attempt(i: int, visit: Appointment = visit, late=late, won=won) -> None:
            if i == 0:
                won[i] = sched.appointment_check_in(actor=desk, appointment=visit, now=late).status
            else:
                won[i] = no_show_mark_overdue(appointment_id=visit.pk, now=late)

        # when the desk checks the patient in and the sweep marks the visit at the same moment
        outcomes = race(2, attempt, shared.chain.schema)
        # then exactly one of them changed the visit, and the visit is what the winner made it
        with committed(), schema_context(shared.chain.schema):
            saved = Appointment.objects.get(pk=visit.pk)
            changes = list(saved.history.exclude(status=Status.BOOKED).values_list("status", flat=True))
        if saved.status == Status.CHECKED_IN:
            assert outcomes == ["ok", "ok"]
            assert won == {0: Status.CHECKED_IN, 1: False}
        else:
            assert saved.status == Status.NO_SHOW
            assert outcomes == ["illegal_transition", "ok"]
            assert won == {1: True}
        assert changes == [saved.status]


def test_sweeps_running_at_once_mark_each_visit_once(shared):
    # given three visits past their grace period (committed)
    visits = _visits(shared, range(9, 12))
    late = shared.at(MONDAY, 11, 30)
    marked: dict[int, int] = {}

    def sweep(i: int) -> None:
        marked[i] = no_shows_mark(now=late)

    # when three workers run the sweep at the same moment
    outcomes = race(3, sweep, shared.chain.schema)
    # then every run finished, the three were marked once between them, each with one no-show in its history
    assert outcomes == ["ok"] * 3
    assert sum(marked.values()) == 3
    with committed(), schema_context(shared.chain.schema):
        for visit in visits:
            assert visit.history.model.objects.filter(id=visit.pk, status=Status.NO_SHOW).count() == 1
