from __future__ import annotations

import time_machine
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import Leave, Status
from tenants.org import services as org
from tests.factories.scheduling import MONDAY, book, clinic_setup


def test_doctor_sees_their_day_and_starts_a_visit(in_a, client):
    clinic = clinic_setup(in_a, doctors=2)
    doctor = clinic.doctors[0]
    mine = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=clinic.patient("Mine"), doctor=doctor)
    book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=clinic.patient("Theirs"), doctor=clinic.doctors[1])
    on_the_day = time_machine.travel(clinic.at(MONDAY, 9, 30), tick=True)
    on_the_day.start()
    sched.appointment_check_in(actor=clinic.receptionist, appointment=mine)
    with schema_context(in_a.schema):
        client.force_login(doctor.user)
    page = client.get(f"/my-day/?day={MONDAY}", HTTP_HOST=in_a.host).content.decode()
    assert "Mine" in page
    assert "Theirs" not in page
    assert "10:00" in page  # the chain's clock (London), not UTC
    client.post(f"/desk/appointments/{mine.pk}/start/", HTTP_HOST=in_a.host)
    on_the_day.stop()
    mine.refresh_from_db()
    assert mine.status == Status.IN_PROGRESS


def test_a_doctor_at_a_branch_in_another_zone_sees_her_day_on_its_clock(in_a, client):
    # given a doctor who works only at a Los Angeles branch of a London chain, seeing Wes at 16:30 on Monday
    west = org.branch_create(actor=in_a.users["owner"], name="Pacific", timezone_name="America/Los_Angeles")
    clinic = clinic_setup(in_a, branch=west, doctors=1)
    doctor = clinic.doctors[0]
    book(clinic, clinic.at(MONDAY, 16, 30), actor=clinic.owner, patient=clinic.patient("Wes"), doctor=doctor)
    with schema_context(in_a.schema):
        client.force_login(doctor.user)
    # when she opens her Monday
    page = client.get(f"/my-day/?day={MONDAY}", HTTP_HOST=in_a.host).content.decode()
    # then the visit is on it, at the branch's 16:30 (London's Tuesday 00:30 would hide it)
    assert "Wes" in page
    assert "16:30" in page


def test_manager_adding_leave_sees_the_appointments_in_the_way(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    doctor = clinic.doctors[0]
    book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, patient=clinic.patient("Blocking"), doctor=doctor)
    with schema_context(in_a.schema):
        client.force_login(in_a.users["branch_manager"])
    form = {"doctor": doctor.pk, "starts": f"{MONDAY}T09:00", "ends": f"{MONDAY}T17:00", "reason": "Course"}
    page = client.post("/settings/leave/", form, HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"Appointments in the way" in page.content
    assert b"Blocking" in page.content
    assert not Leave.objects.filter(doctor=doctor).exists()
    ok = client.post("/settings/leave/", {**form, "starts": f"{MONDAY}T13:00"}, HTTP_HOST=in_a.host)
    assert ok.status_code == 302
    leave = Leave.objects.get(doctor=doctor)
    assert leave.span.lower == clinic.at(MONDAY, 13)  # the form's times are the chain's wall clock


def test_receptionist_has_no_leave_page(in_a, client):
    with schema_context(in_a.schema):
        client.force_login(in_a.users["receptionist"])
    assert client.get("/settings/leave/", HTTP_HOST=in_a.host).status_code == 404
