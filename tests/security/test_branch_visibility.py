"""One answer to "which branches may this user see" (tenants.org.selectors.branch_ids_visible),
asked by every page, API view, FHIR search and calendar read.

The world: chain A's staff work at branch 1. A doctor who works at both branches has a patient at
branch 2 and a week of leave with a private reason. Branch-1 staff must not see branch 2's patients,
and only those who manage the doctor's leave read its reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment
from tenants.org import services as org
from tenants.org.models import Role, StaffMember
from tests.factories import Chain, unique_email, user_with_roles
from tests.factories.scheduling import clinic_setup

LEAVE_REASON = "Recovering from surgery"


@dataclass
class World:
    chain: Chain
    roaming: StaffMember  # works at branches 1 and 2
    local_doctor: StaffMember  # works at branch 1 only
    there: Appointment  # branch 2, with the roaming doctor
    here: Appointment  # branch 1, with the local doctor
    there_patient: Patient
    day: date


@pytest.fixture
def world(in_a: Chain) -> World:
    b1, b2 = in_a.branches[:2]
    owner = in_a.users["owner"]
    here_clinic = clinic_setup(in_a, branch=b1, doctors=1)
    there_clinic = clinic_setup(in_a, branch=b2, doctors=1)
    roaming = there_clinic.doctors[0]
    org.staff_update(actor=owner, staff=roaming, branch_ids=[b1.pk, b2.pk])
    day = there_clinic.days_ahead(7)
    there_patient = there_clinic.patient("Branchtwo")
    there = sched.appointment_book(
        actor=owner,
        patient=there_patient,
        doctor=roaming,
        branch=b2,
        service=there_clinic.service,
        start=there_clinic.at(day, 10),
    )
    here = sched.appointment_book(
        actor=owner,
        patient=here_clinic.patient("Branchone"),
        doctor=here_clinic.doctors[0],
        branch=b1,
        service=here_clinic.service,
        start=here_clinic.at(day, 10),
    )
    sched.leave_create(
        actor=owner,
        doctor=roaming,
        start=there_clinic.at(day + timedelta(days=1), 0),
        end=there_clinic.at(day + timedelta(days=2), 0),
        reason=LEAVE_REASON,
    )
    return World(in_a, roaming, here_clinic.doctors[0], there, here, there_patient, day)


def _as(api: Any, world: World, who: str) -> Any:
    if who == "roaming":
        return api(world.chain, as_email=world.roaming.user.email)
    if who == "local_doctor":
        return api(world.chain, as_email=world.local_doctor.user.email)
    return api(world.chain, who)


def _week(api: Any, world: World, who: str) -> Any:
    return _as(api, world, who).call("GET", f"/api/v1/calendar/doctors/{world.roaming.pk}/week/{world.day}/")


@pytest.mark.parametrize("who", ["receptionist", "billing", "local_doctor", "branch_manager"])
def test_doctor_week_shows_branch_1_staff_no_patient_of_branch_2(api: Any, world: World, who: str) -> None:
    # given a doctor who works at both branches, when branch-1 staff open her week
    response = _week(api, world, who)
    # then her branch-2 appointment is not in it, and nothing names its patient
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()}
    assert world.there.pk not in ids
    assert b"Branchtwo" not in response.content


def test_doctor_week_shows_the_owner_and_the_doctor_everything(api: Any, world: World) -> None:
    for who in ("owner", "roaming"):
        rows = _week(api, world, who).json()
        assert world.there.pk in {row["id"] for row in rows}, who
        leave = [row for row in rows if row["kind"] == "leave"]
        assert [row["notes"] for row in leave] == [LEAVE_REASON], who


@pytest.mark.parametrize("who", ["receptionist", "billing", "local_doctor"])
def test_leave_reasons_are_only_for_those_who_manage_the_leave(api: Any, world: World, who: str) -> None:
    # the leave itself shows (the doctor is away), its reason does not
    week = _week(api, world, who).json()
    assert [row["notes"] for row in week if row["kind"] == "leave"] == [""]
    listed = _as(api, world, who).call("GET", f"/api/v1/scheduling/leave/?doctor={world.roaming.pk}")
    assert listed.status_code == 200
    assert [entry["notes"] for entry in listed.json()] == [""]
    assert LEAVE_REASON.encode() not in listed.content


@pytest.mark.parametrize("who", ["owner", "branch_manager", "roaming"])
def test_leave_reasons_show_to_owner_manager_and_the_doctor(api: Any, world: World, who: str) -> None:
    listed = _as(api, world, who).call("GET", f"/api/v1/scheduling/leave/?doctor={world.roaming.pk}")
    assert [entry["notes"] for entry in listed.json()] == [LEAVE_REASON]


def test_branch_day_calendar_blanks_the_leave_reason(api: Any, world: World) -> None:
    b1 = world.chain.branches[0]
    rows = _as(api, world, "receptionist").call("GET", f"/api/v1/calendar/branches/{b1.pk}/day/{world.day}/").json()
    assert world.here.pk in {r["id"] for r in rows}
    rows = (
        _as(api, world, "receptionist")
        .call("GET", f"/api/v1/calendar/branches/{b1.pk}/day/{world.day + timedelta(days=1)}/")
        .json()
    )
    assert [r["notes"] for r in rows if r["kind"] == "leave"] == [""]


@pytest.mark.parametrize("who", ["receptionist", "billing", "local_doctor", "branch_manager"])
def test_fhir_appointment_search_stays_in_the_branches_one_sees(api: Any, world: World, who: str) -> None:
    client = _as(api, world, who)
    for query in (f"practitioner=Practitioner/{world.roaming.pk}", f"patient=Patient/{world.there_patient.pk}"):
        response = client.call("GET", f"/fhir/R4/Appointment?{query}")
        assert response.status_code == 200
        ids = [e["resource"]["id"] for e in response.json().get("entry", [])]
        assert str(world.there.pk) not in ids, query
    assert client.call("GET", f"/fhir/R4/Appointment/{world.there.pk}").status_code == 403


def test_fhir_appointment_search_shows_the_owner_every_branch(api: Any, world: World) -> None:
    query = f"practitioner=Practitioner/{world.roaming.pk}"
    response = _as(api, world, "owner").call("GET", f"/fhir/R4/Appointment?{query}")
    assert str(world.there.pk) in [e["resource"]["id"] for e in response.json()["entry"]]


@pytest.mark.parametrize("who", ["receptionist", "billing", "branch_manager"])
def test_appointment_list_and_detail_stay_in_the_branches_one_sees(api: Any, world: World, who: str) -> None:
    client = _as(api, world, who)
    ids = {a["id"] for a in client.call("GET", "/api/v1/appointments/?page_size=200").json()["results"]}
    assert world.here.pk in ids
    assert world.there.pk not in ids
    assert client.call("GET", f"/api/v1/appointments/{world.there.pk}/").status_code == 403


@pytest.fixture
def unassigned(world: World) -> Any:
    """Staff of every non-owner role with no branch at all."""
    users = {}
    for role in (Role.BILLING, Role.RECEPTIONIST, Role.DOCTOR, Role.BRANCH_MANAGER):
        users[role.value] = user_with_roles(email=unique_email(role.value), roles=[role], branches=[])
    return users


@pytest.mark.parametrize("role", ["billing", "receptionist", "doctor", "branch_manager"])
def test_staff_without_a_branch_are_not_chain_wide(api: Any, world: World, unassigned: Any, role: str) -> None:
    client = api(world.chain, as_email=unassigned[role].email)
    assert client.call("GET", "/api/v1/appointments/").json()["results"] == []
    assert client.call("GET", "/api/v1/branches/").json()["results"] == []
    for branch in world.chain.branches:
        day = client.call("GET", f"/api/v1/calendar/branches/{branch.pk}/day/{world.day}/")
        assert day.status_code == 403
    fhir = client.call("GET", f"/fhir/R4/Appointment?date=ge{world.day}")
    assert fhir.json().get("entry", []) == []


def test_billing_sees_only_the_desk_of_its_branch(world: World, client: Client) -> None:
    b1, b2 = world.chain.branches[:2]
    with schema_context(world.chain.schema):
        client.force_login(world.chain.users["billing"])
    host = world.chain.host
    assert client.get(f"/desk/{b2.pk}/?day={world.day}", HTTP_HOST=host).status_code == 403
    assert client.get(f"/desk/{b2.pk}/feed/?day={world.day}", HTTP_HOST=host).status_code == 403
    assert client.get(f"/desk/{b1.pk}/?day={world.day}", HTTP_HOST=host).status_code == 200
    own = client.get(f"/desk/{b1.pk}/feed/?day={world.day}", HTTP_HOST=host)  # the book's appointments
    assert own.status_code == 200
    assert b"Branchone" in own.content
    assert b"Branchtwo" not in own.content
    assert client.get("/desk/", HTTP_HOST=host)["Location"] == f"/desk/{b1.pk}/"


def test_a_billing_clerk_without_a_branch_has_no_desk(world: World, unassigned: Any, client: Client) -> None:
    with schema_context(world.chain.schema):
        client.force_login(unassigned["billing"])
    host = world.chain.host
    assert client.get("/desk/", HTTP_HOST=host).status_code == 404
    for branch in world.chain.branches:
        assert client.get(f"/desk/{branch.pk}/?day={world.day}", HTTP_HOST=host).status_code == 403


def test_my_day_shows_a_doctor_only_her_branches(world: World, client: Client) -> None:
    # the roaming doctor loses branch 2: her day no longer shows its patient
    with schema_context(world.chain.schema):
        org.staff_update(actor=world.chain.users["owner"], staff=world.roaming, branch_ids=[world.chain.branches[0].pk])
        client.force_login(world.roaming.user)
    page = client.get(f"/my-day/?day={world.day}", HTTP_HOST=world.chain.host)
    assert page.status_code == 200
    assert b"Branchtwo" not in page.content
