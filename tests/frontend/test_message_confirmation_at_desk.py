"""A caller booked by phone as a new patient: the desk asks for an e-mail and the SMS / e-mail consent
too (all optional), so the confirmation can reach them; after booking, the desk is told where the
confirmation goes, or why none goes."""

from __future__ import annotations

from datetime import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django_tenants.utils import schema_context

from notifications.models import Channel, Kind, Message, MessagingSettings
from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import Chain
from tests.factories.scheduling import Clinic, clinic_setup, daytime_branch

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(in_a: Chain, client: Any) -> tuple[Clinic, Any]:
    # open all day, in a zone where it is daytime now; no quiet hours, whatever the hour the tests run at
    branch = daytime_branch(in_a)
    clinic = clinic_setup(
        in_a, branch=branch, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
    )
    clinic.receptionist.staff.branches.add(branch)
    MessagingSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_start": None, "quiet_hours_end": None})
    with schema_context(in_a.schema):
        client.force_login(clinic.receptionist)
    return clinic, client


def _patient_step(clinic: Clinic, *, phone: bool = True) -> str:
    start = clinic.free_slot(clinic.days_ahead(3))
    query = {"service": clinic.service.pk, "doctor": clinic.doctors[0].pk, "start": start.isoformat()}
    if phone:
        query |= {"source": "phone", "day": start.astimezone(clinic.tz).date().isoformat()}
    return f"/desk/{clinic.branch.pk}/walk-in/?{urlencode(query)}"


def _said(client: Any, response: Any) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_new_caller_gives_e_mail_and_consent_and_the_desk_says_where_the_confirmation_goes(
    desk: tuple[Clinic, Any], in_a: Chain
):
    clinic, client = desk
    url = _patient_step(clinic)
    # given the patient step of a phone booking: it asks for e-mail and consent, none of it required
    html = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert 'name="email"' in html
    assert "Agrees to the confirmation and reminders by SMS" in html
    assert "Agrees to follow-up reminders by e-mail too" in html
    # when the desk registers the caller with a mobile, an e-mail and both consents
    answer = client.post(
        url,
        {
            "first_name": "Carla",
            "last_name": "Caller",
            "phone": "+447911123461",
            "email": "carla@example.com",
            "sms_consent": "on",
            "email_consent": "on",
        },
        HTTP_HOST=in_a.host,
    )
    # then the patient is on file with both consents, a confirmation is written on both channels
    assert answer.status_code == 302, _said(client, answer) + answer.content.decode()[-3000:]
    patient = Patient.objects.get(last_name="Caller")
    assert patient.email == "carla@example.com"
    assert patient.consents_to("sms")
    assert patient.consents_to("email")
    booked = Appointment.objects.get(patient=patient)
    confirmations = Message.objects.filter(appointment=booked, kind=Kind.CONFIRMATION)
    assert set(confirmations.values_list("channel", flat=True)) == {Channel.SMS, Channel.EMAIL}
    # and the desk is told where it goes
    said = _said(client, answer)
    assert "Carla Caller booked on" in said
    assert "A confirmation goes by SMS to +447911123461 and by e-mail to carla@example.com." in said


def test_a_caller_without_consent_or_e_mail_is_booked_and_the_desk_says_why_no_confirmation(
    desk: tuple[Clinic, Any], in_a: Chain
):
    clinic, client = desk
    # when the desk registers a caller with a mobile only and no consent to texts
    answer = client.post(
        _patient_step(clinic),
        {"first_name": "Nico", "last_name": "Noconsent", "phone": "+447911123462"},
        HTTP_HOST=in_a.host,
    )
    # then the booking is made, nothing is written, and the desk is told why
    assert answer.status_code == 302, _said(client, answer)
    booked = Appointment.objects.get(patient__last_name="Noconsent")
    assert not Message.objects.filter(appointment=booked, kind=Kind.CONFIRMATION).exists()
    assert "No confirmation: The patient has not agreed to receive SMS messages." in _said(client, answer)


def test_a_walk_in_is_told_the_chain_does_not_confirm_walk_ins(desk: tuple[Clinic, Any], in_a: Chain):
    clinic, client = desk
    # when the desk books a walk-in with an e-mail (the chain does not confirm walk-ins by default)
    answer = client.post(
        _patient_step(clinic, phone=False),
        {"first_name": "Wes", "last_name": "Walker", "email": "wes@example.com", "email_consent": "on"},
        HTTP_HOST=in_a.host,
    )
    # then the desk is told none goes, and why
    assert answer.status_code == 302
    said = _said(client, answer)
    assert "No confirmation: the chain does not confirm walk-in bookings (messaging settings)." in said
