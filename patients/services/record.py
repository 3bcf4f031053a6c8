"""The clinical record: encounters, notes and addenda, diagnoses, prescriptions, attachments and follow-ups."""

from __future__ import annotations

import mimetypes
import os
import re
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from config.validation import require_valid
from patients.exceptions import AttachmentRefused, FollowUpClosed, InvalidPatient, NoteLocked
from patients.models import Addendum, Attachment, ClinicalNote, Diagnosis, Encounter, FollowUp, Patient, Prescription
from patients.services._audit import _log, _saved
from tenants.authz import Actor, authorize
from tenants.org.rules import staff_of

ATTACHMENT_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/heic",
    "text/plain",
    "application/dicom",
}
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
FILE_SIGNATURES = {"application/pdf": b"%PDF", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}


def encounter_open(*, patient_id: int, doctor_id: int, appointment_id: int) -> Encounter:
    """The visit begins (the calendar calls this when an appointment is started). Idempotent."""
    encounter, _ = Encounter.objects.get_or_create(
        appointment_id=appointment_id,
        defaults={"patient_id": patient_id, "doctor_id": doctor_id, "started_at": timezone.now()},
    )
    return encounter


def encounter_close(*, appointment_id: int) -> None:
    """The visit ends (the appointment was completed)."""
    Encounter.objects.filter(appointment_id=appointment_id, ended_at__isnull=True).update(ended_at=timezone.now())


def _clinical(actor: Actor, patient: Patient) -> Any:
    authorize(actor, "patients.write_clinical", patient)
    return staff_of(actor)


@transaction.atomic
def note_create(
    *,
    actor: Actor,
    patient: Patient,
    title: str,
    body: str,
    appointment_id: int | None = None,
    request: HttpRequest | None = None,
) -> ClinicalNote:
    author = _clinical(actor, patient)
    require_valid(
        InvalidPatient,
        {
            "title": None if title.strip() else "Give the note a title.",
            "body": None if body.strip() else "The note is empty.",
        },
    )
    encounter = (
        Encounter.objects.filter(appointment_id=appointment_id, patient=patient).first() if appointment_id else None
    )
    note = ClinicalNote(
        patient=patient,
        author=author,
        title=title.strip()[:200],
        body=body,
        appointment_id=appointment_id,
        encounter=encounter,
    )
    _saved(note, actor, "create", "clinical_note", patient.pk, request)
    return note


def _locked_note(note: ClinicalNote, actor: Actor) -> ClinicalNote:
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    _clinical(actor, note.patient)
    if note.status == ClinicalNote.Status.SIGNED:
        raise NoteLocked()
    if note.author_id != getattr(staff_of(actor), "pk", None):
        raise NoteLocked("Only the author may change or sign a draft note.")
    return note


@transaction.atomic
def note_update(
    *, actor: Actor, note: ClinicalNote, title: str, body: str, request: HttpRequest | None = None
) -> ClinicalNote:
    note = _locked_note(note, actor)
    if not body.strip():
        raise InvalidPatient(fields={"body": ["The note is empty."]})
    note.title, note.body = (title.strip() or note.title)[:200], body
    _saved(note, actor, "update", "clinical_note", note.patient_id, request)
    return note


@transaction.atomic
def note_sign(*, actor: Actor, note: ClinicalNote, request: HttpRequest | None = None) -> ClinicalNote:
    note = _locked_note(note, actor)
    note.status = ClinicalNote.Status.SIGNED
    note.signed_at = timezone.now()
    _saved(note, actor, "update", "clinical_note", note.patient_id, request, reason="signed")
    return note


@transaction.atomic
def addendum_add(*, actor: Actor, note: ClinicalNote, body: str, request: HttpRequest | None = None) -> Addendum:
    author = _clinical(actor, note.patient)
    if note.status != ClinicalNote.Status.SIGNED:
        raise NoteLocked("Edit the draft itself; addenda are for signed notes.")
    if not body.strip():
        raise InvalidPatient(fields={"body": ["The addendum is empty."]})
    addendum = Addendum.objects.create(note=note, author=author, body=body)
    _log(actor, "create", "addendum", addendum, note.patient_id, request)
    return addendum


ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")


