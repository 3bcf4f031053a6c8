"""Cancelling asks first and asks why: the patient portal, and the confirm-with-reason partial the desk
uses (frontend/_cancel_confirm.html)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.template.loader import render_to_string

from patients import services
from scheduling.models import Status
from tests.factories.scheduling import MONDAY, book, clinic_setup


@pytest.fixture
def signed_in_patient(in_a, client, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    clinic = clinic_setup(in_a, doctors=1)
    patient = services.patient_create(
        actor=clinic.owner, first_name="Cato", last_name="Cancel", email="cato.cancel@example.com"
    )
    booked = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/sign-in/", {"identifier": "cato.cancel@example.com"}, HTTP_HOST=in_a.host)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert client.post("/portal/code/", {"code": code}, HTTP_HOST=in_a.host).status_code == 302
    return booked


def test_the_portal_asks_before_cancelling_and_keeps_the_patients_reason(in_a, client, signed_in_patient) -> None:
    # given the patient's portal, which offers a confirmation with a reason rather than a one-click cancel
    booked = signed_in_patient
    home = client.get("/portal/", HTTP_HOST=in_a.host).content.decode()
    assert "Yes, cancel" in home
    assert 'name="confirm" value="1"' in home

    # when a cancel arrives without the confirmation, then nothing changes
    client.post(f"/portal/appointments/{booked.pk}/cancel/", {"reason": "x"}, HTTP_HOST=in_a.host)
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED

    # when she confirms with a reason, then it is cancelled and the desk reads why
    client.post(
        f"/portal/appointments/{booked.pk}/cancel/", {"confirm": "1", "reason": "Away that week"}, HTTP_HOST=in_a.host
    )
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert booked.cancellation_reason == "Cancelled online by the patient: Away that week"


def test_the_desks_confirmation_requires_a_reason_and_names_what_is_cancelled() -> None:
    html = render_to_string(
        "frontend/_cancel_confirm.html",
        {"action": "/desk/appointments/7/cancel/", "what": "the 09:30 of Ana Silva", "key": 7, "reason_required": True},
    )
    assert '<label for="cancel-reason-7">Reason</label>' in html
    assert 'id="cancel-reason-7" name="reason" maxlength="300" autocomplete="off" required' in html
    assert "Cancel the 09:30 of Ana Silva?" in html
