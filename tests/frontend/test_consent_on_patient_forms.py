"""The desk records what a patient says about messages on "Register a patient" and "Edit details",
with the same boxes, wording and rule as the phone/walk-in new-patient form: texts agreed, follow-ups
by e-mail too, or no e-mails at all; only a change is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from notifications import policy
from notifications.models import Channel, Kind, Message
from patients import services as patients
from patients.exceptions import InvalidPatient
from patients.models import Patient
from tenants.audit.models import AccessLog
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book
from tests.frontend.test_message_confirmation_at_desk import desk  # noqa: F401

pytestmark = pytest.mark.django_db


def _chart(client: Any, in_a: Chain, patient: Patient) -> str:
    return client.get(f"/patients/{patient.pk}/", HTTP_HOST=in_a.host).content.decode()


def _on_file(clinic: Clinic, first_name: str, last_name: str, **more: Any) -> Patient:
    """A patient registered by the owner, with an e-mail address."""
    email = f"{first_name.lower()}@example.com"
    return patients.patient_create(
        actor=clinic.owner, first_name=first_name, last_name=last_name, email=email, ignore_duplicates=True, **more
    )


def _booked(clinic: Clinic, patient: Patient, django_capture_on_commit_callbacks: Any) -> set[str]:
    """The channels the confirmation of the patient's next booking is written on."""
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), patient=patient, actor=clinic.owner)
    return set(
        Message.objects.filter(appointment=appointment, kind=Kind.CONFIRMATION).values_list("channel", flat=True)
    )


def _consent_trail(patient: Patient) -> tuple[Any, ...]:
    patient.refresh_from_db()
    logged = AccessLog.objects.filter(object_type="consent", patient_id=patient.pk).count()
    return (
        patient.sms_consent_at,
        patient.sms_consent_withdrawn_at,
        patient.email_consent_at,
        patient.email_consent_withdrawn_at,
        logged,
    )


def _details(patient: Patient, **ticks: str) -> dict[str, str]:
    """The edit form as it stands for ``patient``, with ``ticks`` for the consent boxes."""
    return {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "sex": patient.sex,
        "phone": patient.phone,
        "email": patient.email,
        **ticks,
    }


def test_registering_with_sms_consent_reads_agreed_on_the_chart_and_texts_the_next_confirmation(
    desk: tuple[Clinic, Any],  # noqa: F811
    in_a: Chain,
    django_capture_on_commit_callbacks: Any,
):
    clinic, client = desk
    # given "Register a patient": it asks for the e-mail and the consent as the desk's new-patient form
    html = client.get("/patients/new/", HTTP_HOST=in_a.host).content.decode()
    for said in (
        policy.SMS_CONSENT_LABEL,
        policy.EMAIL_HELP,
        policy.EMAIL_FOLLOW_UPS_LABEL,
        policy.EMAIL_WITHDRAWN_LABEL,
    ):
        assert said in html
    assert '<label for="id_email">E-mail' in html
    # when the desk registers a patient who says "text me"
    answer = client.post(
        "/patients/new/",
        {"first_name": "Tess", "last_name": "Texter", "sex": "unknown", "phone": "07911 123462", "sms_consent": "on"},
        HTTP_HOST=in_a.host,
    )
    # then the chart says SMS is agreed, and the next booking's confirmation goes by SMS
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    patient = Patient.objects.get(last_name="Texter")
    assert policy.consent_said(patient, Channel.SMS) == "SMS: agreed"
    assert "SMS: agreed" in _chart(client, in_a, patient)
    assert Channel.SMS in _booked(clinic, patient, django_capture_on_commit_callbacks)


def test_editing_a_patient_to_no_e_mails_stops_e_mail_about_their_next_visit(
    desk: tuple[Clinic, Any],  # noqa: F811
    in_a: Chain,
    django_capture_on_commit_callbacks: Any,
):
    clinic, client = desk
    # given a patient with an e-mail, e-mailed about visits by default
    patient = _on_file(clinic, "Nell", "Nomore")
    assert policy.consent_refusal(patient, channel=Channel.EMAIL, kind=Kind.REMINDER) is None
    # when the desk edits her details and ticks "No e-mails"
    answer = client.post(f"/patients/{patient.pk}/edit/", _details(patient, email_withdrawn="on"), HTTP_HOST=in_a.host)
    # then nothing is e-mailed to her about her next visit, and the chart says it was withdrawn
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    patient.refresh_from_db()
    assert policy.consent_refusal(patient, channel=Channel.EMAIL, kind=Kind.REMINDER) is not None
    assert Channel.EMAIL not in _booked(clinic, patient, django_capture_on_commit_callbacks)
    assert "E-mail: withdrawn on" in _chart(client, in_a, patient)
    # and the edit page shows the box ticked
    html = client.get(f"/patients/{patient.pk}/edit/", HTTP_HOST=in_a.host).content.decode()
    assert 'name="email_withdrawn" id="id_email_withdrawn" checked' in html


