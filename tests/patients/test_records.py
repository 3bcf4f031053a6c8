from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django_tenants.utils import schema_context

from patients import services
from patients.exceptions import AttachmentRefused, InvalidPatient, MergeRefused, NoteLocked, PossibleDuplicates
from patients.models import ClinicalNote, Patient
from patients.selectors import patient_search
from scheduling import services as sched
from scheduling.models import Appointment
from tenants.audit.models import AccessLog
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def test_phone_is_stored_in_e164_and_bad_input_is_refused(in_a):
    owner = in_a.users["owner"]
    patient = services.patient_create(actor=owner, first_name=" Ana ", last_name="Silva", phone="+44 (0)7911 123456")
    assert (patient.first_name, patient.phone) == ("Ana", "+447911123456")
    # a national number is read in the chain's country: its time zone's (Europe/London), else its locale's
    assert (
        services.patient_create(actor=owner, first_name="Bo", last_name="Lind", phone="07911 123457").phone
        == "+447911123457"
    )
    with pytest.raises(InvalidPatient) as info:
        services.patient_create(
            actor=owner, first_name="", last_name="X", phone="12", email="nope", date_of_birth=date(2999, 1, 1)
        )
    assert set(info.value.fields) == {"first_name", "phone", "email", "date_of_birth"}


def test_likely_duplicates_are_flagged_then_can_be_overridden(in_a):
    owner = in_a.users["owner"]
    first = services.patient_create(
        actor=owner, first_name="Jonathan", last_name="Smith", date_of_birth=date(1980, 5, 1)
    )
    with pytest.raises(PossibleDuplicates) as info:
        services.patient_create(actor=owner, first_name="Jonathon", last_name="Smith", date_of_birth=date(1980, 5, 1))
    assert info.value.fields["duplicates"] == [str(first.pk)]
    services.patient_create(
        actor=owner, first_name="Jonathon", last_name="Smith", date_of_birth=date(1980, 5, 1), ignore_duplicates=True
    )
    services.patient_create(actor=owner, first_name="Other", last_name="Person", phone="+447911000111")
    with pytest.raises(PossibleDuplicates):
        services.patient_create(actor=owner, first_name="Someone", last_name="Else", phone="+44 7911 000111")


def test_search_is_partial_and_accent_and_case_insensitive(in_a):
    owner = in_a.users["owner"]
    zoe = services.patient_create(
        actor=owner, first_name="Zoë", last_name="Müller-Brown", date_of_birth=date(1990, 2, 3), phone="+447911222333"
    )
    services.patient_create(actor=owner, first_name="Zoe", last_name="Miller")
    assert list(patient_search(q="muller")) == [zoe]
    assert list(patient_search(q="ZOË MÜL")) == [zoe]
    assert list(patient_search(q="ller-bro")) == [zoe]
    assert list(patient_search(q="1990-02-03")) == [zoe]
    assert list(patient_search(q="07911 222333")) == [zoe]
    assert list(patient_search(q=zoe.mrn.lower())) == [zoe]
    assert len(patient_search(q="zoe")) == 2


def test_signed_note_is_locked_even_for_the_database(record):
    with schema_context(record.chain.schema):
        doctor = record.chain.users["doctor"]
        note = services.note_sign(actor=doctor, note=record.note)
        with pytest.raises(NoteLocked):
            services.note_update(actor=doctor, note=note, title="x", body="rewritten")
        with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
            ClinicalNote.objects.filter(pk=note.pk).update(body="tampered")
        with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
            ClinicalNote.objects.filter(pk=note.pk).delete()
        services.addendum_add(actor=doctor, note=note, body="Chest X-ray clear.")
        note.refresh_from_db()
        assert note.body == "Cough for 3 weeks."
        assert [a.body for a in note.addenda.all()] == ["Chest X-ray clear."]
        assert note.history.filter(status="signed").exists()


