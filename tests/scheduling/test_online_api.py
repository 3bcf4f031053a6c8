"""Online booking through the API, anonymous and per chain: hold a time, ask for a code, confirm the
hold with the code and the visitor's name. A refusal writes nothing: no patient, the time still only
held (or given back), no booking link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import schema_context

from notifications import sms
from patients.models import Patient
from scheduling.models import Appointment, ManageLink, Status
from tests.factories.scheduling import MONDAY, Clinic, clinic_setup, zulu
from tests.helpers import Api, assert_error


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    sms.outbox.clear()


@pytest.fixture
def visitor(clinic) -> Api:
    return Api(clinic.chain.host)


def _hold(visitor: Api, clinic: Clinic, hour: int = 10, doctor: bool = True):
    body = {"branch": clinic.branch.pk, "service": clinic.service.pk, "start": zulu(clinic.at(MONDAY, hour))}
    if doctor:
        body["doctor"] = clinic.doctors[0].pk
    return visitor.call("POST", "/api/v1/online/holds/", body)


def _challenge(visitor: Api, contact: str, capture) -> tuple[str, str]:
    with capture(execute=True):
        response = visitor.call("POST", "/api/v1/online/codes/", {"contact": contact})
    assert response.status_code == 201, response.content
    outbox = mail.outbox if "@" in contact else sms.outbox
    return response.json()["challenge"], re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)


def _confirm(visitor: Api, hold: dict, challenge: str, code: str, **extra):
    body = {"hold_token": hold["hold_token"], "challenge": challenge, "code": code}
    body |= {"first_name": "Vera", "last_name": "Visitor"} | extra
    return visitor.call("POST", f"/api/v1/online/holds/{hold['id']}/confirm/", body)


def _nothing_written(hold_id: int, patients_before: int) -> None:
    assert Patient.objects.count() == patients_before
    assert Appointment.objects.get(pk=hold_id).patient_id is None
    assert not ManageLink.objects.filter(appointment_id=hold_id).exists()


def test_a_visitor_holds_proves_the_contact_and_books(clinic, visitor, django_capture_on_commit_callbacks):
    # given a time held through the API, and a code sent to the visitor's e-mail
    held = _hold(visitor, clinic)
    assert held.status_code == 201, held.content
    hold = held.json()
    assert hold["status"] == Status.HELD
    assert hold["hold_token"]
    assert hold["expires_at"]
    challenge, code = _challenge(visitor, "Vera@Example.com", django_capture_on_commit_callbacks)

    # when the visitor confirms the hold with the code and their name
    response = _confirm(visitor, hold, challenge, code)

    # then the time is booked for a new patient with that e-mail, and the booking link opens it
    assert response.status_code == 201, response.content
    body = response.json()
    booked = Appointment.objects.select_related("patient").get(pk=hold["id"])
    assert (booked.status, booked.patient.email, booked.patient.last_name) == (
        Status.BOOKED,
        "vera@example.com",
        "Visitor",
    )
    assert body["appointment"]["id"] == booked.pk
    assert body["appointment"]["status"] == Status.BOOKED
    assert body["manage_url"].endswith(f"/book/manage/{body['manage_token']}/")
    page = visitor.client.get(f"/book/manage/{body['manage_token']}/")
    assert page.status_code == 200
    assert b"You are booked" in page.content


def test_any_doctor_holds_the_first_free_one(clinic, visitor):
    # given a time every doctor has free, when a visitor holds it without naming a doctor
    response = _hold(visitor, clinic, hour=11, doctor=False)

    # then the first free doctor's time is held
    assert response.status_code == 201, response.content
    assert Appointment.objects.get(pk=response.json()["id"]).doctor_id == min(d.pk for d in clinic.doctors)


def test_a_wrong_code_books_nothing(clinic, visitor, django_capture_on_commit_callbacks):
    # given a held time and a code sent by SMS
    hold = _hold(visitor, clinic).json()
    challenge, code = _challenge(visitor, "+44 7912 345088", django_capture_on_commit_callbacks)
    before = Patient.objects.count()

    # when the visitor sends a wrong code
    response = _confirm(visitor, hold, challenge, "000000" if code != "000000" else "111111")

    # then it is refused as code_invalid and nothing is written
    assert_error(response, 400, "code_invalid")
    _nothing_written(hold["id"], before)
    assert Appointment.objects.get(pk=hold["id"]).status == Status.HELD


def test_an_expired_hold_books_nothing(clinic, visitor, django_capture_on_commit_callbacks):
    # given a held time
    hold = _hold(visitor, clinic).json()
    expired = Appointment.objects.get(pk=hold["id"]).hold_expires_at + timedelta(seconds=1)
    before = Patient.objects.count()

    # when the visitor confirms with a right code after the hold ran out
    with time_machine.travel(expired, tick=False):
        challenge, code = _challenge(visitor, "late@example.com", django_capture_on_commit_callbacks)
        response = _confirm(visitor, hold, challenge, code)

    # then it is refused as hold_expired and nothing is written
    assert_error(response, 409, "hold_expired")
    _nothing_written(hold["id"], before)


def test_a_hold_confirmed_before_is_refused_and_issues_no_second_link(
    clinic, visitor, django_capture_on_commit_callbacks
):
    # given a hold confirmed with a right code, and its booking link
    hold = _hold(visitor, clinic).json()
    challenge, code = _challenge(visitor, "twice@example.com", django_capture_on_commit_callbacks)
    assert _confirm(visitor, hold, challenge, code).status_code == 201
    before = Patient.objects.count()

    # when the same hold is confirmed again with a fresh, right code
    challenge, code = _challenge(visitor, "twice@example.com", django_capture_on_commit_callbacks)
    # (the booking's link, and the one its confirmation e-mail carries, issued as that was sent)
    links = ManageLink.objects.filter(appointment_id=hold["id"]).count()
    response = _confirm(visitor, hold, challenge, code)

    # then it is refused as already confirmed, and nothing is issued or registered
    assert_error(response, 409, "hold_confirmed")
    assert ManageLink.objects.filter(appointment_id=hold["id"]).count() == links
    assert Patient.objects.count() == before
    # and the fresh code, not spent, books another hold
    other = _hold(visitor, clinic, hour=11).json()
    assert _confirm(visitor, other, challenge, code).status_code == 201


def test_a_contact_on_a_record_under_another_name_says_so(clinic, visitor, django_capture_on_commit_callbacks):
    # given a patient with a phone a relative also uses
    parent = clinic.patient("Grace")
    Patient.objects.filter(pk=parent.pk).update(phone="+447912345099")
    hold = _hold(visitor, clinic).json()
    challenge, code = _challenge(visitor, "+44 7912 345099", django_capture_on_commit_callbacks)

    # when the relative confirms under their own name
    response = _confirm(visitor, hold, challenge, code, first_name="Otto", last_name="Other")

    # then it is booked on the phone's record, with the name typed in its notes and in the answer
    assert response.status_code == 201, response.content
    booked = Appointment.objects.get(pk=hold["id"])
    assert (booked.patient_id, booked.notes) == (parent.pk, "Booked online as Otto Other")
    assert "mobile number is already on a patient record" in response.json()["notice"]


def test_a_wrong_hold_token_is_a_missing_hold(clinic, visitor, django_capture_on_commit_callbacks):
    # given a held time and a right code
    hold = _hold(visitor, clinic).json()
    challenge, code = _challenge(visitor, "guess@example.com", django_capture_on_commit_callbacks)
    before = Patient.objects.count()

    # when someone confirms it with another token, then it is answered as no such hold
    response = _confirm(visitor, hold | {"hold_token": "not-the-token"}, challenge, code)
    assert_error(response, 404, "not_found")
    _nothing_written(hold["id"], before)


def test_another_chains_challenge_is_refused(clinic, visitor, chain_b, django_capture_on_commit_callbacks):
    # given a code asked for at chain A
    challenge, code = _challenge(visitor, "roamer@example.com", django_capture_on_commit_callbacks)

    # and a time held at chain B
    with schema_context(chain_b.schema):
        other = clinic_setup(chain_b, doctors=1)
        b_visitor = Api(chain_b.host)
        hold = _hold(b_visitor, other).json()
        before = Patient.objects.count()

        # when chain A's challenge and code are sent to chain B
        response = _confirm(b_visitor, hold, challenge, code)

        # then chain B refuses them and writes nothing
        assert_error(response, 400, "code_invalid")
        _nothing_written(hold["id"], before)


def test_holds_are_limited_per_address(clinic, visitor):
    # given an address that made its 30 attempts this hour (refused ones count too)
    unknown = {"branch": 999999, "service": 999999, "start": zulu(clinic.at(MONDAY, 10))}
    for _ in range(30):
        assert_error(visitor.call("POST", "/api/v1/online/holds/", unknown), 404)

    # when it asks for a free time, then it is throttled and nothing is held
    assert_error(_hold(visitor, clinic), 429, "throttled")
    assert not Appointment.objects.filter(status=Status.HELD).exists()


def test_unknown_branch_or_service_is_404(clinic, visitor):
    # given a service that does not exist, when a visitor holds a time of it
    body = {"branch": clinic.branch.pk, "service": clinic.service.pk + 1000, "start": zulu(clinic.at(MONDAY, 10))}
    response = visitor.call("POST", "/api/v1/online/holds/", body)

    # then it is 404 and nothing is held
    assert_error(response, 404)
    assert not Appointment.objects.filter(status=Status.HELD).exists()


@pytest.mark.parametrize("contact", ["a@", "@", "a@b@c", "a b@example.com", "ann@example..com"])
def test_a_contact_that_is_no_email_is_refused_before_any_code(visitor, settings, contact):
    # given an address allowed one code an hour
    settings.PORTAL_CODES_PER_ADDRESS_PER_HOUR = 1
    sent = len(mail.outbox)

    # when it asks for a code to something with an @ that is no e-mail address
    response = visitor.call("POST", "/api/v1/online/codes/", {"contact": contact})

    # then it is refused on the contact, nothing is sent, and its one code is still there to ask for
    assert "contact" in assert_error(response, 400, "validation_error")["fields"]
    assert len(mail.outbox) == sent
    assert visitor.call("POST", "/api/v1/online/codes/", {"contact": "ann@example.com"}).status_code == 201
