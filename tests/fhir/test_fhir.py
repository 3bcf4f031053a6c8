"""FHIR R4: every served resource parses with fhir.resources; search by patient, date and status;
Appointment create goes through the booking door and refuses as an OperationOutcome."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context
from fhir.resources.R4B.appointment import Appointment as FAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FPatient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from scheduling import services as sched
from tenants.audit.models import AccessLog
from tests.factories.scheduling import MONDAY, clinic_setup
from tests.helpers import Api

FHIR = "application/fhir+json"


@pytest.fixture
def world(api, chain_a):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=2)
        patient = clinic.patient("Ingrid")
        booked = sched.appointment_book(
            actor=clinic.owner,
            patient=patient,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(MONDAY, 10),
        )
        cancelled = sched.appointment_book(
            actor=clinic.owner,
            patient=patient,
            doctor=clinic.doctors[1],
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(MONDAY, 14),
        )
        sched.appointment_cancel(actor=clinic.owner, appointment=cancelled)
    client = api(chain_a, "receptionist")
    return clinic, patient, booked, cancelled, client


def _get(client: Api, path: str, model=None):
    response = client.client.get(path, HTTP_ACCEPT=FHIR)
    assert response.status_code == 200, response.content[:400]
    assert response["Content-Type"].startswith(FHIR)
    body = json.loads(response.content)
    if model is not None:
        model.model_validate(body)
    return body


def test_capability_statement(api, chain_a):
    body = _get(api(chain_a), "/fhir/R4/metadata", CapabilityStatement)
    assert body["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in body["rest"][0]["resource"]} >= {"Patient", "Appointment", "Slot", "Schedule"}


def test_every_resource_reads_and_validates(world):
    clinic, patient, booked, _, client = world
    doctor, branch, service = clinic.doctors[0], clinic.branch, clinic.service
    reads = [
        (f"/fhir/R4/Patient/{patient.pk}", FPatient),
        (f"/fhir/R4/Practitioner/{doctor.pk}", Practitioner),
        (f"/fhir/R4/Location/{branch.pk}", Location),
        (f"/fhir/R4/HealthcareService/{service.pk}", HealthcareService),
        (f"/fhir/R4/Schedule/d{doctor.pk}-b{branch.pk}", Schedule),
        (f"/fhir/R4/Appointment/{booked.pk}", FAppointment),
    ]
    for path, model in reads:
        body = _get(client, path, model)
        assert body["id"]
    patient_body = _get(client, f"/fhir/R4/Patient/{patient.pk}")
    assert patient_body["identifier"][0]["value"] == patient.mrn
    with schema_context(clinic.chain.schema):
        assert AccessLog.objects.filter(
            object_type="patient", action="view", patient_id=patient.pk, path=f"/fhir/R4/Patient/{patient.pk}"
        ).exists()


def test_searches_return_valid_bundles(world):
    clinic, patient, booked, _cancelled, client = world
    searches = [
        (f"/fhir/R4/Patient?name={patient.first_name[:4]}", 1),
        (f"/fhir/R4/Patient?identifier={patient.mrn}", 1),
        ("/fhir/R4/Practitioner", None),
        ("/fhir/R4/Location", None),
        ("/fhir/R4/HealthcareService", None),
        (f"/fhir/R4/Schedule?actor=Practitioner/{clinic.doctors[0].pk}", 1),
        (f"/fhir/R4/Appointment?patient=Patient/{patient.pk}", 2),
        (f"/fhir/R4/Appointment?patient=Patient/{patient.pk}&status=booked", 1),
        (f"/fhir/R4/Appointment?patient=Patient/{patient.pk}&status=cancelled", 1),
        (f"/fhir/R4/Appointment?patient=Patient/{patient.pk}&date=ge{MONDAY}&date=lt{MONDAY}T12:00:00Z", 1),
        (f"/fhir/R4/Appointment?date={MONDAY}&practitioner=Practitioner/{clinic.doctors[1].pk}", 1),
    ]
    for path, expected in searches:
        body = _get(client, path, Bundle)
        if expected is not None:
            assert body["total"] == expected, path
        for entry in body.get("entry", []):
            resource = entry["resource"]
            assert entry["fullUrl"].endswith(f"/{resource['resourceType']}/{resource['id']}")
    booked_only = _get(client, f"/fhir/R4/Appointment?patient=Patient/{patient.pk}&status=booked")
    assert booked_only["entry"][0]["resource"]["id"] == str(booked.pk)


def test_slots_are_the_free_times_and_can_be_booked_as_appointments(world):
    clinic, _, _, _, client = world
    doctor, branch, service = clinic.doctors[0], clinic.branch, clinic.service
    slots = _get(
        client,
        f"/fhir/R4/Slot?schedule=Schedule/d{doctor.pk}-b{branch.pk}&service-type={service.pk}"
        f"&start=ge{MONDAY}&start=lt{MONDAY}T23:59:00Z",
        Bundle,
    )
    starts = [e["resource"]["start"] for e in slots["entry"]]
    assert "2027-06-07T09:00:00Z" not in starts  # 10:00 London is booked
    for entry in slots["entry"]:
        Slot.model_validate(entry["resource"])
    with schema_context(clinic.chain.schema):
        other = clinic.patient("Fhir")
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": starts[0],
        "end": slots["entry"][0]["resource"]["end"],
        "serviceType": [{"coding": [{"system": "urn:clinicflow:service", "code": str(service.pk)}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{other.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{doctor.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{branch.pk}"}, "status": "accepted"},
        ],
    }
    created = client.client.post("/fhir/R4/Appointment", json.dumps(appointment), content_type=FHIR, HTTP_ACCEPT=FHIR)
    assert created.status_code == 201, created.content
    FAppointment.model_validate(json.loads(created.content))
    assert created["Location"].endswith(f"/fhir/R4/Appointment/{json.loads(created.content)['id']}")

    again = client.client.post("/fhir/R4/Appointment", json.dumps(appointment), content_type=FHIR, HTTP_ACCEPT=FHIR)
    assert again.status_code == 409
    outcome = OperationOutcome.model_validate(json.loads(again.content))
    assert outcome.issue[0].code == "conflict"
    assert outcome.issue[0].details.coding[0].code in ("doctor_busy", "patient_busy")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/fhir/R4/Patient/999999", None, 404),
        ("GET", "/fhir/R4/Appointment?date=yesterday", None, 400),
        ("GET", "/fhir/R4/Patient", None, 400),
        ("POST", "/fhir/R4/Appointment", {"resourceType": "Appointment", "status": "nonsense"}, 400),
        ("POST", "/fhir/R4/Appointment", {"resourceType": "Appointment", "status": "booked", "participant": []}, 400),
        ("GET", "/fhir/R4/Schedule/garbage", None, 404),
    ],
)
def test_errors_are_operation_outcomes(world, method, path, body, status):
    _, _, _, _, client = world
    if method == "GET":
        response = client.client.get(path, HTTP_ACCEPT=FHIR)
    else:
        response = client.client.post(path, json.dumps(body), content_type=FHIR, HTTP_ACCEPT=FHIR)
    assert response.status_code == status, response.content[:300]
    OperationOutcome.model_validate(json.loads(response.content))


def test_fhir_needs_authentication_and_the_right_role(api, world, chain_a):
    _, patient, _, _, _ = world
    anonymous = api(chain_a).client.get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT=FHIR)
    assert anonymous.status_code == 401
    OperationOutcome.model_validate(json.loads(anonymous.content))
    billing = api(chain_a, "billing").client.get(f"/fhir/R4/Patient?name={patient.first_name}", HTTP_ACCEPT=FHIR)
    assert billing.status_code == 403