@transaction.atomic
def diagnosis_add(
    *,
    actor: Actor,
    patient: Patient,
    icd10_code: str,
    text: str,
    note: ClinicalNote | None = None,
    request: HttpRequest | None = None,
) -> Diagnosis:
    author = _clinical(actor, patient)
    code = icd10_code.strip().upper()
    require_valid(
        InvalidPatient,
        {
            "icd10_code": None if ICD10.match(code) else "Use an ICD-10 code such as J45.9.",
            "text": None if text.strip() else "Describe the diagnosis.",
        },
    )
    diagnosis = Diagnosis(patient=patient, note=note, icd10_code=code, text=text.strip()[:300], recorded_by=author)
    _saved(diagnosis, actor, "create", "diagnosis", patient.pk, request)
    return diagnosis


@transaction.atomic
def prescription_add(
    *,
    actor: Actor,
    patient: Patient,
    medication: str,
    dose: str,
    frequency: str,
    route: str = "oral",
    duration_days: int | None = None,
    instructions: str = "",
    request: HttpRequest | None = None,
) -> Prescription:
    author = _clinical(actor, patient)
    require_valid(
        InvalidPatient,
        {
            "medication": None if medication.strip() else "Name the medication.",
            "dose": None if dose.strip() else "Give the dose.",
            "frequency": None if frequency.strip() else "Say how often.",
        },
    )
    prescription = Prescription(
        patient=patient,
        medication=medication.strip(),
        dose=dose.strip(),
        frequency=frequency.strip(),
        route=route.strip() or "oral",
        duration_days=duration_days,
        instructions=instructions.strip(),
        prescriber=author,
    )
    _saved(prescription, actor, "create", "prescription", patient.pk, request)
    return prescription


@transaction.atomic
def attachment_add(
    *,
    actor: Actor,
    patient: Patient,
    upload: UploadedFile,
    title: str,
    kind: str = "document",
    request: HttpRequest | None = None,
) -> Attachment:
    """Store a file for the patient through Django's storage. Type (by content, not by name alone)
    and size are checked; the file is only ever served by a view that checks access."""
    author = _clinical(actor, patient)
    guessed = mimetypes.guess_type(upload.name or "")[0]
    head = upload.read(8)
    upload.seek(0)
    # The name says what it claims to be; for the types that have a signature, the bytes must agree.
    genuine = guessed in ATTACHMENT_TYPES and head.startswith(FILE_SIGNATURES.get(guessed or "", b""))
    require_valid(
        AttachmentRefused,
        {
            "file": "Files up to 20 MB only."
            if (upload.size or 0) > ATTACHMENT_MAX_BYTES
            else None
            if genuine
            else "Upload a PDF, JPEG, PNG, HEIC, DICOM or plain-text file.",
            "kind": None if kind in Attachment.Kind.values else "Unknown kind.",
            "title": None if title.strip() else "Give the file a title.",
        },
    )
    attachment = Attachment(
        patient=patient,
        kind=kind,
        title=title.strip()[:200],
        file=upload,
        content_type=str(guessed),
        original_name=os.path.basename(upload.name or "")[:255],
        size=upload.size or 0,
        uploaded_by=author,
    )
    _saved(attachment, actor, "create", "attachment", patient.pk, request)
    return attachment


@transaction.atomic
def follow_up_create(
    *,
    actor: Actor,
    patient: Patient,
    due_date: date,
    reason: str,
    doctor_id: int | None = None,
    request: HttpRequest | None = None,
) -> FollowUp:
    author = _clinical(actor, patient)
    if not reason.strip():
        raise InvalidPatient(fields={"reason": ["Say what the follow-up is for."]})
    follow_up = FollowUp(
        patient=patient,
        due_date=due_date,
        reason=reason.strip()[:300],
        doctor_id=doctor_id or author.pk,
        created_by=author,
    )
    _saved(follow_up, actor, "create", "follow_up", patient.pk, request)
    return follow_up


@transaction.atomic
def follow_up_close(
    *, actor: Actor, follow_up: FollowUp, done: bool = True, request: HttpRequest | None = None
) -> FollowUp:
    _clinical(actor, follow_up.patient)
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.status != FollowUp.Status.OPEN:
        raise FollowUpClosed()
    follow_up.status = FollowUp.Status.DONE if done else FollowUp.Status.CANCELLED
    _saved(follow_up, actor, "update", "follow_up", follow_up.patient_id, request)
    return follow_up
