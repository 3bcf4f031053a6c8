"""The clinical record on the chart: diagnoses, prescriptions, attachments, follow-ups, consent forms,
staff edits of details and the merge of two records, each through the service the API uses.
Refusals change nothing; every page that shows patient data is in the access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from patients import services
from patients.models import Attachment, ConsentForm, Diagnosis, FollowUp, Patient, Prescription
from tenants.accounts.models import User
from tenants.audit.models import AccessLog
from tests.factories import Chain, user_with_roles
from tests.helpers import sign_in

PDF = b"%PDF-1.4 chest x-ray report"


@dataclass
class Chart:
    chain: Chain
    patient: Patient
    twin: Patient  # a second record of the same person
    outsider: User  # a doctor of the chain without a care relation to the patient

    def client(self, who: str) -> Client:
        user = self.outsider if who == "outsider" else self.chain.users[who]
        client = Client(HTTP_HOST=self.chain.host)
        with schema_context(self.chain.schema):
            sign_in(client, user)
        return client

    def url(self, tail: str = "") -> str:
        return f"/patients/{self.patient.pk}/{tail}"


@pytest.fixture
def chart(in_a, settings, tmp_path) -> Chart:
    settings.MEDIA_ROOT = tmp_path
    owner = in_a.users["owner"]
    patient = services.patient_create(
        actor=owner, first_name="Ines", last_name="Ortega", phone="+44 7911 123987", email="ines@example.com"
    )
    services.care_team_assign(actor=owner, patient=patient, doctor=in_a.users["doctor"].staff)
    twin = services.patient_create(actor=owner, first_name="Inés", last_name="Ortega", ignore_duplicates=True)
    outsider = user_with_roles(email="locum.record@alpha.example", roles=["doctor"])
    return Chart(chain=in_a, patient=patient, twin=twin, outsider=outsider)


def _counts(patient: Patient) -> tuple[int, ...]:
    return tuple(
        model.objects.filter(patient=patient).count()
        for model in (Diagnosis, Prescription, Attachment, FollowUp, ConsentForm)
    )


def test_the_patients_doctor_adds_to_each_section_and_sees_it_listed(chart):
    # given the patient's doctor on the chart
    doctor = chart.client("doctor")
    # when she adds a diagnosis, a prescription, a file, a follow-up and a signed consent form
    due = timezone.localdate() + timedelta(days=14)
    posts = [
        ("diagnoses/", {"diagnosis-icd10_code": "j45.9", "diagnosis-text": "Asthma"}),
        (
            "prescriptions/",
            {
                "prescription-medication": "Salbutamol",
                "prescription-dose": "100 mcg",
                "prescription-frequency": "as needed",
                "prescription-route": "inhaled",
            },
        ),
        (
            "attachments/",
            {
                "attachment-title": "Chest X-ray",
                "attachment-kind": "image",
                "attachment-file": SimpleUploadedFile("xray.pdf", PDF, "application/pdf"),
            },
        ),
        ("follow-ups/", {"follow_up-due_date": str(due), "follow_up-reason": "Review inhaler use"}),
        (
            "consent-forms/",
            {
                "consent-kind": "treatment",
                "consent-title": "Consent to treatment",
                "consent-signed_on": str(timezone.localdate()),
                "consent-signed_by": "patient",
            },
        ),
    ]
    for tail, data in posts:
        response = doctor.post(chart.url(tail), data)
        assert response.status_code == 302, (tail, response.content[:600])
    # then each section lists what she added
    sections = {
        "diagnoses": [b"J45.9", b"Asthma", b"Salbutamol 100 mcg"],
        "attachments": [b"Chest X-ray", b"xray.pdf"],
        "follow-ups": [b"Review inhaler use"],
        "consent": [b"Consent to treatment", b"In force"],
    }
    for section, expected in sections.items():
        page = doctor.get(chart.url(f"?section={section}"))
        assert page.status_code == 200
        for text in expected:
            assert text in page.content, (section, text)
    # and the file downloads from the chart's link, as stored, with its type, and logged
    attachment = Attachment.objects.get(patient=chart.patient)
    download = doctor.get(f"/api/v1/attachments/{attachment.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert 'attachment; filename="xray.pdf"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF
    logged = AccessLog.objects.filter(patient_id=chart.patient.pk, actor_id=chart.chain.users["doctor"].pk)
    assert {"diagnosis", "prescription", "attachment", "follow_up", "consent_form"} <= set(
        logged.filter(action="create").values_list("object_type", flat=True)
    )
    assert logged.filter(action="view", object_type="attachment", object_id=str(attachment.pk)).exists()
    assert {"diagnosis", "attachment", "follow_up", "consent_form"} <= set(
        logged.filter(action="list").values_list("object_type", flat=True)
    )


def test_a_follow_up_is_closed_and_a_consent_form_withdrawn_from_the_chart(chart):
    # given an open follow-up and a consent form in force
    doctor_user = chart.chain.users["doctor"]
    follow_up = services.follow_up_create(
        actor=doctor_user, patient=chart.patient, due_date=timezone.localdate(), reason="Check peak flow"
    )
    form = services.consent_form_record(
        actor=doctor_user, patient=chart.patient, kind="photography", title="Photos", signed_on=timezone.localdate()
    )
    doctor = chart.client("doctor")
    # when the doctor marks the follow-up done and withdraws the consent
    done = doctor.post(chart.url(f"follow-ups/{follow_up.pk}/close/"), {"outcome": "done"})
    withdrawn = doctor.post(chart.url(f"consent-forms/{form.pk}/withdraw/"), {f"withdraw-{form.pk}-reason": "Asked"})
    # then both changed, and doing either again is a message on the chart, not an error page
    assert (done.status_code, withdrawn.status_code) == (302, 302)
    follow_up.refresh_from_db()
    form.refresh_from_db()
    assert follow_up.status == "done"
    assert form.withdrawn_on == timezone.localdate()
    again = doctor.post(chart.url(f"follow-ups/{follow_up.pk}/close/"), {"outcome": "done"})
    assert again.status_code == 200
    assert b"already closed" in again.content


def test_a_refused_entry_is_a_form_error_on_its_section_and_stores_nothing(chart):
    # given the patient's doctor
    doctor = chart.client("doctor")
    before = _counts(chart.patient)
    # when she sends a code that is no ICD-10 code, a file that is not what it says, a guardian with no name
    bad_code = doctor.post(chart.url("diagnoses/"), {"diagnosis-icd10_code": "XYZ", "diagnosis-text": "?"})
    bad_file = doctor.post(
        chart.url("attachments/"),
        {
            "attachment-title": "Not a PDF",
            "attachment-kind": "document",
            "attachment-file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 program", "application/pdf"),
        },
    )
    no_guardian = doctor.post(
        chart.url("consent-forms/"),
        {
            "consent-kind": "procedure",
            "consent-title": "Tonsillectomy",
            "consent-signed_on": str(timezone.localdate()),
            "consent-signed_by": "guardian",
        },
    )
    # then each comes back on its own section with the reason, and nothing is stored
    assert b"Use an ICD-10 code" in bad_code.content
    assert b"Upload a PDF, JPEG" in bad_file.content
    assert b"Name the person who signed" in no_guardian.content
    assert all(r.status_code == 200 for r in (bad_code, bad_file, no_guardian))
    assert _counts(chart.patient) == before


@pytest.mark.parametrize(
    ("tail", "prefix", "section"),
    [
        ("diagnoses/", "diagnosis", "diagnoses"),
        ("prescriptions/", "prescription", "diagnoses"),
        ("attachments/", "attachment", "attachments"),
        ("follow-ups/", "follow_up", "follow-ups"),
        ("consent-forms/", "consent", "consent"),
    ],
)
def test_each_record_form_is_posted_only_signed_in_and_an_empty_one_comes_back_on_its_section(
    chart, tail, prefix, section
):
    # given the patient's doctor, and someone not signed in
    doctor = chart.client("doctor")
    anonymous = Client(HTTP_HOST=chart.chain.host)
    before = _counts(chart.patient)
    # when the doctor sends the form empty or opens its address, and the anonymous visitor posts it
    empty = doctor.post(chart.url(tail), {})
    opened = doctor.get(chart.url(tail))
    refused = anonymous.post(chart.url(tail), {})
    # then the empty form is shown on its own section with its fields required, the address is for
    # posting only, the visitor is sent to sign in, and nothing is stored
    assert empty.status_code == 200
    assert empty.context["section"] == section
    assert empty.context[f"{prefix}_form"].errors
    assert b"This field is required." in empty.content
    assert opened.status_code == 405
    assert refused.status_code == 302
    assert "/accounts/" in refused["Location"]
    assert _counts(chart.patient) == before


@pytest.mark.parametrize("who", ["outsider", "receptionist", "owner", "branch_manager"])
def test_without_clinical_access_nothing_of_the_record_is_shown_or_changed(chart, who):
    # given a record with a consent form and a follow-up, and someone without a care relation
    doctor_user = chart.chain.users["doctor"]
    follow_up = services.follow_up_create(
        actor=doctor_user, patient=chart.patient, due_date=timezone.localdate(), reason="Check peak flow"
    )
    form = services.consent_form_record(
        actor=doctor_user, patient=chart.patient, kind="treatment", title="Consent", signed_on=timezone.localdate()
    )
    client = chart.client(who)
    before = _counts(chart.patient)
    # when they open a clinical section, or post to each of the record's forms
    page = client.get(chart.url("?section=consent"))
    responses = [
        client.post(chart.url("diagnoses/"), {"diagnosis-icd10_code": "J45.9", "diagnosis-text": "Asthma"}),
        client.post(
            chart.url("prescriptions/"),
            {"prescription-medication": "X", "prescription-dose": "1", "prescription-frequency": "1"},
        ),
        client.post(
            chart.url("attachments/"),
            {"attachment-title": "X", "attachment-file": SimpleUploadedFile("x.pdf", PDF, "application/pdf")},
        ),
        client.post(chart.url("follow-ups/"), {"follow_up-due_date": "2100-01-01", "follow_up-reason": "X"}),
        client.post(chart.url(f"follow-ups/{follow_up.pk}/close/"), {"outcome": "done"}),
        client.post(
            chart.url("consent-forms/"),
            {"consent-kind": "treatment", "consent-title": "X", "consent-signed_on": str(timezone.localdate())},
        ),
        client.post(chart.url(f"consent-forms/{form.pk}/withdraw/"), {f"withdraw-{form.pk}-reason": "X"}),
    ]
    # then the chart shows its overview only, every change is refused, and nothing changed
    assert page.status_code == 200
    assert b"Consent to treatment" not in page.content
    assert b"Signed consent forms" not in page.content
    assert [r.status_code for r in responses] == [403] * len(responses)
    assert _counts(chart.patient) == before
    follow_up.refresh_from_db()
    form.refresh_from_db()
    assert (follow_up.status, form.withdrawn_on) == ("open", None)
    assert not AccessLog.objects.filter(patient_id=chart.patient.pk, object_type="consent_form", action="list").exists()


@pytest.mark.parametrize(("who", "status"), [("receptionist", 302), ("outsider", 302), ("billing", 403)])
def test_staff_edit_a_patients_details_as_the_api_allows(chart, who, status):
    # given someone on the edit page
    client = chart.client(who)
    page = client.get(chart.url("edit/"))
    # when they correct the address and phone
    response = client.post(
        chart.url("edit/"),
        {
            "first_name": "Ines",
            "last_name": "Ortega",
            "sex": "female",
            "phone": "+44 7911 123987",
            "email": "ines@example.com",
            "city": "Leeds",
            "country": "GB",
        },
    )
    # then front desk and clinicians save it (logged, with history naming them); billing is refused
    assert response.status_code == status
    chart.patient.refresh_from_db()
    if status == 302:
        assert page.status_code == 200
        assert (chart.patient.city, chart.patient.sex) == ("Leeds", "female")
        latest = chart.patient.history.first()
        user = chart.outsider if who == "outsider" else chart.chain.users[who]
        assert latest.history_user_id == user.pk
        assert AccessLog.objects.filter(patient_id=chart.patient.pk, actor_id=user.pk, action="update").exists()
    else:
        assert page.status_code == 403
        assert (chart.patient.city, chart.patient.sex) == ("", "unknown")


def test_a_bad_detail_is_a_form_error(chart):
    client = chart.client("receptionist")
    response = client.post(
        chart.url("edit/"), {"first_name": "Ines", "last_name": "Ortega", "sex": "female", "phone": "12"}
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    chart.patient.refresh_from_db()
    assert chart.patient.phone == "+447911123987"


def test_an_owner_picks_the_duplicate_compares_and_merges(chart):
    # given a consent form on the twin record, and the owner on the merge page
    services.care_team_assign(
        actor=chart.chain.users["owner"], patient=chart.twin, doctor=chart.chain.users["doctor"].staff
    )
    form = services.consent_form_record(
        actor=chart.chain.users["doctor"],
        patient=chart.twin,
        kind="treatment",
        title="Twin's consent",
        signed_on=timezone.localdate(),
    )
    owner = chart.client("owner")
    # when she looks for the duplicate, opens it side by side, and confirms
    pick = owner.get(chart.url("merge/?q=ortega"))
    compare = owner.get(chart.url(f"merge/?other={chart.twin.pk}"))
    done = owner.post(chart.url("merge/"), {"other": chart.twin.pk, "keep": "this"})
    # then the twin is merged into this record, and its consent form moved with it
    assert pick.status_code == 200
    assert f"?other={chart.twin.pk}".encode() in pick.content
    assert compare.status_code == 200
    assert chart.twin.mrn.encode() in compare.content
    assert chart.patient.mrn.encode() in compare.content
    assert done.status_code == 302
    assert done["Location"] == f"/patients/{chart.patient.pk}/"
    chart.twin.refresh_from_db()
    form.refresh_from_db()
    assert chart.twin.merged_into_id == chart.patient.pk
    assert form.patient_id == chart.patient.pk
    assert AccessLog.objects.filter(patient_id=chart.twin.pk, object_type="patient", action="view").exists()


def test_a_refused_merge_is_a_form_error_and_merges_nothing(chart):
    # given a manager asked to merge a record into itself
    manager = chart.client("branch_manager")
    response = manager.post(chart.url("merge/"), {"other": chart.patient.pk, "keep": "other"})
    # then the refusal is on the form, and nothing is merged
    assert response.status_code == 200
    assert b"cannot be merged into itself" in response.content
    chart.patient.refresh_from_db()
    assert chart.patient.merged_into_id is None


@pytest.mark.parametrize("who", ["receptionist", "doctor", "outsider"])
def test_only_owners_and_managers_merge(chart, who):
    client = chart.client(who)
    page = client.get(chart.url(f"merge/?other={chart.twin.pk}"))
    response = client.post(chart.url("merge/"), {"other": chart.twin.pk, "keep": "this"})
    assert (page.status_code, response.status_code) == (403, 403)
    chart.twin.refresh_from_db()
    assert chart.twin.merged_into_id is None
