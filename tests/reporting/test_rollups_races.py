"""The rollups' refresh runs concurrently with bookings and with itself, on real connections: no change
is lost between a refresh's take of the marks and its computing, and two refreshes never both take a
chain's marks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django_tenants.utils import schema_context

from reporting.models import Dirty, DoctorDay, MessageDay, MoneyDay, ServiceDay
from reporting.rollups import rollups_rebuild, rollups_refresh, rollups_refresh_all
from scheduling import services as sched
from scheduling.models import KEPT_STATUSES, Appointment, CalendarEntry
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, clinic_setup
from tests.helpers import committed

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = clinic_setup(chain, branch=chain.branches[1], doctors=4)
        rollups_refresh_all()
        return clinic


def _clear(clinic: Clinic) -> None:
    with committed(), schema_context(clinic.chain.schema):
        CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
        for model in (Dirty, DoctorDay, ServiceDay, MoneyDay, MessageDay):
            model.objects.all().delete()


@pytest.fixture
def shared(racing_clinic: Clinic) -> Iterator[Clinic]:
    yield racing_clinic
    _clear(racing_clinic)


def _in_chain(clinic: Clinic, work):  # type: ignore[no-untyped-def]
    def run(*args):  # type: ignore[no-untyped-def]
        try:
            with schema_context(clinic.chain.schema):
                return work(*args)
        finally:
            connections.close_all()

    return run


def test_refreshes_racing_bookings_lose_no_booking(shared):
    # given patients for 4 doctors x 8 half-hours on Monday
    with committed(), schema_context(shared.chain.schema):
        patients = [[shared.patient() for _ in range(8)] for _ in shared.doctors]
    booking_done = threading.Event()
    barrier = threading.Barrier(len(shared.doctors) + 2)

    def booker(k: int) -> int:
        barrier.wait()
        made = 0
        for slot in range(8):
            sched.appointment_book(
                actor=shared.owner,
                patient=patients[k][slot],
                doctor=shared.doctors[k],
                branch=shared.branch,
                service=shared.service,
                start=shared.at(MONDAY, 9) + timedelta(minutes=30 * slot),
            )
            made += 1
        return made

    def refresher(_: int) -> int:
        barrier.wait()
        runs = 0
        while not booking_done.is_set():
            rollups_refresh()
            runs += 1
        return runs

    # when four desks book while two workers refresh the rollups over and over
    with ThreadPoolExecutor(len(shared.doctors) + 2) as pool:
        refreshing = [pool.submit(_in_chain(shared, refresher), i) for i in range(2)]
        booked = list(pool.map(_in_chain(shared, booker), range(len(shared.doctors))))
        booking_done.set()
        runs = [f.result() for f in refreshing]
    assert booked == [8] * len(shared.doctors)
    assert sum(runs) > 1
    # and one more refresh takes what the last bookings marked
    with committed(), schema_context(shared.chain.schema):
        rollups_refresh_all()
        # then Monday's figures count every booking, per doctor, as the calendar does
        figures = dict(
            DoctorDay.objects.filter(day=MONDAY, doctor_id__in=[d.pk for d in shared.doctors]).values_list(
                "doctor_id", "bookings"
            )
        )
        calendar = {
            d.pk: Appointment.objects.filter(doctor=d, status__in=KEPT_STATUSES).count() for d in shared.doctors
        }
        assert figures == calendar == {d.pk: 8 for d in shared.doctors}
        assert not Dirty.objects.exists()


def test_two_refreshes_at_once_take_the_marks_once(shared):
    # given marks waiting: bookings on Monday
    with committed(), schema_context(shared.chain.schema):
        for slot in range(3):
            sched.appointment_book(
                actor=shared.owner,
                patient=shared.patient(),
                doctor=shared.doctors[0],
                branch=shared.branch,
                service=shared.service,
                start=shared.at(MONDAY, 10) + timedelta(minutes=30 * slot),
            )
        waiting = Dirty.objects.count()
    barrier = threading.Barrier(2)

    def refresh(_: int) -> tuple[int, bool]:
        barrier.wait()
        done = rollups_refresh()
        return done.marks, done.locked_out

    # when two workers refresh the chain at the same moment
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(_in_chain(shared, refresh), range(2)))
    # then the marks were taken once, by one of them (the other found the lock, or nothing left)
    assert sorted(marks for marks, _ in outcomes) == [0, waiting]
    with committed(), schema_context(shared.chain.schema):
        assert DoctorDay.objects.get(day=MONDAY, doctor_id=shared.doctors[0].pk).bookings == 3


def test_a_rebuild_waits_for_a_refresh_and_agrees_with_it(shared):
    # given a booking marked and a refresh holding the chain's lock
    with committed(), schema_context(shared.chain.schema):
        sched.appointment_book(
            actor=shared.owner,
            patient=shared.patient(),
            doctor=shared.doctors[1],
            branch=shared.branch,
            service=shared.service,
            start=shared.at(MONDAY, 11),
        )
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def slow_refresh(_: int) -> None:
        from django.db import transaction

        from reporting import rollups

        with transaction.atomic():
            assert rollups._lock()
            holding.set()
            release.wait(10)
            order.append("refresh")

    def rebuild(_: int) -> None:
        holding.wait(10)
        threading.Timer(0.5, release.set).start()
        rollups_rebuild(first=MONDAY, last=MONDAY)
        order.append("rebuild")

    # when a rebuild starts while the refresh holds the lock
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: _in_chain(shared, f)(0), [slow_refresh, rebuild]))
    # then it waited for the refresh, and computed the booking
    assert order == ["refresh", "rebuild"]
    with committed(), schema_context(shared.chain.schema):
        assert DoctorDay.objects.get(day=MONDAY, doctor_id=shared.doctors[1].pk).bookings == 1
