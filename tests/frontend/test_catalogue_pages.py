from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.exceptions import BookingRefused
from scheduling.models import BranchHours, Room, Service, ShiftPattern
from scheduling.selectors import policy_get
from tests.factories.scheduling import MONDAY, clinic_setup
from tests.helpers import sign_in


def _login(client, chain, role):
    with schema_context(chain.schema):
        sign_in(client, chain.users[role])


def test_owner_manages_services_and_booking_rules(in_a, client):
    _login(client, in_a, "owner")
    form = {
        "name": "Dermatology",
        "duration_minutes": 25,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 5,
        "price_minor": 9000,
        "bookable_online": "on",
        "is_active": "on",
    }
    assert client.post("/settings/services/", form, HTTP_HOST=in_a.host).status_code == 302
    assert Service.objects.get(name="Dermatology").buffer_after_minutes == 5
    bad = client.post(
        "/settings/services/", {**form, "name": "dermatology", "duration_minutes": 7}, HTTP_HOST=in_a.host
    )
    assert bad.status_code == 200  # errors on the form, nothing saved
    assert Service.objects.filter(name__iexact="dermatology").count() == 1
    rules = {
        "cancellation_window_hours": 48,
        "online_min_notice_minutes": 60,
        "online_horizon_days": 30,
        "online_slot_step_minutes": 10,
        "hold_minutes": 5,
    }
    assert client.post("/settings/booking-rules/", rules, HTTP_HOST=in_a.host).status_code == 302
    assert policy_get().cancellation_window_hours == 48


def test_changing_hours_lists_the_appointments_that_fall_outside(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    sched.appointment_book(
        actor=clinic.owner,
        patient=clinic.patient("Late"),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(MONDAY, 16),
    )
    _login(client, in_a, "branch_manager")
    hours = {f"opens_{d}": "09:00" for d in range(5)} | {f"closes_{d}": "13:00" for d in range(5)}
    url = f"/settings/branches/{clinic.branch.pk}/hours/"
    first = client.post(url, hours, HTTP_HOST=in_a.host)
    assert first.status_code == 200
    assert b"Booked outside the new hours" in first.content
    assert b"Late" in first.content
    assert BranchHours.objects.filter(branch=clinic.branch).count() == 7  # unchanged until confirmed
    client.post(url, {**hours, "confirm": "1"}, HTTP_HOST=in_a.host)
    assert BranchHours.objects.filter(branch=clinic.branch).count() == 5


def test_rooms_and_shifts_page(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    _login(client, in_a, "owner")
    url = f"/settings/branches/{clinic.branch.pk}/calendar/"
    client.post(url, {"add_room": "1", "name": "Minor ops"}, HTTP_HOST=in_a.host)
    assert Room.objects.filter(branch=clinic.branch, name="Minor ops").exists()
    shift = {
        "add_shift": "1",
        "doctor": clinic.doctors[0].pk,
        "weekday": 0,
        "starts": "07:00",
        "ends": "08:30",
        "valid_from": str(MONDAY),
    }
    client.post(url, shift, HTTP_HOST=in_a.host)
    assert ShiftPattern.objects.filter(doctor=clinic.doctors[0], starts="07:00").exists()
    overlap = client.post(url, {**shift, "starts": "08:00", "ends": "10:00"}, HTTP_HOST=in_a.host)
    assert b"already works at that time" in overlap.content


def test_receptionists_cannot_change_the_catalogue(in_a, client):
    _login(client, in_a, "receptionist")
    assert client.get("/settings/services/", HTTP_HOST=in_a.host).status_code == 403
    assert client.get(f"/settings/branches/{in_a.branches[0].pk}/hours/", HTTP_HOST=in_a.host).status_code == 403


def test_closures_close_a_day_for_booking(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    _login(client, in_a, "owner")
    url = f"/settings/branches/{clinic.branch.pk}/hours/"
    client.post(
        url, {"add_closure": "1", "closure_date": str(MONDAY), "closure_note": "Bank holiday"}, HTTP_HOST=in_a.host
    )
    assert b"Bank holiday" in client.get(url, HTTP_HOST=in_a.host).content
    patient = clinic.patient()
    with pytest.raises(BookingRefused) as refused:
        sched.appointment_book(
            actor=clinic.owner,
            patient=patient,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(MONDAY, 10),
        )
    assert refused.value.code == "branch_closed"
