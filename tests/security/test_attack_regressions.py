"""What an attack review of the security release found, each kept fixed by a test: a doctor
gaining clinical access by moving someone else's appointment onto herself or by merging records,
a leave's conflict list naming patients of branches the manager does not see, input that reached
the database as a server error, and a lock-out that letter case could stretch."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from patients import services as patients
from patients.exceptions import MergeRefused
from patients.models import CareRelation, Patient
from scheduling import services as sched
from scheduling.exceptions import IllegalTransition
from tenants.accounts.models import ApiToken, User
from tenants.org import services as org
from tenants.org.models import Role
from tests.factories import PASSWORD, user_with_roles
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import assert_error, second_factor_code, sign_in


def _reads(user: User, patient: Patient) -> bool:
    return User.objects.get(pk=user.pk).has_perm("patients.view_clinical", patient)


@pytest.fixture
def clinic(in_a) -> Clinic:
    return clinic_setup(in_a, doctors=2)


def _booked_by_reception(clinic: Clinic, *, doctor_index: int = 1, days: int = 3, hour: int = 10):
    day = clinic.days_ahead(days)
    patient = clinic.patient("Victim")
    appointment = sched.appointment_book(
        actor=clinic.receptionist,
        patient=patient,
        doctor=clinic.doctors[doctor_index],
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(day, hour),
    )
    return patient, appointment


# --- no self-granted clinical access ----------------------------------------------------------------
def test_moving_someone_elses_patient_onto_herself_and_checking_in_grants_nothing(clinic):
    # given a patient reception booked with doctor B, and doctor A who never treated them
    attacker = clinic.doctors[0]
    patient, appointment = _booked_by_reception(clinic)
    assert not _reads(attacker.user, patient)
    # when A moves the appointment onto herself and, on the day, checks the patient in herself
    moved = sched.appointment_reschedule(
        actor=attacker.user, appointment=appointment, start=appointment.span.lower, doctor=attacker
    )
    with time_machine.travel(moved.span.lower - timedelta(hours=1), tick=False):
        sched.appointment_check_in(actor=attacker.user, appointment=moved)
    # then she reads nothing: she placed the patient with herself and certified the visit herself
    assert not _reads(attacker.user, patient)
    assert not CareRelation.objects.filter(patient=patient, doctor=attacker).exists()


def test_a_visit_reception_certifies_after_such_a_move_is_real_care(clinic):
    attacker = clinic.doctors[0]
    patient, appointment = _booked_by_reception(clinic)
    moved = sched.appointment_reschedule(
        actor=attacker.user, appointment=appointment, start=appointment.span.lower, doctor=attacker
    )
    with time_machine.travel(moved.span.lower - timedelta(minutes=10), tick=False):
        sched.appointment_check_in(actor=clinic.receptionist, appointment=moved)
        assert _reads(attacker.user, patient)


def test_a_patient_cannot_be_checked_in_before_the_day_of_the_appointment(clinic):
    patient, appointment = _booked_by_reception(clinic, days=3)
    with pytest.raises(IllegalTransition):
        sched.appointment_check_in(actor=clinic.receptionist, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert not CareRelation.objects.filter(patient=patient, reason="visit").exists()


def test_a_check_in_cancelled_before_the_visit_started_leaves_no_access(clinic):
    doctor = clinic.doctors[1]
    patient, appointment = _booked_by_reception(clinic)
    with time_machine.travel(appointment.span.lower - timedelta(minutes=5), tick=False):
        sched.appointment_check_in(actor=clinic.receptionist, appointment=appointment)
        assert _reads(doctor.user, patient)
        # the patient leaves before being seen
        sched.appointment_cancel(actor=clinic.receptionist, appointment=appointment, reason="Left unseen")
        assert not _reads(doctor.user, patient)


def test_confirming_a_hold_for_a_patient_counts_as_placing_them(clinic):
    # given a hold reception made with doctor A, which A herself confirms for a patient she chose
    attacker = clinic.doctors[0]
    day = clinic.days_ahead(2)
    hold = sched.appointment_hold(
        actor=clinic.receptionist,
        doctor=attacker,
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(day, 11),
        source="staff",
    )
    patient = clinic.patient("Chosen")
    booked = sched.appointment_hold_confirm(actor=attacker.user, hold=hold, hold_token=hold.hold_token, patient=patient)
    # when she checks the patient in herself, then nothing is granted
    with time_machine.travel(booked.span.lower, tick=False):
        sched.appointment_check_in(actor=attacker.user, appointment=booked)
    assert not _reads(attacker.user, patient)


def test_a_carer_cannot_widen_her_own_access_by_merging_records(clinic, in_a):
    # given a doctor who also manages the branch, with real care of one patient only
    owner = in_a.users["owner"]
    both = user_with_roles(
        email="doc-manager@alpha.example", roles=[Role.DOCTOR, Role.BRANCH_MANAGER], branches=[clinic.branch]
    ).staff
    sched.offering_set(actor=owner, doctor=both, branch=clinic.branch, service_ids=[clinic.service.pk])
    mine = clinic.patient("Mine")
    patients.care_team_assign(actor=owner, patient=mine, doctor=both)
    victim = clinic.patient("Victim")
    assert not _reads(both.user, victim)
    # when she merges the two records, either way, she is refused and nothing moves
    for keep, merge in ((victim, mine), (mine, victim)):
        with pytest.raises(MergeRefused):
            patients.patient_merge(actor=both.user, keep=keep, merge=merge)
    assert not _reads(both.user, victim)
    assert Patient.objects.get(pk=mine.pk).merged_into_id is None
    # an owner who treats neither merges them as before
    patients.patient_merge(actor=owner, keep=victim, merge=mine)


# --- the leave's conflict list stays in the manager's branches -------------------------------------
def test_a_leave_conflict_list_names_only_patients_of_branches_one_sees(in_a, api):
    owner = in_a.users["owner"]
    b1, b2 = in_a.branches[:2]
    clinic_setup(in_a, branch=b1, doctors=1)
    there = clinic_setup(in_a, branch=b2, doctors=1)
    doctor = there.doctors[0]
    org.staff_update(actor=owner, staff=doctor, branch_ids=[b1.pk, b2.pk])
    day = there.days_ahead(4)
    secret = there.patient("Zanzibarsecret")
    sched.appointment_book(
        actor=owner, patient=secret, doctor=doctor, branch=b2, service=there.service, start=there.at(day, 10)
    )
    body = {"doctor": doctor.pk, "start": there.at(day, 9).isoformat(), "end": there.at(day, 12).isoformat()}
    # the branch-1 manager learns there is a clash, not whose
    refused = api(in_a, "branch_manager").call("POST", "/api/v1/scheduling/leave/", body)
    error = assert_error(refused, 409, "leave_conflicts_appointments")
    assert "Zanzibarsecret" not in json.dumps(error)
    assert "1 at a branch you do not manage" in error["message"]
    page = sign_in(Client(HTTP_HOST=in_a.host), in_a.users["branch_manager"])
    response = page.post(
        "/settings/leave/", {"doctor": doctor.pk, "starts": f"{day}T09:00", "ends": f"{day}T12:00", "reason": "x"}
    )
    assert response.status_code == 200
    assert b"Zanzibarsecret" not in response.content
    # the owner sees who
    assert (
        "Zanzibarsecret"
        in api(in_a, "owner").call("POST", "/api/v1/scheduling/leave/", body).json()["error"]["message"]
    )


# --- input that used to reach the database as a server error ---------------------------------------
@pytest.mark.parametrize(
    "credential", [b"Token a\x00b", "Token \u00e9\u00e9\u00e9".encode("latin-1"), b"Token \xff\xfe"]
)
def test_a_garbled_api_token_is_a_401(chain_a, credential):
    client = Client(HTTP_HOST=chain_a.host)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=credential.decode("latin-1"))
    assert_error(response, 401)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients/?q=ab%00cd",
        "/fhir/R4/Patient?name=ab%00",
        "/fhir/R4/Patient?identifier=%00",
        "/fhir/R4/Location?name=%00",
        "/api/v1/auth/tokens/%00/",
    ],
)
def test_a_nul_byte_in_the_address_is_a_400(chain_a, api, path):
    client = api(chain_a, "receptionist")
    response = client.call("DELETE" if "tokens" in path else "GET", path)
    assert response.status_code == 400, response.content


def test_a_nul_byte_in_a_page_address_is_a_400(chain_a):
    page = sign_in(Client(HTTP_HOST=chain_a.host), chain_a.users["receptionist"])
    assert page.get("/patients/?q=ab%00").status_code == 400


def test_an_impossible_birth_date_is_a_400(chain_a, api):
    response = api(chain_a, "receptionist").call("GET", "/fhir/R4/Patient?birthdate=9999-99-99")
    assert response.status_code == 400


def test_a_body_nested_too_deeply_is_a_400(chain_a, api):
    deep = "[" * 10_000 + "]" * 10_000
    response = api(chain_a, "owner").call("POST", "/api/v1/patients/", raw=deep)
    assert_error(response, 400, "malformed_request")
    fifty = json.dumps({"first_name": "A", "last_name": "B", "x": json.loads("[" * 50 + "]" * 50)})
    assert_error(api(chain_a, "owner").call("POST", "/api/v1/patients/", raw=fifty), 400, "malformed_request")


@pytest.mark.parametrize("value", ["abc", "\u00b2", "1.5", ""])
def test_online_booking_ignores_ids_that_are_not_numbers(chain_a, value):
    client = Client(HTTP_HOST=chain_a.host)
    assert client.get("/book/", {"branch": value, "service": "1", "doctor": value}).status_code == 200
    held = client.post("/book/hold/", {"branch": value, "service": value, "doctor": value, "start": "x"})
    assert held.status_code == 404


def test_a_second_factor_of_unicode_digits_is_refused_not_an_error(in_a):
    # given an owner with an authenticator, so that the code is really checked
    owner = in_a.users["owner"]
    second_factor_code(owner)
    tokens = ApiToken.objects.filter(user=owner).count()
    # when the code is six superscript twos
    response = Client(HTTP_HOST=in_a.host).post(
        "/api/v1/auth/login/",
        {"email": owner.email, "password": PASSWORD, "otp": "\u00b2\u00b2\u00b2\u00b2\u00b2\u00b2"},
        content_type="application/json",
    )
    # then it is a wrong code, and no token is issued
    assert_error(response, 401, "otp_invalid")
    assert ApiToken.objects.filter(user=owner).count() == tokens


# --- the lock-out counts an e-mail however it is typed ---------------------------------------------
def test_letter_case_does_not_stretch_the_lock_out(chain_a, settings):
    email = chain_a.email("billing")
    spellings = [email.upper(), email.title(), email.swapcase(), f" {email} ", email.capitalize()]
    for spelling in spellings[: settings.AXES_FAILURE_LIMIT]:
        Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="198.51.100.90").post(
            "/api/v1/auth/login/", {"email": spelling, "password": "wrong"}, content_type="application/json"
        )
    locked = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="198.51.100.90").post(
        "/api/v1/auth/login/", {"email": email, "password": PASSWORD}, content_type="application/json"
    )
    assert_error(locked, 429, "login_locked")