def test_editing_with_nothing_changed_records_no_consent(desk: tuple[Clinic, Any], in_a: Chain):  # noqa: F811
    clinic, client = desk
    # given a patient who agreed to texts and to follow-ups by e-mail
    said = patients.ConsentChoice(sms=True, email_follow_ups=True)
    patient = _on_file(clinic, "Una", "Unchanged", phone="+447911123463", consent=said)
    before = _consent_trail(patient)
    # when the desk opens "Edit details": both boxes are ticked as on record
    html = client.get(f"/patients/{patient.pk}/edit/", HTTP_HOST=in_a.host).content.decode()
    assert 'name="sms_consent" id="id_sms_consent" checked' in html
    assert 'name="email_consent" id="id_email_consent" checked' in html
    assert 'name="email_withdrawn" id="id_email_withdrawn" checked' not in html
    # and saves it as it stands
    answer = client.post(
        f"/patients/{patient.pk}/edit/",
        _details(patient, sms_consent="on", email_consent="on"),
        HTTP_HOST=in_a.host,
    )
    # then no consent is recorded again: same times, no new consent entry in the trail
    assert answer.status_code == 302
    assert _consent_trail(patient) == before


def test_follow_ups_and_no_e_mails_together_are_refused_beside_the_field_and_nothing_is_written(
    desk: tuple[Clinic, Any],  # noqa: F811
    in_a: Chain,
):
    clinic, client = desk
    both = {"email_consent": "on", "email_withdrawn": "on"}
    # given a patient on file with the default (e-mail about visits)
    patient = _on_file(clinic, "Bea", "Both")
    before = _consent_trail(patient)
    # when the desk registers someone, or edits her, with follow-ups by e-mail and "No e-mails" ticked
    new = client.post(
        "/patients/new/",
        {"first_name": "Ben", "last_name": "Both", "sex": "unknown", "email": "ben@example.com", **both},
        HTTP_HOST=in_a.host,
    )
    edit = client.post(f"/patients/{patient.pk}/edit/", _details(patient, **both), HTTP_HOST=in_a.host)
    # then both are refused with the error beside the "No e-mails" box, and nothing is written
    for answer in (new, edit):
        assert answer.status_code == 200
        html = answer.content.decode()
        assert 'id="id_email_withdrawn_error"' in html
        assert "Tick one: follow-ups by e-mail too, or no e-mails at all." in html
    assert not Patient.objects.filter(first_name="Ben", last_name="Both").exists()
    assert _consent_trail(patient) == before


def test_the_services_refuse_the_combination_too(desk: tuple[Clinic, Any]):  # noqa: F811
    clinic, _ = desk
    patient = _on_file(clinic, "Cy", "Combo")
    before = _consent_trail(patient)
    with pytest.raises(InvalidPatient) as refused:
        patients.patient_update(
            actor=clinic.receptionist,
            patient=patient,
            consent=patients.ConsentChoice(email_follow_ups=True, no_emails=True),
        )
    assert "email_withdrawn" in refused.value.fields
    assert _consent_trail(patient) == before


@pytest.mark.parametrize("path", ["new", "edit"])
def test_staff_without_the_permission_still_cannot_record_consent(path: str, desk: tuple[Clinic, Any], in_a: Chain):  # noqa: F811
    # given a patient on file, and billing staff (who may not register or change patients)
    patient = _on_file(desk[0], "Pia", "Private")
    before = _consent_trail(patient)
    client = desk[1]
    with schema_context(in_a.schema):
        client.force_login(in_a.users["billing"])
    # when they post the consent boxes to "Register a patient" or "Edit details"
    url = "/patients/new/" if path == "new" else f"/patients/{patient.pk}/edit/"
    data = {"first_name": "Pia", "last_name": "Other", "sex": "unknown", "sms_consent": "on", "email_withdrawn": "on"}
    answer = client.post(url, data, HTTP_HOST=in_a.host)
    # then they are refused as before, and nothing is written
    assert answer.status_code == 403
    assert not Patient.objects.filter(last_name="Other").exists()
    assert _consent_trail(patient) == before
