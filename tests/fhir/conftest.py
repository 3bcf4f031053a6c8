"""What every FHIR test shares: a client that checks every answer is FHIR (application/fhir+json, and
valid R4 by fhirclient's models, generated from FHIR 4.0.1, as well as by fhir.resources' R4B
models), and a clinic whose dates are derived from today."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup, next_weekday
from tests.helpers import Api

FHIR = "application/fhir+json"


def r4_valid(body: dict[str, Any]) -> None:
    """Raise unless ``body`` is valid FHIR R4 and R4B.

    R4 (4.0.1): fhirclient builds its generated model for the resourceType in strict mode, which
    refuses an element R4 does not define, a wrong JSON type, a list where one value is allowed (and
    the reverse), a missing required element and a date, dateTime or instant that is not R4's
    format; as_json() checks the required elements again. Nested resources (Bundle entries) are
    built by their own resourceType. R4B: fhir.resources' pydantic models (also code value sets)."""
    resource = FHIRElementFactory.instantiate(body["resourceType"], body)
    assert resource.as_json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)


def outcome_issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert body["resourceType"] == "OperationOutcome", body
    return list(body["issue"])


class Fhir:
    """A FHIR client for one chain and user: every answer must be FHIR JSON of R4."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.client = api.client

    def send(self, method: str, path: str, body: Any = None, *, status: int = 200, **headers: str) -> Any:
        content_type = headers.pop("content_type", FHIR)
        extra = {"HTTP_ACCEPT": FHIR, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}}
        if body is not None:
            data = body if isinstance(body, str) else json.dumps(body)
            response = getattr(self.client, method.lower())(path, data, content_type=content_type, **extra)
        else:
            response = getattr(self.client, method.lower())(path, **extra)
        assert response.status_code == status, (method, path, response.status_code, response.content[:600])
        assert response["Content-Type"].startswith(FHIR), response["Content-Type"]
        parsed = json.loads(response.content)
        r4_valid(parsed)
        self.last = response
        return parsed

    def get(self, path: str, *, status: int = 200, **headers: str) -> Any:
        return self.send("GET", path, status=status, **headers)

    def post(self, path: str, body: Any, *, status: int = 201, **headers: str) -> Any:
        return self.send("POST", path, body, status=status, **headers)


def ahead(weeks: int = 1) -> date:
    """A Monday at least ``weeks`` weeks and a day ahead of today: bookable, whatever the date."""
    return next_weekday(timezone.now().date() + timedelta(days=7 * weeks + 1), 0)


@dataclass
class World:
    chain: Chain
    clinic: Clinic
    day: date
    patient: Patient
    booked: Appointment
    cancelled: Appointment
    fhir: Fhir  # the receptionist of branch 1


@pytest.fixture
def world(api: Any, chain_a: Chain) -> World:
    day = ahead()
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=2)
        patient = clinic.patient("Ingrid")
        booked = book(clinic, clinic.at(day, 10), actor=clinic.owner, patient=patient)
        cancelled = book(clinic, clinic.at(day, 14), actor=clinic.owner, patient=patient, doctor=clinic.doctors[1])
        sched.appointment_cancel(actor=clinic.owner, appointment=cancelled)
    return World(chain_a, clinic, day, patient, booked, cancelled, Fhir(api(chain_a, "receptionist")))
