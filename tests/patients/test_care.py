"""Clinical access comes from real care and ends when it should (patients.rules): a visit, a booking
someone else made, an explicit assignment by an owner or manager. A doctor booking a patient with
herself gains nothing; everything else is break-glass, which owners see."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django_tenants.utils import schema_context
from simple_history.utils import get_history_model_for_model

from config.errors import PermissionDenied
from patients import services
from patients.exceptions import InvalidPatient
from patients.models import BreakGlass, CareRelation, Patient
from scheduling import services as sched
from tenants.accounts.models import User
from tenants.audit.models import AccessLog
from tests.factories import user_with_roles
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import Api, assert_error, sign_in


def _reads(user: User, patient: Patient) -> bool:
    """Whether the user may read the clinical record now (a fresh user: nothing cached)."""
    return User.objects.get(pk=user.pk).has_perm("patients.view_clinical", patient)


@pytest.fixture
def clinic(in_a) -> Clinic:
    return clinic_setup(in_a, doctors=2)


def _soon(clinic: Clinic, days: int = 2, hour: int = 10) -> datetime:
    """A bookable time a few days from now, whatever day the tests run."""
    day = clinic.days_ahead(days)
    return clinic.at(day, hour)


def _book(clinic: Clinic, *, actor, patient, doctor_index: int = 0, start: datetime | None = None):
    return sched.appointment_book(
        actor=actor,
        patient=patient,
        doctor=clinic.doctors[doctor_index],
        branch=clinic.branch,
        service=clinic.service,
        start=start or _soon(clinic),
    )


def test_a_doctor_booking_a_patient_with_herself_gains_nothing(clinic):
    # given a doctor and a patient she has never treated
    doctor, patient = clinic.doctors[0], clinic.patient()

    # when she books the patient with herself
    _book(clinic, actor=doctor.user, patient=patient)

    # then she may not read the record, and no care relation exists
    assert not _reads(doctor.user, patient)
    assert not CareRelation.objects.filter(patient=patient).exists()


def test_a_booking_by_reception_opens_the_record_until_shortly_after_the_visit(clinic):
    # given a booking the receptionist made with the doctor
    doctor, patient = clinic.doctors[0], clinic.patient()
    appointment = _book(clinic, actor=clinic.receptionist, patient=patient)

    # then the doctor may prepare, until CARE_BOOKING_GRACE after the appointment's end
    assert _reads(doctor.user, patient)
    until = appointment.span.upper + settings.CARE_BOOKING_GRACE
    with time_machine.travel(until - timedelta(minutes=1), tick=False):
        assert _reads(doctor.user, patient)
    with time_machine.travel(until + timedelta(minutes=1), tick=False):
        assert not _reads(doctor.user, patient)
    # and the other doctor of the branch gets nothing from it
    assert not _reads(clinic.doctors[1].user, patient)


def test_an_online_booking_by_the_patient_opens_the_record(clinic):
    # given a hold made online (no account) and confirmed for the patient
    patient = clinic.patient()
    hold = sched.appointment_hold(
        actor=None, doctor=clinic.doctors[0], branch=clinic.branch, service=clinic.service, start=_soon(clinic)
    )

    # when the patient confirms it
    sched.appointment_hold_confirm(actor=None, hold=hold, hold_token=hold.hold_token, patient=patient)

    # then the doctor may prepare the visit
    assert _reads(clinic.doctors[0].user, patient)


def test_a_booking_cancelled_or_missed_before_the_visit_grants_nothing(clinic):
    # given two bookings made by reception for two patients
    cancelled_patient, missed_patient = clinic.patient(), clinic.patient()
    doctor = clinic.doctors[0]
    first = _book(clinic, actor=clinic.receptionist, patient=cancelled_patient, start=_soon(clinic, hour=10))
    second = _book(clinic, actor=clinic.receptionist, patient=missed_patient, start=_soon(clinic, hour=11))
    assert _reads(doctor.user, cancelled_patient)
    assert _reads(doctor.user, missed_patient)

    # when one is cancelled and the other is marked a no-show once its time has passed
    sched.appointment_cancel(actor=clinic.receptionist, appointment=first)
    with time_machine.travel(second.span.upper + timedelta(minutes=5), tick=False):
        sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=second)

    # then neither booking lets the doctor read
    assert not _reads(doctor.user, cancelled_patient)
    assert not _reads(doctor.user, missed_patient)
    assert not CareRelation.objects.filter(patient__in=[cancelled_patient, missed_patient]).exists()


def test_a_visit_checked_in_opens_the_record_for_the_care_period_after_it(clinic):
    # given a booking by reception
    doctor, patient = clinic.doctors[0], clinic.patient()
    appointment = _book(clinic, actor=clinic.receptionist, patient=patient)

    # when the patient is checked in (at the visit's time)
    with time_machine.travel(appointment.span.lower, tick=False):
        sched.appointment_check_in(actor=clinic.receptionist, appointment=appointment)
    visit = CareRelation.objects.get(appointment_id=appointment.pk, reason=CareRelation.Reason.VISIT)

    # then the doctor reads the record for the care period after the visit, and not after it
    assert visit.expires_at == appointment.span.lower + settings.CARE_PERIOD
    with time_machine.travel(visit.expires_at - timedelta(days=1), tick=False):
        assert _reads(doctor.user, patient)
    with time_machine.travel(visit.expires_at + timedelta(minutes=1), tick=False):
        assert not _reads(doctor.user, patient)


def test_a_later_visit_extends_the_care_period(clinic):
    # given a visit, and a second one a month later
    doctor, patient = clinic.doctors[0], clinic.patient()
    first = _book(clinic, actor=clinic.receptionist, patient=patient, start=_soon(clinic, days=2))
    second = _book(clinic, actor=clinic.receptionist, patient=patient, start=_soon(clinic, days=32))
    for appointment in (first, second):
        with time_machine.travel(appointment.span.lower, tick=False):
            sched.appointment_check_in(actor=clinic.receptionist, appointment=appointment)
            sched.appointment_start(actor=doctor.user, appointment=appointment)

    # then access lasts the care period after the last visit
    with time_machine.travel(first.span.lower + settings.CARE_PERIOD + timedelta(days=1), tick=False):
        assert _reads(doctor.user, patient)
    with time_machine.travel(second.span.lower + settings.CARE_PERIOD + timedelta(minutes=1), tick=False):
        assert not _reads(doctor.user, patient)


def test_a_doctor_alone_certifies_no_visit_of_her_own_booking(clinic):
    # given two patients the doctor booked with herself
    doctor = clinic.doctors[0]
    alone, seen = clinic.patient(), clinic.patient()
    mine = _book(clinic, actor=doctor.user, patient=alone, start=_soon(clinic, hour=10))
    checked_by_desk = _book(clinic, actor=doctor.user, patient=seen, start=_soon(clinic, hour=11))

    # when she checks one in and starts it herself, and reception checks the other in (on the day)
    with time_machine.travel(mine.span.lower, tick=False):
        sched.appointment_check_in(actor=doctor.user, appointment=mine)
        sched.appointment_start(actor=doctor.user, appointment=mine)
        sched.appointment_check_in(actor=clinic.receptionist, appointment=checked_by_desk)

    # then only the visit someone else saw happen counts
    assert not _reads(doctor.user, alone)
    assert _reads(doctor.user, seen)


def test_a_reschedule_moves_the_grant_with_the_appointment(clinic):
    # given a booking by reception with the first doctor
    first, second = clinic.doctors
    patient = clinic.patient()
    appointment = _book(clinic, actor=clinic.receptionist, patient=patient, doctor_index=0)

    # when reception moves it to the second doctor, two days later
    moved = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=_soon(clinic, days=4), doctor=second
    )

    # then the grant is the second doctor's, until shortly after the new time
    assert not _reads(first.user, patient)
    assert _reads(second.user, patient)
    grant = CareRelation.objects.get(appointment_id=moved.pk)
    assert grant.expires_at == moved.span.upper + settings.CARE_BOOKING_GRACE

    # and when the first doctor moves it back to herself, she gains nothing and the second loses it
    sched.appointment_reschedule(actor=first.user, appointment=moved, start=_soon(clinic, days=5), doctor=first)
    assert not _reads(first.user, patient)
    assert not _reads(second.user, patient)


def test_owners_and_managers_assign_and_remove_a_doctor(clinic):
    # given a patient nobody has treated
    doctor, patient = clinic.doctors[0], clinic.patient()
    manager = clinic.chain.users["branch_manager"]
    assert not _reads(doctor.user, patient)

    # when the branch manager assigns the doctor
    relation = services.care_team_assign(actor=manager, patient=patient, doctor=doctor)

    # then she reads the record, and the assignment is in the history and the access log
    assert _reads(doctor.user, patient)
    assert (relation.reason, relation.granted_by_id, relation.expires_at) == ("assigned", manager.pk, None)
    history = get_history_model_for_model(CareRelation).objects.filter(id=relation.pk)
    assert [(h.history_type, h.history_user_id) for h in history] == [("+", manager.pk)]
    assert AccessLog.objects.filter(object_type="care_relation", action="create", patient_id=patient.pk).exists()

    # when the owner removes her (she also has a booking by reception meanwhile)
    _book(clinic, actor=clinic.receptionist, patient=patient)
    assert services.care_team_unassign(actor=clinic.owner, patient=patient, doctor=doctor) == 2

    # then she reads nothing any more, and the removal is recorded
    assert not _reads(doctor.user, patient)
    assert AccessLog.objects.filter(object_type="care_relation", action="delete", patient_id=patient.pk).exists()
    assert get_history_model_for_model(CareRelation).objects.filter(id=relation.pk, history_type="-").exists()


def test_nobody_assigns_themselves(clinic):
    # given an owner who is also a doctor, and a branch manager asked to add a doctor of another branch
    from tenants.org import services as org

    owner, patient = clinic.owner, clinic.patient()
    org.staff_update(actor=owner, staff=owner.staff, roles=["owner", "doctor"])
    elsewhere = user_with_roles(email="elsewhere@alpha.example", roles=["doctor"], branches=[clinic.chain.branches[1]])

    # when they try
    with pytest.raises(InvalidPatient):
        services.care_team_assign(actor=owner, patient=patient, doctor=owner.staff)
    with pytest.raises(PermissionDenied):
        services.care_team_assign(actor=clinic.chain.users["branch_manager"], patient=patient, doctor=elsewhere.staff)

    # then nothing changed
    assert not CareRelation.objects.filter(patient=patient).exists()
    assert not _reads(owner, patient)


# --- the care-team endpoint: every kind of caller -------------------------------------------------
WHO = ["anonymous", "other chain", "receptionist", "doctor", "billing", "branch_manager", "owner"]
MAY_ASSIGN = {"owner", "branch_manager"}


def _caller(api, chain, who) -> Api:
    if who == "anonymous":
        return api(chain)
    if who == "other chain":
        from tests.conftest import WORLD

        client = Api(chain.host)
        client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {api(WORLD['b'], 'owner').token}"
        return client
    return api(chain, who)


def _team(chain, patient_id):
    with schema_context(chain.schema):
        return sorted(
            CareRelation.objects.filter(patient_id=patient_id).values_list("doctor_id", "reason", "expires_at")
        )


@pytest.mark.parametrize("who", WHO)
def test_care_team_endpoint_by_caller(api, chain_a, who):
    # given a patient and a new doctor of the first branch
    with schema_context(chain_a.schema):
        patient = services.patient_create(actor=chain_a.users["owner"], first_name="Cara", last_name="Team")
        doctor = user_with_roles(email="newdoc@alpha.example", roles=["doctor"], branches=chain_a.branches[:1])
        kept = user_with_roles(email="kept@alpha.example", roles=["doctor"], branches=chain_a.branches[:1])
        services.care_team_assign(actor=chain_a.users["owner"], patient=patient, doctor=kept.staff)
    url = f"/api/v1/patients/{patient.pk}/care-team/"
    client = _caller(api, chain_a, who)
    before = _team(chain_a, patient.pk)

    # when they add one doctor and remove another
    added = client.call("POST", url, {"doctor": doctor.staff.pk})
    removed = client.call("DELETE", f"{url}{kept.staff.pk}/")

    # then only owners and managers may, and a refusal changes nothing
    if who in MAY_ASSIGN:
        assert added.status_code == 201, added.content
        assert added.json()["reason"] == "assigned"
        assert removed.status_code == 204
        team = {doctor_id for doctor_id, _, expires in _team(chain_a, patient.pk) if expires is None}
        assert team == {doctor.staff.pk}
    else:
        expected = 401 if who in ("anonymous", "other chain") else 403
        assert_error(added, expected)
        assert_error(removed, expected)
        assert _team(chain_a, patient.pk) == before


def test_care_team_list_is_logged(api, chain_a):
    # given a patient with an assigned doctor
    with schema_context(chain_a.schema):
        patient = services.patient_create(actor=chain_a.users["owner"], first_name="Lis", last_name="Ted")
        services.care_team_assign(actor=chain_a.users["owner"], patient=patient, doctor=chain_a.users["doctor"].staff)

    # when reception reads the care team
    team = api(chain_a, "receptionist").call("GET", f"/api/v1/patients/{patient.pk}/care-team/")

    # then it names the doctor and why, and the reading is in the access log
    assert [(r["doctor"], r["reason"]) for r in team.json()] == [(chain_a.users["doctor"].staff.pk, "assigned")]
    with schema_context(chain_a.schema):
        assert AccessLog.objects.filter(object_type="care_relation", action="list", patient_id=patient.pk).exists()


def test_the_chart_form_adds_and_removes_a_doctor(client, in_a):
    # given a patient and the owner signed in
    owner, doctor = in_a.users["owner"], in_a.users["doctor"]
    patient = services.patient_create(actor=owner, first_name="Form", last_name="Chart")
    sign_in(client, owner)

    # when the owner adds the doctor on the chart, then removes her
    chart = client.get(f"/patients/{patient.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert "Add to care team" in chart
    client.post(f"/patients/{patient.pk}/care-team/", {"doctor": doctor.staff.pk}, HTTP_HOST=in_a.host)
    assert _reads(doctor, patient)
    assert "assigned" in client.get(f"/patients/{patient.pk}/", HTTP_HOST=in_a.host).content.decode()
    client.post(f"/patients/{patient.pk}/care-team/{doctor.staff.pk}/remove/", HTTP_HOST=in_a.host)

    # then the doctor has no access any more; reception sees no form
    assert not _reads(doctor, patient)
    client.force_login(in_a.users["receptionist"])
    assert "Add to care team" not in client.get(f"/patients/{patient.pk}/", HTTP_HOST=in_a.host).content.decode()
    client.post(f"/patients/{patient.pk}/care-team/", {"doctor": doctor.staff.pk}, HTTP_HOST=in_a.host)
    assert not CareRelation.objects.filter(patient=patient).exists()


def test_owners_see_every_emergency_opening(client, in_a):
    # given a doctor outside the care team who opens a record in an emergency
    owner = in_a.users["owner"]
    patient = services.patient_create(actor=owner, first_name="Glass", last_name="Broken")
    outsider = user_with_roles(email="nightshift@alpha.example", roles=["doctor"])
    services.break_glass_open(actor=outsider, patient=patient, reason="Collapsed in the waiting room, allergies?")

    # when the owner opens the emergency-access page (linked from the navigation)
    sign_in(client, owner)
    home = client.get("/", HTTP_HOST=in_a.host).content.decode()
    page = client.get("/audit/emergency-access/", HTTP_HOST=in_a.host)

    # then it names who, which patient, why and when; and reading it is logged
    assert "/audit/emergency-access/" in home
    text = page.content.decode()
    assert page.status_code == 200
    assert "Collapsed in the waiting room" in text
    assert "Glass Broken" in text
    assert "Nightshift" in text
    assert AccessLog.objects.filter(object_type="break_glass", action="list", patient_id=patient.pk).exists()

    # and nobody else may see it
    for role in ("branch_manager", "doctor", "receptionist", "billing"):
        client.force_login(in_a.users[role])
        assert client.get("/audit/emergency-access/", HTTP_HOST=in_a.host).status_code == 403, role
    assert BreakGlass.objects.filter(patient=patient).count() == 1


def test_the_care_period_is_a_setting(clinic, settings):
    # given a chain configured with a one-year care period
    settings.CARE_PERIOD = timedelta(days=365)
    patient = clinic.patient()
    appointment = _book(clinic, actor=clinic.receptionist, patient=patient)

    # when the visit happens
    with time_machine.travel(appointment.span.lower, tick=False):
        sched.appointment_check_in(actor=clinic.receptionist, appointment=appointment)

    # then access ends a year after it
    visit = CareRelation.objects.get(appointment_id=appointment.pk, reason="visit")
    assert visit.expires_at == appointment.span.lower + timedelta(days=365)
