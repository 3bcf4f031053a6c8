"""Signed consent forms: recorded and withdrawn by the patient's doctors through the API, refused to
everyone else with nothing changed, each read and change in the access log and in the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from patients import services
from patients.models import ConsentForm
from tenants.audit.models import AccessLog
from tests.helpers import assert_error


def _form(record, **extra):
    with schema_context(record.chain.schema):
        return services.consent_form_record(
            actor=record.chain.users["doctor"],
            patient=record.patient,
            kind="procedure",
            title="Consent to minor surgery",
            signed_on=timezone.localdate() - timedelta(days=2),
            **extra,
        )


def test_a_doctor_of_the_care_team_records_lists_and_withdraws_a_consent_form(api, record, settings, tmp_path):
    # given the patient's doctor and a scanned form uploaded to the patient's attachments
    settings.MEDIA_ROOT = tmp_path
    doctor = api(record.chain, "doctor")
    with schema_context(record.chain.schema):
        scan = services.attachment_add(
            actor=record.chain.users["doctor"],
            patient=record.patient,
            upload=SimpleUploadedFile("consent.pdf", b"%PDF-1.4 signed"),
            title="Signed form",
            kind="consent_form",
        )
    signed_on = str(timezone.localdate() - timedelta(days=1))
    # when she records the form signed by the patient's mother, with the scan
    created = doctor.call(
        "POST",
        f"/api/v1/patients/{record.patient.pk}/consent-forms/",
        {
            "kind": "treatment",
            "title": "Consent to treatment",
            "signed_on": signed_on,
            "signed_by": "guardian",
            "signer_name": "Anna Müller (mother)",
            "attachment": scan.pk,
        },
    )
    # then it is stored as she said, and listed
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["signed_by"], body["signer_name"], body["attachment"], body["active"]) == (
        "guardian",
        "Anna Müller (mother)",
        scan.pk,
        True,
    )
    listed = doctor.call("GET", f"/api/v1/patients/{record.patient.pk}/consent-forms/").json()
    assert [f["id"] for f in listed] == [body["id"]]
    # when the patient withdraws it
    withdrawn = doctor.call("POST", f"/api/v1/consent-forms/{body['id']}/withdraw/", {"reason": "Changed her mind"})
    # then it is withdrawn today, and a second withdrawal is a documented conflict
    assert withdrawn.status_code == 200, withdrawn.content
    assert (withdrawn.json()["active"], withdrawn.json()["withdrawn_on"]) == (False, str(timezone.localdate()))
    again = doctor.call("POST", f"/api/v1/consent-forms/{body['id']}/withdraw/", {"reason": "Twice"})
    assert_error(again, 409, "consent_form_withdrawn")
    with schema_context(record.chain.schema):
        form = ConsentForm.objects.get(pk=body["id"])
        assert form.withdrawal_reason == "Changed her mind"
        logged = AccessLog.objects.filter(object_type="consent_form", patient_id=record.patient.pk)
        assert set(logged.values_list("action", flat=True)) == {"create", "list", "update"}
        assert [h.history_user_id for h in form.history.all()] == [record.chain.users["doctor"].pk] * 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signed_on": "future"}, "signed_on"),
        ({"signed_by": "guardian"}, "signer_name"),
        ({"title": "   "}, "title"),
        ({"attachment": "other"}, "attachment"),
    ],
)
def test_a_consent_form_that_cannot_be_right_is_refused_with_its_field(api, record, settings, tmp_path, body, field):
    # given a valid form, with one thing wrong
    settings.MEDIA_ROOT = tmp_path
    data = {"kind": "treatment", "title": "Consent", "signed_on": str(timezone.localdate())}
    if body.get("signed_on") == "future":
        body = {"signed_on": str(timezone.localdate() + timedelta(days=1))}
    if body.get("attachment") == "other":  # a file of another patient
        with schema_context(record.chain.schema):
            services.care_team_assign(
                actor=record.chain.users["owner"], patient=record.twin, doctor=record.chain.users["doctor"].staff
            )
            other = services.attachment_add(
                actor=record.chain.users["doctor"],
                patient=record.twin,
                upload=SimpleUploadedFile("x.pdf", b"%PDF-1.4 x"),
                title="Other",
            )
        body = {"attachment": other.pk}
    # when it is sent
    response = api(record.chain, "doctor").call(
        "POST", f"/api/v1/patients/{record.patient.pk}/consent-forms/", data | body
    )
    # then it is refused on that field, and nothing is stored
    error = assert_error(response, 400, "validation_error")
    assert field in error["fields"]
    with schema_context(record.chain.schema):
        assert not ConsentForm.objects.exists()


@pytest.mark.parametrize("who", ["receptionist", "owner", "branch_manager", "outsider"])
def test_only_the_care_team_records_reads_or_withdraws_consent_forms(api, record, who):
    # given a form recorded by the patient's doctor
    form = _form(record)
    caller = api(record.chain, as_email=record.outsider.email) if who == "outsider" else api(record.chain, who)
    with schema_context(record.chain.schema):
        before = (ConsentForm.objects.count(), AccessLog.objects.filter(object_type="consent_form").count())
    # when anyone else lists, records or withdraws
    listed = caller.call("GET", f"/api/v1/patients/{record.patient.pk}/consent-forms/")
    created = caller.call(
        "POST",
        f"/api/v1/patients/{record.patient.pk}/consent-forms/",
        {"kind": "treatment", "title": "Consent", "signed_on": str(timezone.localdate())},
    )
    withdrawn = caller.call("POST", f"/api/v1/consent-forms/{form.pk}/withdraw/", {"reason": "Asked to"})
    # then each is refused and nothing changed or was shown
    for response in (listed, created, withdrawn):
        assert_error(response, 403)
    with schema_context(record.chain.schema):
        form.refresh_from_db()
        assert form.withdrawn_on is None
        assert (ConsentForm.objects.count(), AccessLog.objects.filter(object_type="consent_form").count()) == before
