"""A booking's manage link is a random token kept hashed in the chain's schema; it dies with the
appointment (cancelled, completed, missed) and a while after the visit, and follows a reschedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from scheduling import services as sched
from scheduling.exceptions import IllegalTransition, ManageLinkInvalid
from scheduling.models import ManageLink
from tests.factories.scheduling import Clinic, clinic_setup


@pytest.fixture
def clinic(in_a) -> Clinic:
    return clinic_setup(in_a, doctors=1)


def _booked(clinic: Clinic, days: int = 2, hour: int = 10):
    day = clinic.days_ahead(days)
    return sched.appointment_book(
        actor=clinic.receptionist,
        patient=clinic.patient(),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(day, hour),
    )


def test_only_the_hash_of_a_link_is_stored(clinic):
    # given a booking
    appointment = _booked(clinic)

    # when its link is issued
    token = sched.manage_link_issue(appointment=appointment)

    # then the token is long and random, only its hash is kept, and it opens that appointment
    assert len(token) >= 40
    link = ManageLink.objects.get(appointment_id=appointment.pk)
    assert token not in link.token_hash
    assert sched.manage_link_resolve(token=token).pk == appointment.pk
    with pytest.raises(ManageLinkInvalid):
        sched.manage_link_resolve(token=token[:-1])
    with pytest.raises(ManageLinkInvalid):
        sched.manage_link_resolve(token=link.token_hash)


@pytest.mark.parametrize("end", ["cancel", "complete", "no_show"])
def test_a_link_dies_with_its_appointment(clinic, end):
    # given a booking and its link
    appointment = _booked(clinic)
    token = sched.manage_link_issue(appointment=appointment)
    reception = clinic.receptionist

    # when the appointment is cancelled, completed or missed
    if end == "cancel":
        sched.appointment_cancel(actor=reception, appointment=appointment)
    elif end == "complete":
        with time_machine.travel(appointment.span.lower, tick=False):
            for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
                appointment = step(actor=reception, appointment=appointment)
    else:
        with time_machine.travel(appointment.span.upper, tick=False):
            sched.appointment_mark_no_show(actor=reception, appointment=appointment)

    # then the link opens nothing
    with pytest.raises(ManageLinkInvalid):
        sched.manage_link_resolve(token=token)
    assert ManageLink.objects.get(appointment_id=appointment.pk).revoked_at is not None


def test_a_link_expires_after_the_visit_and_moves_with_it(clinic):
    # given a booking with a link
    appointment = _booked(clinic, days=2)
    token = sched.manage_link_issue(appointment=appointment)

    # when the appointment is moved a week later
    moved = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=appointment.span.lower + timedelta(days=7)
    )

    # then the link works until BOOKING_LINK_GRACE after the new end, and not after
    old_expiry = appointment.span.upper + settings.BOOKING_LINK_GRACE
    new_expiry = moved.span.upper + settings.BOOKING_LINK_GRACE
    with time_machine.travel(old_expiry + timedelta(hours=1), tick=False):
        assert sched.manage_link_resolve(token=token).pk == moved.pk
    with time_machine.travel(new_expiry - timedelta(minutes=1), tick=False):
        assert sched.manage_link_resolve(token=token).pk == moved.pk
    with time_machine.travel(new_expiry + timedelta(minutes=1), tick=False), pytest.raises(ManageLinkInvalid):
        sched.manage_link_resolve(token=token)


def test_only_a_booked_appointment_gets_a_link(clinic):
    # given a cancelled appointment
    appointment = sched.appointment_cancel(actor=clinic.receptionist, appointment=_booked(clinic))

    # when a link is asked for, then it is refused and none exists
    with pytest.raises(IllegalTransition):
        sched.manage_link_issue(appointment=appointment)
    assert not ManageLink.objects.filter(appointment_id=appointment.pk).exists()
