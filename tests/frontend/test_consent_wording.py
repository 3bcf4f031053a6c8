"""Consent to messages says the sending rule wherever it is shown or set: e-mail about visits
(confirmations, reminders, notices) goes unless the patient withdrew it, texts need recorded consent,
follow-ups need consent. The desk's new-patient form records "follow-ups by e-mail too" or "no
e-mails at all", and the chart reads what is sent."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.models import Channel, Kind, Message
from notifications.policy import EMAIL_FOLLOW_UPS_LABEL, EMAIL_WITHDRAWN_LABEL
from patients import services as patients
from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import Chain
from tests.frontend.test_message_confirmation_at_desk import _patient_step, _said, desk  # noqa: F401

pytestmark = pytest.mark.django_db


def _chart(client: Any, in_a: Chain, patient: Patient) -> str:
    return client.get(f"/patients/{patient.pk}/", HTTP_HOST=in_a.host).content.decode()


def test_the_chart_says_e_mail_about_visits_goes_unless_withdrawn(desk, in_a: Chain):  # noqa: F811
    clinic, client = desk
    # given a patient with an e-mail who never said anything about messages
    patient = patients.patient_create(
        actor=clinic.owner, first_name="George", last_name="Ito", email="george@example.com", ignore_duplicates=True
    )
    # when the desk opens the chart
    html = _chart(client, in_a, patient)
    # then it says e-mail about visits goes, follow-ups do not, and texts are not agreed
    assert "E-mail: about visits unless withdrawn; follow-ups not agreed" in html
    assert "SMS: not agreed, none sent" in html
    assert "e-mail not agreed" not in html


def test_a_caller_who_wants_no_e_mails_is_recorded_so_and_gets_none(desk, in_a: Chain):  # noqa: F811
    clinic, client = desk
    url = _patient_step(clinic)
    # given the patient step of a phone booking: it offers follow-ups by e-mail, or no e-mails at all
    html = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert EMAIL_FOLLOW_UPS_LABEL in html
    assert EMAIL_WITHDRAWN_LABEL in html
    assert "Agrees to reminders by e-mail" not in html
    # when the desk registers a caller with an e-mail who said "no e-mails"
    answer = client.post(
        url,
        {"first_name": "Nora", "last_name": "Nomail", "email": "nora@example.com", "email_withdrawn": "on"},
        HTTP_HOST=in_a.host,
    )
    # then she is booked, her e-mail consent is withdrawn, and no confirmation is e-mailed
    assert answer.status_code == 302, _said(client, answer)
    patient = Patient.objects.get(last_name="Nomail")
    assert patient.email_consent_withdrawn_at is not None
    booked = Appointment.objects.get(patient=patient)
    assert not Message.objects.filter(appointment=booked, kind=Kind.CONFIRMATION, channel=Channel.EMAIL).exists()
    assert "opted out of E-mail" in _said(client, answer)
    # and the chart says it was withdrawn
    assert "E-mail: withdrawn on" in _chart(client, in_a, patient)


def test_a_caller_agreeing_to_follow_ups_by_e_mail_reads_so_on_the_chart(desk, in_a: Chain):  # noqa: F811
    clinic, client = desk
    answer = client.post(
        _patient_step(clinic),
        {"first_name": "Fay", "last_name": "Follow", "email": "fay@example.com", "email_consent": "on"},
        HTTP_HOST=in_a.host,
    )
    assert answer.status_code == 302
    patient = Patient.objects.get(last_name="Follow")
    assert "E-mail: about visits and follow-ups (agreed)" in _chart(client, in_a, patient)


def test_follow_ups_by_e_mail_and_no_e_mails_together_are_refused(desk, in_a: Chain):  # noqa: F811
    clinic, client = desk
    answer = client.post(
        _patient_step(clinic),
        {
            "first_name": "Bo",
            "last_name": "Both",
            "email": "bo@example.com",
            "email_consent": "on",
            "email_withdrawn": "on",
        },
        HTTP_HOST=in_a.host,
    )
    assert answer.status_code == 200
    assert "Tick one" in answer.content.decode()
    assert not Patient.objects.filter(last_name="Both").exists()


def _on_her_account(in_a: Chain, client: Any) -> Patient:
    from patients.portal import portal_user_for

    patient = patients.patient_create(
        actor=in_a.users["owner"], first_name="Amelia", last_name="Hart", email="amelia.hart@example.com"
    )
    client.force_login(portal_user_for(patient=patient))
    return patient


def _saved(client: Any, in_a: Chain, **ticks: str) -> Any:
    data = {"email": "amelia.hart@example.com", **ticks}
    return client.post("/portal/details/", data, HTTP_HOST=in_a.host)


def test_a_patient_reads_the_e_mail_rule_on_her_account_and_chooses_no_e_mails_then_visits_only(
    in_a: Chain, client: Any
):
    patient = _on_her_account(in_a, client)
    # given her account page: e-mail about her visits goes unless she says no; follow-ups only if she ticks
    html = client.get("/portal/details/", HTTP_HOST=in_a.host).content.decode()
    assert "We e-mail you about your visits (confirmations, reminders, changes) unless you tick No e-mails." in html
    assert "Send me follow-up reminders by e-mail too" in html
    assert "No e-mails, not even about my visits" in html
    assert "Send me reminders by e-mail" not in html
    # when she ticks "No e-mails"
    assert _saved(client, in_a, email_withdrawn="on").status_code == 302
    # then her e-mail consent is withdrawn: nothing is e-mailed to her
    patient.refresh_from_db()
    assert patient.email_consent_withdrawn_at is not None
    assert not patient.consents_to("email")
    assert (
        'name="email_withdrawn" id="id_email_withdrawn" checked'
        in client.get("/portal/details/", HTTP_HOST=in_a.host).content.decode()
    )
    # when she unticks it again, with follow-ups unticked
    assert _saved(client, in_a).status_code == 302
    # then she is back to the default: e-mail about her visits, no follow-ups
    patient.refresh_from_db()
    assert (patient.email_consent_at, patient.email_consent_withdrawn_at) == (None, None)
    # when she ticks follow-ups too, then she has agreed
    assert _saved(client, in_a, email_consent="on").status_code == 302
    patient.refresh_from_db()
    assert patient.consents_to("email")


def test_a_patient_ticking_follow_ups_and_no_e_mails_is_refused_and_nothing_changes(in_a: Chain, client: Any):
    patient = _on_her_account(in_a, client)
    answer = _saved(client, in_a, email_consent="on", email_withdrawn="on")
    assert answer.status_code == 200
    assert "Tick one" in answer.content.decode()
    patient.refresh_from_db()
    assert (patient.email_consent_at, patient.email_consent_withdrawn_at) == (None, None)
