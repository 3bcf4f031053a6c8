"""The patient portal: passwordless sign-in by code, one's own appointments, one's own details."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import schema_context

from notifications import sms
from patients import services
from scheduling.models import Status
from tests.factories.scheduling import MONDAY, book, clinic_setup


@pytest.fixture
def portal(in_a, client, django_capture_on_commit_callbacks):
    cache.clear()
    sms.outbox.clear()
    clinic = clinic_setup(in_a, doctors=1)
    patient = services.patient_create(
        actor=clinic.owner, first_name="Pia", last_name="Portal", email="pia@example.com", phone="+44 7912 345001"
    )
    far = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=patient)
    host = in_a.host

    def request_code(identifier: str, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/portal/sign-in/", {"identifier": identifier, **extra}, HTTP_HOST=host)

    def sign_in(identifier: str = "pia@example.com") -> None:
        request_code(identifier)
        text = mail.outbox[-1].body if "@" in identifier else sms.outbox[-1].body
        code = re.search(r"\b(\d{6})\b", text).group(1)
        response = client.post("/portal/code/", {"code": code}, HTTP_HOST=host)
        assert response.status_code == 302
        assert response["Location"] == "/portal/"

    return clinic, patient, far, client, host, request_code, sign_in


def test_sign_in_by_email_code_and_cancel(portal):
    clinic, _patient, far, client, host, _, sign_in = portal
    sign_in()
    home = client.get("/portal/", HTTP_HOST=host)
    assert b"Hello, Pia" in home.content
    assert clinic.service.name.encode() in home.content
    client.post(f"/portal/appointments/{far.pk}/cancel/", {"confirm": "1"}, HTTP_HOST=host)
    far.refresh_from_db()
    assert far.status == Status.CANCELLED
    assert far.late_cancellation is False


def test_sign_in_by_sms_code(portal):
    *_, sign_in = portal
    sign_in("+44 7912 345001")
    assert sms.outbox[-1].to == "+447912345001"


def test_unknown_people_get_the_same_answer_and_no_code(portal):
    _, _, _, _client, _host, request_code, _ = portal
    response = request_code("nobody@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/portal/code/"
    assert not mail.outbox


def test_wrong_codes_and_reuse_are_refused(portal, settings):
    _, _, _, client, host, request_code, _ = portal
    request_code("pia@example.com")
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.PORTAL_CODE_ATTEMPTS):
        assert b"not right" in client.post("/portal/code/", {"code": wrong}, HTTP_HOST=host).content
    # the right code no longer works after too many wrong tries
    assert b"not right" in client.post("/portal/code/", {"code": code}, HTTP_HOST=host).content
    assert client.get("/portal/", HTTP_HOST=host).status_code == 302


def test_codes_are_rate_limited_and_bots_get_nothing(portal, settings):
    _, _, _, _client, _host, request_code, _ = portal
    for _ in range(settings.PORTAL_CODES_PER_IDENTIFIER_PER_HOUR):
        assert request_code("pia@example.com").status_code == 302
    blocked = request_code("pia@example.com")
    assert blocked.status_code == 200
    assert b"Too many codes" in blocked.content
    sent = len(mail.outbox)
    request_code("someone@example.com", website="http://spam.example")
    assert len(mail.outbox) == sent


def test_inside_the_window_the_portal_refuses_and_says_why(portal):
    clinic, patient, _, client, host, _, sign_in = portal
    with schema_context(clinic.chain.schema):
        # two hours from now, whatever the clock says: booked past the hours by an owner's override
        soon = book(
            clinic,
            _soon(clinic),
            actor=clinic.owner,
            patient=patient,
            override=True,
            override_reason="Fitted in by the owner",
        )
    sign_in()
    page = client.post(f"/portal/appointments/{soon.pk}/cancel/", {"confirm": "1"}, HTTP_HOST=host, follow=True)
    assert b"Please call the clinic" in page.content
    soon.refresh_from_db()
    assert soon.status == Status.BOOKED


def test_a_patient_sees_and_changes_only_their_own(portal):
    clinic, _, _far, client, host, _, sign_in = portal
    other = services.patient_create(actor=clinic.owner, first_name="Olaf", last_name="Other")
    theirs = book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, patient=other)
    sign_in()
    assert b"Olaf" not in client.get("/portal/", HTTP_HOST=host).content
    assert client.post(f"/portal/appointments/{theirs.pk}/cancel/", HTTP_HOST=host).status_code == 404
    assert client.get(f"/portal/appointments/{theirs.pk}/change/", HTTP_HOST=host).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.BOOKED
    # and staff pages stay closed to a patient
    assert client.get(f"/patients/{other.pk}/", HTTP_HOST=host).status_code == 403


def test_reschedule_and_update_details(portal):
    _clinic, patient, far, client, host, _, sign_in = portal
    sign_in()
    page = client.get(f"/portal/appointments/{far.pk}/change/", HTTP_HOST=host)
    start = re.search(rb'name="start" value="([^"]+)"', page.content).group(1).decode()
    client.post(f"/portal/appointments/{far.pk}/change/", {"start": start}, HTTP_HOST=host)
    far.refresh_from_db()
    assert far.span.lower.isoformat() == start
    client.post(
        "/portal/details/",
        {"phone": "+44 7912 345002", "email": "pia@example.com", "sms_consent": "on"},
        HTTP_HOST=host,
    )
    patient.refresh_from_db()
    assert patient.phone == "+447912345002"
    assert patient.consents_to("sms")
    assert not patient.consents_to("email")


def _soon(clinic):
    from django.utils import timezone

    from scheduling.engine import BOOKING_GRANULARITY

    now = timezone.now().astimezone(clinic.tz)
    start = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    return start - timedelta(minutes=start.minute % BOOKING_GRANULARITY)
