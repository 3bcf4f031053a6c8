"""What an attack on the set-up, desk and online pages found, each kept fixed by a test: a far date
that overflowed the desk's next-day link (a server error), a series whose first day no calendar
holds, names and reasons of only invisible characters, and bookings on a record merged away."""

from __future__ import annotations

from datetime import time

import pytest
from django_tenants.utils import schema_context

from patients import services as patients
from patients.models import Patient
from scheduling.models import CalendarEntry, Series
from tests.factories.scheduling import MONDAY, clinic_setup
from tests.helpers import assert_error


@pytest.fixture
def clinic(chain_a):
    with schema_context(chain_a.schema):
        return clinic_setup(chain_a, doctors=1, opens=time(8), closes=time(18), shift=(time(8), time(18)))


def _count(chain, model) -> int:
    """How many rows of `model` the chain holds (calendar entries: appointments, holds, leave)."""
    with schema_context(chain.schema):
        return model.objects.count()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2200-01-01", "1899-12-31", "2031-02-30"])
def test_a_day_no_calendar_holds_is_a_404_on_the_desk(chain_a, clinic, client, day):
    # given the receptionist signed in at the chain
    with schema_context(chain_a.schema):
        client.force_login(clinic.receptionist)
    # when she opens the desk at a date beyond the years a calendar holds, or none
    desk = client.get(f"/desk/{clinic.branch.pk}/?day={day}", HTTP_HOST=chain_a.host)
    # then it is a 404, not a server error
    assert desk.status_code == 404


def test_a_series_starting_beyond_the_calendar_is_a_form_error(chain_a, clinic, client):
    # given the receptionist on the desk's series page for a patient
    with schema_context(chain_a.schema):
        client.force_login(clinic.receptionist)
        patient = clinic.patient()
    before = _count(chain_a, Series)
    body = {
        "patient": patient.pk,
        "doctor": clinic.doctors[0].pk,
        "service": clinic.service.pk,
        "day": "9999-12-27",
        "at": "09:00",
        "count": 4,
    }
    # when she asks for a weekly series from the last week of year 9999
    page = client.post(f"/desk/{clinic.branch.pk}/book/", body, HTTP_HOST=chain_a.host)
    # then the page says which years it takes, and nothing is booked
    assert page.status_code == 200
    assert b"Choose a day between 1900 and 2199" in page.content
    assert _count(chain_a, Series) == before
    assert _count(chain_a, CalendarEntry) == 0


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u200d", "\x01", " \u2028 "])
def test_a_name_of_only_invisible_characters_registers_nobody(chain_a, clinic, api, name):
    # given the receptionist at the API
    desk = api(chain_a, "receptionist")
    before = _count(chain_a, Patient)
    # when she registers a patient, or a walk-in, whose name shows nothing
    registered = desk.call("POST", "/api/v1/patients/", {"first_name": name, "last_name": "Shown"})
    walk_in = desk.call(
        "POST",
        "/api/v1/appointments/walk-in/",
        {
            "branch": clinic.branch.pk,
            "service": clinic.service.pk,
            "doctor": clinic.doctors[0].pk,
            "start": clinic.at(MONDAY, 9).isoformat(),
            "new_patient": {"first_name": "Shown", "last_name": name},
        },
    )
    # then both are 400 naming the field, and nobody is registered or booked
    assert "first_name" in assert_error(registered, 400, "validation_error")["fields"]
    assert walk_in.status_code == 400, walk_in.content
    assert _count(chain_a, Patient) == before
    assert _count(chain_a, CalendarEntry) == 0


@pytest.mark.parametrize("reason", ["\x01", "\x7f", "\u200b", "\u00a0"])
def test_an_override_reason_of_control_characters_is_no_reason(chain_a, clinic, api, reason):
    # given the owner, who may override
    owner = api(chain_a, "owner")
    with schema_context(chain_a.schema):
        patient = clinic.patient()
    body = {
        "patient": patient.pk,
        "doctor": clinic.doctors[0].pk,
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "start": clinic.at(MONDAY, 9).isoformat(),
        "override": True,
        "override_reason": reason,
    }
    # when she overrides with a reason that shows nothing
    answer = owner.call("POST", "/api/v1/appointments/", body)
    # then it is refused, naming the reason, and nothing is booked
    assert "override_reason" in assert_error(answer, 400, "validation_error")["fields"]
    assert _count(chain_a, CalendarEntry) == 0


def test_a_record_merged_away_takes_no_booking(chain_a, clinic, api):
    # given two records of one person, merged: the second into the first
    with schema_context(chain_a.schema):
        kept, merged = clinic.patient("Kept"), clinic.patient("Merged")
        patients.patient_merge(actor=chain_a.users["owner"], keep=kept, merge=merged)
    desk = api(chain_a, "receptionist")
    start = clinic.at(MONDAY, 9).isoformat()
    where = {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": clinic.doctors[0].pk}
    # when the desk books, or books a walk-in, on the record merged away
    booked = desk.call("POST", "/api/v1/appointments/", where | {"patient": merged.pk, "start": start})
    walk_in = desk.call("POST", "/api/v1/appointments/walk-in/", where | {"patient": merged.pk, "start": start})
    # then both are refused naming the patient, and nothing is booked
    assert "patient" in assert_error(booked, 400, "validation_error")["fields"]
    assert "patient" in assert_error(walk_in, 400, "validation_error")["fields"]
    assert _count(chain_a, CalendarEntry) == 0
