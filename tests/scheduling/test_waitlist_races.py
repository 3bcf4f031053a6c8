"""Two patients accepting one freed time at once, on real concurrent connections: one gets it, the
other is told it was taken and stays on the list. The data is committed in a chain of its own and
removed afterwards (see test_concurrency.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time as datetime_time

import pytest
from django_tenants.utils import schema_context

from notifications.models import Message
from patients.models import Patient
from scheduling import services as sched
from scheduling.models import (
    Appointment,
    CalendarEntry,
    OfferStatus,
    Status,
    WaitlistEntry,
    WaitlistFreedTime,
    WaitlistOffer,
    WaitlistPolicy,
    WaitlistStatus,
)
from tests.conftest import WORLD
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import committed, race
from tests.scheduling import waitlist_world as world
from tests.scheduling.waitlist_world import booked_at, cancel, expire_at, join, link_token, offers_of

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return clinic_setup(chain, branch=chain.branches[2], doctors=1)


def _clean(clinic: Clinic) -> None:
    with committed(), schema_context(clinic.chain.schema):
        patients = list(WaitlistEntry.objects.values_list("patient_id", flat=True))
        Message.objects.filter(patient_id__in=patients).delete()
        WaitlistFreedTime.objects.all().delete()
        WaitlistOffer.objects.all().delete()
        WaitlistEntry.objects.all().delete()
        WaitlistPolicy.objects.all().delete()
        CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
        Patient.objects.filter(pk__in=patients).delete()


@pytest.fixture
def shared(racing_clinic: Clinic) -> Iterator[Clinic]:
    _clean(racing_clinic)  # freed times left by an earlier run would be offered to who joins
    yield racing_clinic
    _clean(racing_clinic)


def _freed_time_offered(clinic: Clinic, *, at_once: int) -> tuple[list[WaitlistEntry], list[str]]:
    """Two patients waiting and a booked time cancelled; the offers' links as they were sent."""
    with committed(), schema_context(clinic.chain.schema):
        WaitlistPolicy.objects.update_or_create(id=1, defaults={"offers_at_once": at_once})
        appointment = booked_at(clinic)
        entries = [join(clinic), join(clinic)]
        cancel(clinic, appointment)
        return entries, [link_token(o) for e in entries for o in offers_of(e)]


def _states(clinic: Clinic, entries: list[WaitlistEntry]) -> list[str]:
    with committed(), schema_context(clinic.chain.schema):
        return sorted(WaitlistEntry.objects.get(pk=e.pk).status for e in entries)


def test_two_patients_accepting_one_time_at_once_one_gets_it(shared):
    # given one freed time offered to two patients at once
    entries, tokens = _freed_time_offered(shared, at_once=2)
    assert len(tokens) == 2

    # when both accept at the same moment
    outcomes = race(2, lambda i: sched.waitlist_offer_accept(token=tokens[i]), shared.chain.schema)

    # then one is booked, the other told the time was taken, and still waiting
    assert sorted(outcomes) == ["ok", "waitlist_offer_taken"]
    assert _states(shared, entries) == [WaitlistStatus.BOOKED, WaitlistStatus.WAITING]
    with committed(), schema_context(shared.chain.schema):
        hold_id = WaitlistOffer.objects.filter(entry__in=entries).values_list("hold_id", flat=True).first()
        assert Appointment.objects.filter(pk=hold_id, status=Status.BOOKED).count() == 1
        statuses = sorted(WaitlistOffer.objects.filter(entry__in=entries).values_list("status", flat=True))
        assert statuses == [OfferStatus.ACCEPTED, OfferStatus.TAKEN]


def test_a_late_accept_racing_the_next_patients_accept_books_one(shared):
    # given the first offer expired and the time offered to the second patient
    entries, [late] = _freed_time_offered(shared, at_once=1)
    with committed(), schema_context(shared.chain.schema):
        [first_offer] = offers_of(entries[0])
        sched.waitlist_offers_expire(now=expire_at(first_offer))
        [current] = [link_token(o) for o in offers_of(entries[1])]

    # when the first accepts late at the same moment as the second accepts
    tokens = [late, current]
    outcomes = race(2, lambda i: sched.waitlist_offer_accept(token=tokens[i]), shared.chain.schema)

    # then exactly one of them is booked; the other is told kindly and stays on the list
    assert sorted(outcomes) == ["ok", "waitlist_offer_taken"]
    assert _states(shared, entries) == [WaitlistStatus.BOOKED, WaitlistStatus.WAITING]
    with committed(), schema_context(shared.chain.schema):
        assert Appointment.objects.filter(doctor__in=shared.doctors, status=Status.BOOKED).count() == 1


def test_two_patients_joining_at_once_for_a_time_offered_to_nobody_are_offered_it_once(shared):
    # given a time freed while nobody was waiting, and two patients it suits
    with committed(), schema_context(shared.chain.schema):
        cancel(shared, booked_at(shared))
        who = [world.patient(shared), world.patient(shared)]
    window = sched.Window(
        date_from=world.DAY, date_to=world.DAY, time_from=datetime_time(9), time_to=datetime_time(13), weekdays=()
    )

    # when both join at the same moment
    outcomes = race(
        2,
        lambda i: sched.waitlist_join(
            actor=shared.owner,
            patient=who[i],
            branch=shared.branch,
            service=shared.service,
            doctor=None,
            window=window,
        ),
        shared.chain.schema,
    )

    # then both are on the list and the time is held once and offered to one of them
    assert outcomes == ["ok", "ok"]
    with committed(), schema_context(shared.chain.schema):
        assert WaitlistEntry.objects.filter(patient__in=who, status=WaitlistStatus.WAITING).count() == 2
        assert WaitlistOffer.objects.filter(entry__patient__in=who).count() == 1
        assert Appointment.objects.filter(doctor__in=shared.doctors, status=Status.HELD).count() == 1
