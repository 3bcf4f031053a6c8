"""Two patients accepting one freed time at once, on real concurrent connections: one gets it, the
other is told it was taken and stays on the list. The data is committed in a chain of its own and
removed afterwards (see test_concurrency.py)."""

from __future__ import annotations

from collections.abc import Iterator

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
    WaitlistOffer,
    WaitlistPolicy,
    WaitlistStatus,
)
from tests.conftest import WORLD
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import committed, race
from tests.scheduling.waitlist_world import booked_at, cancel, expire_at, join, link_token, offers_of

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return clinic_setup(chain, branch=chain.branches[2], doctors=1)


@pytest.fixture
def shared(racing_clinic: Clinic) -> Iterator[Clinic]:
    yield racing_clinic
    with committed(), schema_context(racing_clinic.chain.schema):
        patients = list(WaitlistEntry.objects.values_list("patient_id", flat=True))
        Message.objects.filter(patient_id__in=patients).delete()
        WaitlistOffer.objects.all().delete()
        WaitlistEntry.objects.all().delete()
        WaitlistPolicy.objects.all().delete()
        CalendarEntry.objects.filter(doctor__in=racing_clinic.doctors).delete()
        Patient.objects.filter(pk__in=patients).delete()


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
