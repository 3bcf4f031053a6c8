"""The change history for owners: an appointment's moves and status changes, a patient's details,
each from django-simple-history's rows; owners only, and every read in the access log."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from patients import services as patients
from scheduling import services as sched
from tenants.audit.models import AccessLog
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import sign_in


@pytest.fixture
def moved(in_a):
    # an appointment booked by reception for 10:00, moved by reception to 11:30 with the other doctor,
    # then cancelled by the owner
    clinic = clinic_setup(in_a, doctors=2)
    clinic.receptionist.staff.branches.add(clinic.branch)
    appointment = book(clinic, clinic.at(MONDAY, 10))
    sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=clinic.at(MONDAY, 11, 30), doctor=clinic.doctors[1]
    )
    sched.appointment_cancel(actor=clinic.owner, appointment=appointment, reason="Clinic closed early")
    return clinic, appointment


def _client(chain, user) -> Client:
    client = Client(HTTP_HOST=chain.host)
    with schema_context(chain.schema):
        sign_in(client, user)
    return client


def test_an_owner_sees_who_moved_an_appointment_and_from_what_to_what(moved):
    # given the moved appointment, and the owner on the patient's chart
    clinic, appointment = moved
    owner = _client(clinic.chain, clinic.owner)
    chart = owner.get(f"/patients/{appointment.patient_id}/")
    assert f"/appointments/{appointment.pk}/history/".encode() in chart.content  # linked from the chart
    # when she opens the appointment's history
    page = owner.get(f"/appointments/{appointment.pk}/history/")
    # then each change names who, the old and the new time (in the branch's zone), doctors and status
    assert page.status_code == 200
    html = page.content.decode()
    receptionist = clinic.receptionist.get_full_name()
    assert f"by {receptionist}" in html
    assert f"by {clinic.owner.get_full_name()}" in html
    day = f"{MONDAY:%a %d %b %Y}"
    assert f"{day} 10:00 to 10:30" in html
    assert f"{day} 11:30 to 12:00" in html
    assert str(clinic.doctors[0]) in html
    assert str(clinic.doctors[1]) in html
    assert "Cancelled" in html
    assert "Clinic closed early" in html
    # fields are named as a reader says them, not by their column names
    assert '<th scope="row" class="plain">Time</th>' in html
    assert ">Span<" not in html
    assert ">Is override<" not in html
    # newest first: the cancellation, then the move, then the booking
    assert html.index("Cancelled") < html.index("11:30 to 12:00") < html.index("Created")
    assert AccessLog.objects.filter(
        actor_id=clinic.owner.pk,
        object_type="appointment_history",
        object_id=str(appointment.pk),
        patient_id=appointment.patient_id,
    ).exists()


def test_an_owner_sees_who_changed_a_patients_details(in_a):
    # given a patient whose phone reception corrected
    patient = patients.patient_create(actor=in_a.users["owner"], first_name="Hal", last_name="Story", city="York")
    patients.patient_update(actor=in_a.users["receptionist"], patient=patient, city="Leeds", phone="+44 7911 123000")
    # when the owner opens the patient's change history
    page = _client(in_a, in_a.users["owner"]).get(f"/patients/{patient.pk}/history/")
    # then the change names the receptionist, and the old and new values
    assert page.status_code == 200
    html = page.content.decode()
    assert "Changed" in html
    assert f"by {in_a.users['receptionist'].get_full_name()}" in html
    assert "<td>York</td><td>Leeds</td>" in html.replace("\n", "")
    assert "+447911123000" in html
    assert AccessLog.objects.filter(
        actor_id=in_a.users["owner"].pk, object_type="patient_history", patient_id=patient.pk
    ).exists()


@pytest.mark.parametrize("who", ["receptionist", "doctor", "branch_manager", "billing"])
def test_only_owners_read_the_change_history(moved, who):
    # given the moved appointment, and someone who is not an owner (at the appointment's branch or not)
    clinic, appointment = moved
    user = clinic.doctors[0].user if who == "doctor" else clinic.chain.users[who]
    client = _client(clinic.chain, user)
    before = AccessLog.objects.filter(object_type__endswith="_history").count()
    # when they ask for the appointment's or the patient's history
    of_appointment = client.get(f"/appointments/{appointment.pk}/history/")
    of_patient = client.get(f"/patients/{appointment.patient_id}/history/")
    # then they are refused (404 where they do not see the branch at all), and nothing was shown or logged
    assert of_appointment.status_code in (403, 404)
    assert of_patient.status_code == 403
    assert b"Clinic closed early" not in of_appointment.content
    assert AccessLog.objects.filter(object_type__endswith="_history").count() == before
    chart = client.get(f"/patients/{appointment.patient_id}/")
    assert f"/appointments/{appointment.pk}/history/".encode() not in chart.content
