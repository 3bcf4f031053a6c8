"""A walk-in with a new patient is one service (scheduling calling patients): the desk page and the
API register and book in one transaction, so a refused time leaves no new patient behind, also
when two desks race for the same time."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django_tenants.utils import schema_context

from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment, CalendarEntry
from scheduling.services.walk_in import NewPatient
from tests.conftest import WORLD
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error, committed, race


@pytest.fixture
def desk(api, chain_a):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, requires_room=False)
    return clinic, api(chain_a, "receptionist")


def _walk_in(clinic, start, **extra):
    return {
        "new_patient": {"first_name": "Wanda", "last_name": "Walkin", "phone": "+44 7912 345101"},
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "doctor": clinic.doctors[0].pk,
        "start": start.isoformat(),
        **extra,
    }


def _patients(chain, **filters) -> int:
    with schema_context(chain.schema):
        return Patient.objects.filter(**filters).count()


def test_the_api_registers_and_books_a_new_walk_in(desk, chain_a):
    # given a receptionist and a free time
    clinic, reception = desk
    # when she books a walk-in who is not on file
    answer = reception.call("POST", "/api/v1/appointments/walk-in/", _walk_in(clinic, clinic.at(MONDAY, 10)))
    # then the patient is registered and booked at that time
    assert answer.status_code == 201, answer.content
    with schema_context(chain_a.schema):
        booked = Appointment.objects.get(pk=answer.json()["id"])
        assert (booked.patient.last_name, booked.span.lower) == ("Walkin", clinic.at(MONDAY, 10))


def test_a_refused_time_leaves_no_new_patient_behind(desk, chain_a):
    # given the doctor is booked at 10:00
    clinic, reception = desk
    with schema_context(chain_a.schema):
        book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    # when a new walk-in is booked at the same time, through the API
    answer = reception.call("POST", "/api/v1/appointments/walk-in/", _walk_in(clinic, clinic.at(MONDAY, 10)))
    # then it is refused, and nobody was registered
    assert_error(answer, 409, "doctor_busy")
    assert _patients(chain_a, last_name="Walkin") == 0


def test_patient_or_new_patient_not_both(desk, chain_a):
    # given a patient on file
    clinic, reception = desk
    with schema_context(chain_a.schema):
        on_file = clinic.patient()
    # when both are given, then the request is refused and nothing is booked
    answer = reception.call(
        "POST", "/api/v1/appointments/walk-in/", _walk_in(clinic, clinic.at(MONDAY, 10), patient=on_file.pk)
    )
    assert_error(answer, 400, "validation_error")
    assert _patients(chain_a, last_name="Walkin") == 0


def test_the_desk_page_books_a_new_walk_in_through_the_service(desk, chain_a, client):
    # given the receptionist on the desk's walk-in page, the doctor busy at 10:00
    clinic, _ = desk
    with schema_context(chain_a.schema):
        book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    client.force_login(clinic.receptionist)
    base = f"/desk/{clinic.branch.pk}/walk-in/?source=phone&service={clinic.service.pk}&day={MONDAY}"
    new = {"first_name": "Pia", "last_name": "Phoned", "phone": "+44 7912 345102"}

    # when she books a new caller at the taken time, then at a free one
    taken = f"{base}&doctor={clinic.doctors[0].pk}&start={quote(clinic.at(MONDAY, 10).isoformat())}"
    refused = client.post(taken, new, HTTP_HOST=chain_a.host)
    free = f"{base}&doctor={clinic.doctors[0].pk}&start={quote(clinic.at(MONDAY, 11).isoformat())}"
    booked = client.post(free, new, HTTP_HOST=chain_a.host)

    # then the refusal registered nobody and the free time booked the new patient
    assert refused.status_code == 200
    assert booked.status_code == 302
    with schema_context(chain_a.schema):
        assert Patient.objects.filter(last_name="Phoned").count() == 1
        assert Appointment.objects.get(patient__last_name="Phoned").span.lower == clinic.at(MONDAY, 11)


@pytest.mark.django_db(transaction=False)
def test_two_desks_racing_for_one_time_register_one_patient(django_db_setup, django_db_blocker):
    # given a committed clinic in a chain of its own
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = clinic_setup(chain, branch=chain.branches[2], doctors=1)

    def attempt(i: int) -> None:
        sched.walk_in_book(
            actor=clinic.owner,
            branch=clinic.branch,
            service=clinic.service,
            new_patient=NewPatient(first_name=f"Racer{i}", last_name="Race", phone=f"+44 7912 34520{i}"),
            doctor=clinic.doctors[0],
            start=clinic.at(MONDAY, 10),
        )

    try:
        # when two desks book a new walk-in each at the same time for the one doctor
        with django_db_blocker.unblock():
            outcomes = sorted(race(2, attempt, chain.schema))
        # then one wins, the other is refused, and only the winner's patient exists
        assert outcomes == ["doctor_busy", "ok"]
        with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
            assert Patient.objects.filter(first_name__startswith="Racer", last_name="Race").count() == 1
    finally:
        with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
            CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
            Patient.objects.filter(first_name__startswith="Racer", last_name="Race").delete()
