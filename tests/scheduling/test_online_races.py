"""Booking online with real concurrent connections: one code books once, one new contact is one
patient, one hold is confirmed once. The data is committed first in a chain of its own and removed
afterwards (see test_concurrency.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from notifications.models import Kind, Message, MessageStatus
from patients import portal
from patients.models import Patient
from scheduling.models import Appointment, CalendarEntry, ManageLink, Status
from scheduling.services.online import online_booking_confirm, online_hold
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, Clinic, clinic_setup
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db

CODE = "123456"
RACERS = ("one-code@example.com", "twin@example.com", "again@example.com")


@pytest.fixture(scope="module")
def racing_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return clinic_setup(chain, branch=chain.branches[1], doctors=3)


@pytest.fixture
def shared(racing_clinic: Clinic, monkeypatch) -> Iterator[Clinic]:
    # Every code is CODE, so the racers need no outbox; limits start afresh.
    cache.clear()
    monkeypatch.setattr(portal, "_new_code", lambda **kw: CODE)
    yield racing_clinic
    with committed(), schema_context(racing_clinic.chain.schema):
        # What the bookings wrote to the outbox (confirmations, reminders) goes with them.
        Message.objects.filter(patient__email__in=RACERS).delete()
        CalendarEntry.objects.filter(doctor__in=racing_clinic.doctors).delete()
        Patient.objects.filter(email__in=RACERS).delete()


def _holds(clinic: Clinic, hours: list[int]) -> list[Appointment]:
    with committed(), schema_context(clinic.chain.schema):
        return [
            online_hold(
                branch_id=clinic.branch.pk,
                service_id=clinic.service.pk,
                doctor_id=clinic.doctors[i % len(clinic.doctors)].pk,
                start=clinic.at(MONDAY + timedelta(days=7), hour),
                ip=f"198.51.100.{i + 1}",
            )
            for i, hour in enumerate(hours)
        ]


def _challenge(clinic: Clinic, contact: str) -> str:
    with committed(), schema_context(clinic.chain.schema):
        return portal.booking_code_request(contact=contact, ip="198.51.100.99").challenge


def _confirm(hold: Appointment, challenge: str, last_name: str = "Racer") -> None:
    online_booking_confirm(
        hold_id=hold.pk,
        hold_token=hold.hold_token,
        first_name="Rita",
        last_name=last_name,
        challenge=challenge,
        code=CODE,
        ip="198.51.100.50",
    )


def _committed_count(clinic: Clinic, model: type, **filters: object) -> int:
    with committed(), schema_context(clinic.chain.schema):
        return model.objects.filter(**filters).count()  # type: ignore[attr-defined]


def test_one_code_racing_for_four_holds_books_one(shared):
    # given four held times and one challenge with its code
    holds = _holds(shared, [10, 11, 12, 13])
    challenge = _challenge(shared, RACERS[0])

    # when four visitors confirm a hold each with that one code at the same time
    outcomes = race(4, lambda i: _confirm(holds[i], challenge, last_name=f"Racer{i}"), shared.chain.schema)

    # then one booking is made, the others are refused as a used code, and they wrote nothing
    assert sorted(outcomes) == ["code_invalid", "code_invalid", "code_invalid", "ok"]
    assert _committed_count(shared, Appointment, pk__in=[h.pk for h in holds], status=Status.BOOKED) == 1
    assert _committed_count(shared, Appointment, pk__in=[h.pk for h in holds], status=Status.HELD) == 3
    assert _committed_count(shared, Patient, email=RACERS[0]) == 1
    # and the code, once used, books nothing more
    [later] = _holds(shared, [14])
    with committed(), schema_context(shared.chain.schema), pytest.raises(portal.CodeInvalid):
        _confirm(later, challenge)


def test_two_bookings_at_once_with_one_new_email_register_one_patient(shared):
    # given two held times and two challenges sent to one e-mail nobody has yet
    holds = _holds(shared, [10, 11])
    challenges = [_challenge(shared, RACERS[1]) for _ in holds]

    # when both are confirmed at the same time
    outcomes = race(2, lambda i: _confirm(holds[i], challenges[i]), shared.chain.schema)

    # then both are booked, for one patient
    assert outcomes == ["ok", "ok"]
    with committed(), schema_context(shared.chain.schema):
        [patient] = Patient.objects.filter(email=RACERS[1])
        booked = Appointment.objects.filter(pk__in=[h.pk for h in holds], status=Status.BOOKED)
        assert sorted(booked.values_list("patient_id", flat=True)) == [patient.pk, patient.pk]


def test_one_hold_confirmed_three_times_at_once_issues_one_link(shared):
    # given one held time and three right codes for it (three tabs, or a button pressed thrice)
    [hold] = _holds(shared, [15])
    challenges = [_challenge(shared, RACERS[2]) for _ in range(3)]

    # when all three confirm it at the same time
    outcomes = race(3, lambda i: _confirm(hold, challenges[i]), shared.chain.schema)

    # then one books it, the others are told it is already booked, and one booking link exists
    # (besides the one its confirmation e-mail carries, issued as that was sent), confirmed once
    assert sorted(outcomes) == ["hold_confirmed", "hold_confirmed", "ok"]
    assert _committed_count(shared, Message, appointment_id=hold.pk, kind=Kind.CONFIRMATION) == 1
    emailed = _committed_count(
        shared, Message, appointment_id=hold.pk, kind=Kind.CONFIRMATION, status__in=[MessageStatus.SENT]
    )
    assert _committed_count(shared, ManageLink, appointment_id=hold.pk) == 1 + emailed
    assert _committed_count(shared, Patient, email=RACERS[2]) == 1
