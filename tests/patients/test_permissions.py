"""Who may see what of a patient's record, over every patient endpoint. A refusal carries no
patient data and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from patients.models import ClinicalNote, Diagnosis, FollowUp, Patient, Prescription
from tests.helpers import Api, assert_error

WHO = ["owner", "branch_manager", "doctor", "outsider", "receptionist", "billing", "anonymous", "other chain"]
DEMOGRAPHIC_READERS = {"owner", "branch_manager", "doctor", "outsider", "receptionist", "billing"}
REGISTER = {"owner", "branch_manager", "doctor", "outsider", "receptionist"}
CLINICIANS = {"doctor"}  # in the care team


def _client(api, record, who):
    if who == "anonymous":
        return api(record.chain)
    if who == "other chain":
        from tests.conftest import WORLD

        client = Api(record.chain.host)
        client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {api(WORLD['b'], 'owner').token}"
        return client
    if who == "outsider":
        return api(record.chain, as_email=record.outsider.email)
    return api(record.chain, who)


def _endpoints(record):
    p, n = record.patient.pk, record.note.pk
    return [
        ("GET", f"/api/v1/patients/{p}/", None, DEMOGRAPHIC_READERS),
        ("GET", "/api/v1/patients/?q=muller", None, REGISTER),
        ("PATCH", f"/api/v1/patients/{p}/", {"city": "Leeds"}, REGISTER),
        ("POST", f"/api/v1/patients/{p}/consent/", {"channel": "sms", "given": True}, REGISTER),
        ("GET", f"/api/v1/patients/{p}/notes/", None, CLINICIANS),
        ("POST", f"/api/v1/patients/{p}/notes/", {"title": "x", "body": "y"}, CLINICIANS),
        ("GET", f"/api/v1/notes/{n}/", None, CLINICIANS),
        ("PATCH", f"/api/v1/notes/{n}/", {"body": "changed"}, CLINICIANS),
        ("GET", f"/api/v1/patients/{p}/diagnoses/", None, CLINICIANS),
        ("POST", f"/api/v1/patients/{p}/diagnoses/", {"icd10_code": "J45.9", "text": "Asthma"}, CLINICIANS),
        ("GET", f"/api/v1/patients/{p}/prescriptions/", None, CLINICIANS),
        ("GET", f"/api/v1/patients/{p}/attachments/", None, CLINICIANS),
        ("GET", f"/api/v1/patients/{p}/follow-ups/", None, CLINICIANS),
        ("GET", f"/api/v1/patients/{p}/audit/", None, {"owner"}),
        ("GET", f"/api/v1/audit/users/{record.chain.users['doctor'].pk}/", None, {"owner"}),
        ("POST", f"/api/v1/notes/{n}/sign/", None, CLINICIANS),
        (
            "POST",
            f"/api/v1/patients/{p}/follow-ups/",
            {"due_date": str(timezone.localdate() + timedelta(days=30)), "reason": "Review"},
            CLINICIANS,
        ),
        (
            "POST",
            f"/api/v1/patients/{p}/prescriptions/",
            {"medication": "Ibuprofen", "dose": "400 mg", "frequency": "3x daily"},
            CLINICIANS,
        ),
        ("POST", "/api/v1/patients/merge/", {"keep": p, "merge": record.twin.pk}, {"owner", "branch_manager"}),
    ]


def _success(method: str, path: str) -> int:
    """Reads and changes answer 200; a POST that creates answers 201, one that acts on a record
    (recording consent, signing a note, merging two patients) 200."""
    acts = path.endswith(("/consent/", "/sign/", "/merge/"))
    return 201 if method == "POST" and not acts else 200


def _state(record):
    with schema_context(record.chain.schema):
        patient = Patient.objects.get(pk=record.patient.pk)
        note = ClinicalNote.objects.get(pk=record.note.pk)
        return (
            patient.city,
            patient.sms_consent_at,
            ClinicalNote.objects.count(),
            note.body,
            note.status,
            Diagnosis.objects.count(),
            FollowUp.objects.count(),
            Prescription.objects.count(),
            Patient.objects.get(pk=record.twin.pk).merged_into_id,
        )


@pytest.mark.parametrize("index", range(19))
@pytest.mark.parametrize("who", WHO)
def test_patient_endpoints_by_role(api, record, who, index):
    method, path, body, allowed = _endpoints(record)[index]
    client = _client(api, record, who)
    before = _state(record)

    response = client.call(method, path, body)

    if who in allowed:
        assert response.status_code == _success(method, path), (who, path, response.content[:300])
    else:
        expected = 401 if who in ("anonymous", "other chain") else 403
        assert_error(response, expected)
        assert b"M\\u00fcller" not in response.content
        assert "Müller".encode() not in response.content
        assert b"Cough" not in response.content
        assert _state(record) == before


def test_owner_who_is_also_a_clinician_reads_notes_of_patients_they_treat(api, record):
    from patients.services import care_team_assign
    from tenants.org import services as org
    from tests.factories import user_with_roles

    with schema_context(record.chain.schema):
        owner = record.chain.users["owner"]
        org.staff_update(actor=owner, staff=owner.staff, roles=["owner", "doctor"])
        assert_error(api(record.chain, "owner").call("GET", f"/api/v1/patients/{record.patient.pk}/notes/"), 403)
        partner = user_with_roles(email="partner@alpha.example", roles=["owner"])
        care_team_assign(actor=partner, patient=record.patient, doctor=owner.staff)
    assert api(record.chain, "owner").call("GET", f"/api/v1/patients/{record.patient.pk}/notes/").status_code == 200


def test_break_glass_opens_the_record_and_is_logged(api, record):
    outsider = api(record.chain, as_email=record.outsider.email)
    path = f"/api/v1/patients/{record.patient.pk}/notes/"
    assert_error(outsider.call("GET", path), 403)
    assert_error(outsider.call("POST", f"/api/v1/patients/{record.patient.pk}/break-glass/", {"reason": "short"}), 400)
    opened = outsider.call(
        "POST",
        f"/api/v1/patients/{record.patient.pk}/break-glass/",
        {"reason": "Unconscious patient in A&E, allergies needed"},
    )
    assert opened.status_code == 201
    assert outsider.call("GET", path).status_code == 200
    audit = api(record.chain, "owner").call("GET", f"/api/v1/patients/{record.patient.pk}/audit/").json()["results"]
    glass = [r for r in audit if r["action"] == "break_glass"]
    assert glass
    assert glass[0]["reason"].startswith("Unconscious")
    assert_error(
        api(record.chain, "receptionist").call(
            "POST", f"/api/v1/patients/{record.patient.pk}/break-glass/", {"reason": "I would like to read it"}
        ),
        403,
    )