def test_note_api_flow(api, record):
    doctor = api(record.chain, "doctor")
    created = doctor.call(
        "POST", f"/api/v1/patients/{record.patient.pk}/notes/", {"title": "Review", "body": "Better."}
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert doctor.call("PATCH", f"/api/v1/notes/{pk}/", {"body": "Much better."}).json()["body"] == "Much better."
    assert doctor.call("POST", f"/api/v1/notes/{pk}/sign/").json()["status"] == "signed"
    assert_error(doctor.call("PATCH", f"/api/v1/notes/{pk}/", {"body": "again"}), 409, "note_locked")
    assert_error(doctor.call("POST", f"/api/v1/notes/{pk}/sign/"), 409, "note_locked")
    assert doctor.call("POST", f"/api/v1/notes/{pk}/addenda/", {"body": "Follow up in 2 weeks"}).status_code == 201
    assert_error(
        doctor.call("POST", f"/api/v1/patients/{record.patient.pk}/diagnoses/", {"icd10_code": "ZZZ", "text": "x"}),
        400,
        "validation_error",
    )
    assert (
        doctor.call(
            "POST", f"/api/v1/patients/{record.patient.pk}/diagnoses/", {"icd10_code": "j45.9", "text": "Asthma"}
        ).json()["icd10_code"]
        == "J45.9"
    )


def test_every_read_path_writes_the_access_log(api, record):
    p, n = record.patient.pk, record.note.pk
    doctor = api(record.chain, "doctor")
    reads = [
        ("view", "patient", f"/api/v1/patients/{p}/"),
        ("search", "patient", "/api/v1/patients/?q=zoe"),
        ("list", "clinical_note", f"/api/v1/patients/{p}/notes/"),
        ("view", "clinical_note", f"/api/v1/notes/{n}/"),
    ]
    for action, object_type, path in reads:
        with schema_context(record.chain.schema):
            before = AccessLog.objects.filter(action=action, object_type=object_type, patient_id=p).count()
        assert doctor.call("GET", path).status_code == 200
        with schema_context(record.chain.schema):
            rows = AccessLog.objects.filter(action=action, object_type=object_type, patient_id=p)
            assert rows.count() == before + 1, path
            row = rows.order_by("-id").first()
            assert row.actor_id == record.chain.users["doctor"].pk
            assert row.path == path


def test_attachments_are_checked_stored_and_served_only_to_the_care_team(api, record, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    doctor = api(record.chain, "doctor")
    url = f"/api/v1/patients/{record.patient.pk}/attachments/"
    bad = doctor.client.post(url, {"title": "x", "file": SimpleUploadedFile("x.exe", b"MZ\x90\x00", "application/pdf")})
    assert_error(bad, 400, "validation_error")
    fake = doctor.client.post(url, {"title": "x", "file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf")})
    assert_error(fake, 400, "validation_error")
    ok = doctor.client.post(
        url, {"title": "Blood test", "kind": "lab_result", "file": SimpleUploadedFile("lab.pdf", PDF)}
    )
    assert ok.status_code == 201, ok.content
    pk = ok.json()["id"]
    download = doctor.client.get(f"/api/v1/attachments/{pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert_error(api(record.chain, "receptionist").call("GET", f"/api/v1/attachments/{pk}/download/"), 403)
    assert_error(
        api(record.chain, as_email=record.outsider.email).call("GET", f"/api/v1/attachments/{pk}/download/"), 403
    )
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (20 * 1024 * 1024))
    with schema_context(record.chain.schema), pytest.raises(AttachmentRefused):
        services.attachment_add(actor=record.chain.users["doctor"], patient=record.patient, upload=big, title="Big")


def test_merge_moves_appointments_and_records(in_a):
    clinic = clinic_setup(in_a, doctors=1)
    keep, merge = clinic.patient(), clinic.patient()
    book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=merge)
    services.note_create(actor=clinic.doctors[0].user, patient=merge, title="Old", body="From the duplicate record")
    kept = services.patient_merge(actor=clinic.owner, keep=keep, merge=merge)
    assert Appointment.objects.filter(patient=kept).count() == 1
    assert ClinicalNote.objects.filter(patient=kept).count() == 1
    assert Patient.objects.get(pk=merge.pk).merged_into_id == kept.pk
    assert merge not in patient_search(q=merge.last_name)
    with pytest.raises(MergeRefused):
        services.patient_merge(actor=clinic.owner, keep=kept, merge=Patient.objects.get(pk=merge.pk))
    assert AccessLog.objects.filter(object_type="patient_merge", patient_id=kept.pk).exists()


def test_merge_refused_when_both_records_are_booked_at_once(in_a):
    clinic = clinic_setup(in_a, doctors=2)
    keep, merge = clinic.patient(), clinic.patient()
    for patient, doctor in ((keep, clinic.doctors[0]), (merge, clinic.doctors[1])):
        book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=patient, doctor=doctor)
    with pytest.raises(MergeRefused):
        services.patient_merge(actor=clinic.owner, keep=keep, merge=merge)
    assert Patient.objects.get(pk=merge.pk).merged_into_id is None
    assert Appointment.objects.filter(patient=merge).count() == 1


def test_booking_puts_the_doctor_in_the_care_team(in_a):
    clinic = clinic_setup(in_a, doctors=1)
    patient = clinic.patient()
    doctor_user = clinic.doctors[0].user
    assert not doctor_user.has_perm("patients.view_clinical", patient)
    book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=patient)
    fresh = type(doctor_user).objects.get(pk=doctor_user.pk)  # permission caches live on the user object
    assert fresh.has_perm("patients.view_clinical", patient)


def test_consent_by_channel(api, record):
    reception = api(record.chain, "receptionist")
    url = f"/api/v1/patients/{record.patient.pk}/consent/"
    assert reception.call("POST", url, {"channel": "sms", "given": True}).json()["sms_consent"] is True
    assert reception.call("POST", url, {"channel": "sms", "given": False}).json()["sms_consent"] is False
    assert_error(reception.call("POST", url, {"channel": "fax", "given": True}), 400, "validation_error")


def test_search_needs_three_letters_of_a_name(api, record):
    error = assert_error(
        api(record.chain, "receptionist").call("GET", "/api/v1/patients/?q=zo"), 400, "validation_error"
    )
    assert "q" in error["fields"]
    found = api(record.chain, "receptionist").call("GET", "/api/v1/patients/?q=zo mül").json()
    assert {p["id"] for p in found["results"]} == {record.patient.pk, record.twin.pk}


def test_starting_a_visit_opens_an_encounter_that_notes_belong_to(in_a):
    clinic = clinic_setup(in_a, doctors=1)
    patient = clinic.patient()
    doctor = clinic.doctors[0].user
    visit = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=patient)
    with time_machine.travel(clinic.at(MONDAY, 9, 55), tick=False):  # check-in is on the day
        visit = sched.appointment_check_in(actor=clinic.receptionist, appointment=visit)
    visit = sched.appointment_start(actor=doctor, appointment=visit)
    encounter = patient.encounters.get()
    assert (encounter.appointment_id, encounter.doctor, encounter.ended_at) == (visit.pk, clinic.doctors[0], None)
    note = services.note_create(actor=doctor, patient=patient, title="Visit", body="Seen.", appointment_id=visit.pk)
    assert note.encounter == encounter
    sched.appointment_complete(actor=doctor, appointment=visit)
    encounter.refresh_from_db()
    assert encounter.ended_at is not None
