"""Changing a visit's length (dragging its end on the book): only where the service allows it, through
the same booking door as a move, kept in the history; a move keeps the length it was given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from config.errors import PermissionDenied
from scheduling import services as sched
from scheduling.exceptions import BookingRefused, InvalidScheduling, LengthNotAdjustable
from scheduling.models import Appointment
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error


@pytest.fixture
def adjustable(in_a):
    clinic = clinic_setup(in_a, duration=30)
    sched.service_update(actor=clinic.owner, service=clinic.service, length_adjustable=True)
    clinic.service.refresh_from_db()
    return clinic


def _minutes(appointment: Appointment) -> int:
    appointment.refresh_from_db()
    return int((appointment.span.upper - appointment.span.lower).total_seconds() // 60)


def test_staff_lengthen_a_visit_of_an_adjustable_service_and_the_history_says_who(adjustable):
    # given a 30-minute visit at 10:00 of a service whose length staff may change
    clinic = adjustable
    booked = book(clinic, clinic.at(MONDAY, 10))
    # when the receptionist drags its end to 10:45
    sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 10, 45))
    # then it lasts 45 minutes from the same start, and the history records the receptionist
    assert _minutes(booked) == 45  # read again
    assert booked.span.lower == clinic.at(MONDAY, 10)
    assert booked.history.first().history_user == clinic.receptionist
    # and shortening works the same way
    sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 10, 15))
    assert _minutes(booked) == 15


def test_a_move_keeps_the_length_it_was_given(adjustable):
    # given a visit lengthened to an hour
    clinic = adjustable
    booked = book(clinic, clinic.at(MONDAY, 10))
    sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 11))
    # when it is moved to 14:00
    sched.appointment_reschedule(actor=clinic.receptionist, appointment=booked, start=clinic.at(MONDAY, 14))
    # then it still lasts an hour
    assert _minutes(booked) == 60
    assert booked.span.lower == clinic.at(MONDAY, 14)


def test_a_service_of_fixed_length_refuses_and_nothing_changes(in_a):
    # given a visit of a service whose length is fixed (the default)
    clinic = clinic_setup(in_a, duration=30)
    booked = book(clinic, clinic.at(MONDAY, 10))
    # when staff try to lengthen it, then it is refused with its own code and stays 30 minutes
    with pytest.raises(LengthNotAdjustable) as info:
        sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 11))
    assert info.value.code == "length_not_adjustable"
    assert _minutes(booked) == 30


def test_a_resize_goes_through_the_booking_door(adjustable):
    # given a visit at 10:00, the same doctor's next visit at 11:00, and a shift ending at 17:00
    clinic = adjustable
    booked = book(clinic, clinic.at(MONDAY, 10))
    book(clinic, clinic.at(MONDAY, 11))
    late = book(clinic, clinic.at(MONDAY, 16, 30))
    # when it is dragged into the next visit, then the doctor is busy and nothing changes
    with pytest.raises(BookingRefused) as busy:
        sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 11, 15))
    assert busy.value.code == "doctor_busy"
    assert _minutes(booked) == 30
    # when the last visit is dragged past the shift, then it is refused as outside the shift
    with pytest.raises(BookingRefused) as outside:
        sched.appointment_resize(actor=clinic.receptionist, appointment=late, end=clinic.at(MONDAY, 17, 30))
    assert outside.value.code == "outside_shift"
    # when the doctor's leave starts at 10:40, then lengthening into it is refused
    sched.leave_create(
        actor=clinic.owner, doctor=clinic.doctors[0], start=clinic.at(MONDAY, 10, 40), end=clinic.at(MONDAY, 10, 55)
    )
    with pytest.raises(BookingRefused) as leave:
        sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 10, 50))
    assert leave.value.code in {"doctor_on_leave", "doctor_busy"}
    # when the end is off the 5-minute steps or too short, then the field says so
    for end in (clinic.at(MONDAY, 10, 32), clinic.at(MONDAY, 10)):
        with pytest.raises(InvalidScheduling) as invalid:
            sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=end)
        assert "end" in invalid.value.fields
    assert _minutes(booked) == 30


def test_buffers_follow_the_new_end(in_a):
    # given an adjustable service with 10 minutes after each visit, visits at 10:00 and 11:00
    clinic = clinic_setup(in_a, duration=30, after=10)
    sched.service_update(actor=clinic.owner, service=clinic.service, length_adjustable=True)
    booked = book(clinic, clinic.at(MONDAY, 10))
    book(clinic, clinic.at(MONDAY, 11))
    # when the first is lengthened to end at 10:55, then its buffer would run into 11:00: refused
    with pytest.raises(BookingRefused):
        sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 10, 55))
    # and to 10:50 it fits, its buffer up to 11:00
    sched.appointment_resize(actor=clinic.receptionist, appointment=booked, end=clinic.at(MONDAY, 10, 50))
    booked.refresh_from_db()
    assert booked.busy.upper == clinic.at(MONDAY, 11)


def test_a_role_that_may_not_change_appointments_is_refused_and_nothing_changes(adjustable, in_a):
    clinic = adjustable
    booked = book(clinic, clinic.at(MONDAY, 10))
    with pytest.raises(PermissionDenied):
        sched.appointment_resize(actor=in_a.users["billing"], appointment=booked, end=clinic.at(MONDAY, 11))
    assert _minutes(booked) == 30


def test_the_api_resizes_and_documents_its_refusals(api, chain_a):
    # given an adjustable and a fixed service, a visit of each
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, duration=30)
        fixed = clinic_setup(chain_a, duration=30, branch=chain_a.branches[1])
        booked = book(clinic, clinic.at(MONDAY, 10))
        other = book(fixed, fixed.at(MONDAY, 10), actor=fixed.owner)
    owner = api(chain_a, "owner")
    # when the owner marks the service adjustable through the API, then it says so
    patched = owner.call("PATCH", f"/api/v1/scheduling/services/{clinic.service.pk}/", {"length_adjustable": True})
    assert patched.status_code == 200, patched.content
    assert patched.json()["length_adjustable"] is True
    # when the desk sends a new end, then the visit lasts 45 minutes
    end = (clinic.at(MONDAY, 10) + timedelta(minutes=45)).isoformat()
    resized = owner.call("POST", f"/api/v1/appointments/{booked.pk}/resize/", {"end": end})
    assert resized.status_code == 200, resized.content
    with schema_context(chain_a.schema):
        assert _minutes(booked) == 45
    # when the service's length is fixed, then 409 length_not_adjustable and nothing changes
    refused = owner.call("POST", f"/api/v1/appointments/{other.pk}/resize/", {"end": end})
    assert_error(refused, 409, "length_not_adjustable")
    with schema_context(chain_a.schema):
        assert _minutes(other) == 30
