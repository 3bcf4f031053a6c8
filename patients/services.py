"""Write use cases of the patient record. Each checks the actor's permission, runs in one
transaction, leaves a history row naming who, and an access-log row for the patient touched."""

from __future__ import annotations

import mimetypes
import os
import re
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import Disclosure, PermissionDenied
from config.events import publish
from patients import events
from patients.exceptions import (
    AttachmentRefused,
    FollowUpClosed,
    InvalidPatient,
    MergeRefused,
    NoteLocked,
    PossibleDuplicates,
)
from patients.models import (
    Addendum,
    Attachment,
    BreakGlass,
    CareRelation,
    ClinicalNote,
    Diagnosis,
    Encounter,
    FollowUp,
    Patient,
    Prescription,
    Sex,
)
from patients.selectors import duplicate_candidates, phone_e164
from tenants.audit.services import access_log_record
from tenants.authz import authorize
from tenants.org.models import Role, StaffMember
from tenants.org.rules import is_owner, managed_branch_ids, staff_of
from tenants.validation import collect

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
BREAK_GLASS_HOURS = 4
_UNSET: Any = object()
DEMOGRAPHIC_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address_line",
    "city",
    "postcode",
    "country",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    "preferred_language",
)


def _email_error(value: str) -> str | None:
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return "Enter a valid e-mail address."
    return None


def _clean_demographics(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    errors: dict[str, list[str]] = {}
    for name in ("first_name", "last_name"):
        if name in out:
            out[name] = (out[name] or "").strip()
            if not out[name]:
                errors[name] = ["This cannot be empty."]
    for name in ("phone", "emergency_contact_phone"):
        if name in out:
            try:
                out[name] = phone_e164(out[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
    if "email" in out:
        out["email"] = (out["email"] or "").strip().lower()
    if out.get("date_of_birth") and out["date_of_birth"] > timezone.localdate():
        errors["date_of_birth"] = ["The date of birth is in the future."]
    if "sex" in out and out["sex"] not in Sex.values:
        errors["sex"] = [f"Choose one of {', '.join(Sex.values)}."]
    if out.get("country") and len(out["country"]) != 2:
        errors["country"] = ["Use the two-letter country code, e.g. GB."]
    errors.update(collect({"email": _email_error(out.get("email", ""))}))
    if errors:
        raise InvalidPatient(fields=errors)
    return out


def _stamp(obj: Any, actor: Any) -> Any:
    obj._history_user = actor if getattr(actor, "is_authenticated", False) else None
    return obj


def _log(
    actor: Any, action: str, object_type: str, obj: Any, patient_id: int, request: Any = None, reason: str = ""
) -> None:
    access_log_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_ids=[obj.pk],
        patient_ids=[patient_id],
        request=request,
        reason=reason,
    )


@transaction.atomic
def patient_create(
    *,
    actor: Any,
    first_name: str,
    last_name: str,
    date_of_birth: date | None = None,
    phone: str = "",
    email: str = "",
    ignore_duplicates: bool = False,
    request: Any = None,
    **more: Any,
) -> Patient:
    """Register a patient. Likely duplicates (same phone, or same date of birth with a similar
    name) are refused with 409 possible_duplicates naming them, unless ignore_duplicates."""
    authorize(actor, "patients.add_patient")
    unknown = set(more) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise InvalidPatient(fields={k: ["Unknown field."] for k in sorted(unknown)})
    values = _clean_demographics(
        {
            "first_name": first_name,
            "last_name": last_name,
            "date_of_birth": date_of_birth,
            "phone": phone,
            "email": email,
            **more,
        }
    )
    if not ignore_duplicates:
        candidates = duplicate_candidates(
            first_name=values["first_name"],
            last_name=values["last_name"],
            date_of_birth=date_of_birth,
            phone=values["phone"],
        )
        if candidates:
            raise PossibleDuplicates(
                "Likely the same person: " + "; ".join(f"{p} ({p.mrn})" for p in candidates),
                fields={"duplicates": [str(p.pk) for p in candidates]},
                disclosure=Disclosure("patient", [p.pk for p in candidates], [p.pk for p in candidates]),
            )
    patient = _stamp(Patient(**values), actor)
    patient.save()
    _log(actor, "create", "patient", patient, patient.pk, request)
    return patient


@transaction.atomic
def patient_self_register(
    *, first_name: str, last_name: str, email: str = "", phone: str = "", request: Any = None
) -> Patient:
    """A patient booking online, after proving they hold the e-mail address or phone number by a
    one-time code. An existing record with that verified address is reused, not duplicated."""
    values = _clean_demographics({"first_name": first_name, "last_name": last_name, "email": email, "phone": phone})
    if not (values["email"] or values["phone"]):
        raise InvalidPatient(fields={"email": ["Give an e-mail address or a mobile number."]})
    match = Patient.objects.filter(merged_into__isnull=True)
    match = match.filter(email=values["email"]) if values["email"] else match.filter(phone=values["phone"])
    patient = match.order_by("pk").first()
    if patient is None:
        patient = Patient(**values)
        patient.save()
        _log(None, "create", "patient", patient, patient.pk, request, reason="registered online")
    return patient


@transaction.atomic
def patient_update(*, actor: Any, patient: Patient, request: Any = None, **fields: Any) -> Patient:
    authorize(actor, "patients.change_patient", patient)
    unknown = set(fields) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise InvalidPatient(fields={k: ["This cannot be changed here."] for k in sorted(unknown)})
    values = _clean_demographics(fields)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    for key, value in values.items():
        setattr(patient, key, value)
    _stamp(patient, actor).save()
    _log(actor, "update", "patient", patient, patient.pk, request)
    return patient


@transaction.atomic
def consent_set(*, actor: Any, patient: Patient, channel: str, given: bool, request: Any = None) -> Patient:
    """Record that a patient gave or withdrew consent to be contacted on a channel, and when."""
    authorize(actor, "patients.change_patient", patient)
    if channel not in ("sms", "email"):
        raise InvalidPatient(fields={"channel": ["Use sms or email."]})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    setattr(patient, f"{channel}_consent_at" if given else f"{channel}_consent_withdrawn_at", timezone.now())
    _stamp(patient, actor).save()
    _log(
        actor,
        "update",
        "consent",
        patient,
        patient.pk,
        request,
        reason=f"{channel} {'given' if given else 'withdrawn'}",
    )
    return patient


def _merge_widens_own_access(actor: Any, keep: Patient, merge: Patient) -> bool:
    """Grants move with a merged record, so a clinician who cares for one of the two would gain the
    other's clinical record by merging them: no self-granted access, by merge either."""
    staff = staff_of(actor)
    if staff is None:
        return False
    now = timezone.now()
    caring = set(
        CareRelation.objects.filter(patient_id__in=[keep.pk, merge.pk], doctor=staff)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("patient_id", flat=True)
    )
    return len(caring) == 1


@transaction.atomic
def patient_merge(*, actor: Any, keep: Patient, merge: Patient, request: Any = None) -> Patient:
    """Fold `merge` into `keep`: appointments, clinical records and care team move to `keep`;
    `merge` stays, marked as merged, for the audit trail."""
    authorize(actor, "patients.merge_patient")
    if keep.pk == merge.pk:
        raise MergeRefused("A record cannot be merged into itself.")
    # Lock both rows in id order so two merges of the same pair cannot deadlock or interleave.
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk]).order_by("pk")}
    keep, merge = locked[keep.pk], locked[merge.pk]
    if merge.merged_into_id or keep.merged_into_id:
        raise MergeRefused("One of these records was already merged.")
    if _merge_widens_own_access(actor, keep, merge):
        raise MergeRefused(
            "You are in the care team of only one of these patients: merging would open the other's "
            "clinical record to you. Another owner or manager must merge them."
        )
    # Marked merged first: the signed-note lock (a trigger, migration 0007) lets a signed note
    # change its patient, and nothing else, only to the record its patient was merged into.
    merge.merged_into = keep
    merge._change_reason = f"merged into {keep.mrn}"  # type: ignore[attr-defined]
    _stamp(merge, actor).save()
    for model in (Encounter, ClinicalNote, Diagnosis, Prescription, Attachment, FollowUp):
        model.objects.filter(patient=merge).update(patient=keep)
    # Grants move with the record; an assignment both records have is kept once.
    kept_assigned = CareRelation.objects.filter(patient=keep, reason=CareRelation.Reason.ASSIGNED).values("doctor_id")
    CareRelation.objects.filter(
        patient=merge, reason=CareRelation.Reason.ASSIGNED, doctor_id__in=kept_assigned
    ).delete()
    CareRelation.objects.filter(patient=merge).update(patient=keep)
    # Modules above (appointments, invoices) move their rows in this same transaction.
    publish(events.PatientsMerged(kept_id=keep.pk, merged_id=merge.pk, actor_id=getattr(actor, "pk", None)))
    for field in ("phone", "email", "date_of_birth", "address_line", "city", "postcode"):
        if not getattr(keep, field) and getattr(merge, field):
            setattr(keep, field, getattr(merge, field))
    keep._change_reason = f"merged {merge.mrn} into this record"  # type: ignore[attr-defined]
    _stamp(keep, actor).save()
    _log(actor, "update", "patient_merge", keep, keep.pk, request, reason=f"merged {merge.mrn} into {keep.mrn}")
    _log(actor, "update", "patient_merge", merge, merge.pk, request, reason=f"merged into {keep.mrn}")
    return keep


def care_relation_grant(
    *, reason: str, patient_id: int, doctor_id: int, appointment_id: int, at: datetime, granted_by_id: int | None
) -> CareRelation:
    """Real care the calendar saw (a downward call, see patients.rules), one row per appointment and
    reason, rewritten when the appointment moves:

    * ``booked``: someone other than the doctor booked the patient with her; `at` is the
      appointment's end, and she may prepare until CARE_BOOKING_GRACE after it;
    * ``visit``: the visit happened (checked in, started) at `at`; CARE_PERIOD after it.

    The calendar calls this with the appointment row locked, so two writers of one grant never race."""
    if reason not in (CareRelation.Reason.BOOKED, CareRelation.Reason.VISIT):
        raise ValueError(f"the calendar grants only bookings and visits, not {reason!r}")
    lasts = settings.CARE_BOOKING_GRACE if reason == CareRelation.Reason.BOOKED else settings.CARE_PERIOD
    relation = CareRelation.objects.filter(appointment_id=appointment_id, reason=reason).first() or CareRelation(
        appointment_id=appointment_id, reason=reason
    )
    relation.patient_id, relation.doctor_id = patient_id, doctor_id
    relation.expires_at, relation.granted_by_id = at + lasts, granted_by_id
    relation._history_user = None  # type: ignore[attr-defined]  # the appointment's history names who
    relation.save()
    return relation


def care_relation_withdraw(*, appointment_id: int, unseen_visit: bool = False) -> None:
    """The booking of this appointment grants nothing any more: it was cancelled or missed before
    the visit, or moved to the doctor who made it. Access earned by a visit stays, unless the visit
    never happened (`unseen_visit`: checked in, then cancelled before the doctor started it)."""
    reasons = [CareRelation.Reason.BOOKED] + ([CareRelation.Reason.VISIT] if unseen_visit else [])
    for relation in CareRelation.objects.filter(appointment_id=appointment_id, reason__in=reasons):
        relation._history_user = None  # type: ignore[attr-defined]
        relation.delete()


def _care_doctor(actor: Any, doctor: StaffMember) -> None:
    """Who may be put in a care team, by whom: an active doctor, never the one asking (that would be
    self-granted access), and for a branch manager only a doctor of a branch they manage."""
    if not doctor.is_active or Role.DOCTOR not in doctor.roles:
        raise InvalidPatient(fields={"doctor": ["Choose an active doctor of the chain."]})
    if doctor.user_id == getattr(actor, "pk", None):
        refusal = "Another owner or manager must add you; in an emergency, open the record with a reason."
        raise InvalidPatient(fields={"doctor": [refusal]})
    if not is_owner(actor) and not set(doctor.branches.values_list("id", flat=True)) & managed_branch_ids(actor):
        raise PermissionDenied("Branch managers add only doctors of their own branches.")


@transaction.atomic
def care_team_assign(*, actor: Any, patient: Patient, doctor: StaffMember, request: Any = None) -> CareRelation:
    """An owner or branch manager puts a doctor in the patient's care team, until removed. Nobody
    adds themselves. Idempotent: assigning twice keeps the first assignment."""
    authorize(actor, "patients.assign_care", patient)
    doctor = StaffMember.objects.get(pk=doctor.pk)  # the roles as they are now, not as the caller read them
    _care_doctor(actor, doctor)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one assignment at a time per patient
    relation = CareRelation.objects.filter(patient=patient, doctor=doctor, reason=CareRelation.Reason.ASSIGNED).first()
    if relation is None:
        relation = _stamp(
            CareRelation(patient=patient, doctor=doctor, reason=CareRelation.Reason.ASSIGNED, granted_by=actor), actor
        )
        relation.save()
        _log(actor, "create", "care_relation", relation, patient.pk, request, reason=f"assigned {doctor}")
    return relation


@transaction.atomic
def care_team_unassign(*, actor: Any, patient: Patient, doctor: StaffMember, request: Any = None) -> int:
    """Take a doctor out of the patient's care team now: the assignment goes, and access from her
    bookings and visits of this patient ends (the rows stay, ended, for the trail). A later booking
    or visit grants again. Returns how many grants ended."""
    authorize(actor, "patients.assign_care", patient)
    now = timezone.now()
    ended = 0
    current = CareRelation.objects.select_for_update().filter(patient=patient, doctor=doctor)
    for relation in current.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)):
        _stamp(relation, actor)
        if relation.reason == CareRelation.Reason.ASSIGNED:
            relation.delete()
        else:
            relation.expires_at = now
            relation.save(update_fields=["expires_at"])
        ended += 1
    if ended:
        access_log_record(
            actor=actor,
            action="delete",
            object_type="care_relation",
            object_ids=[doctor.pk],
            patient_ids=[patient.pk],
            request=request,
            reason=f"removed {doctor} from the care team",
        )
    return ended


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


@transaction.atomic
def break_glass_open(*, actor: Any, patient: Patient, reason: str, request: Any = None) -> BreakGlass:
    """Emergency access: a doctor outside the care team reads the record for a few hours. The
    reason is required and the opening is in the access log as 'break_glass'."""
    authorize(actor, "patients.break_glass", patient)
    if len(reason.strip()) < 10:
        raise InvalidPatient(fields={"reason": ["Say why, in at least 10 characters."]})
    doctor = staff_of(actor)
    if doctor is None:  # authorize() let a clinician through; a clinician is staff
        raise InvalidPatient(fields={"doctor": ["Only staff open emergency access."]})
    grant = BreakGlass.objects.create(
        patient=patient,
        doctor=doctor,
        reason=reason.strip()[:300],
        expires_at=timezone.now() + timedelta(hours=BREAK_GLASS_HOURS),
    )
    _log(actor, "break_glass", "patient", patient, patient.pk, request, reason=reason.strip())
    return grant


def _clinical(actor: Any, patient: Patient) -> Any:
    authorize(actor, "patients.write_clinical", patient)
    return staff_of(actor)


@transaction.atomic
def note_create(
    *, actor: Any, patient: Patient, title: str, body: str, appointment_id: int | None = None, request: Any = None
) -> ClinicalNote:
    author = _clinical(actor, patient)
    errors = collect(
        {
            "title": None if title.strip() else "Give the note a title.",
            "body": None if body.strip() else "The note is empty.",
        }
    )
    if errors:
        raise InvalidPatient(fields=errors)
    encounter = (
        Encounter.objects.filter(appointment_id=appointment_id, patient=patient).first() if appointment_id else None
    )
    note = _stamp(
        ClinicalNote(
            patient=patient,
            author=author,
            title=title.strip()[:200],
            body=body,
            appointment_id=appointment_id,
            encounter=encounter,
        ),
        actor,
    )
    note.save()
    _log(actor, "create", "clinical_note", note, patient.pk, request)
    return note


def _locked_note(note: ClinicalNote, actor: Any) -> ClinicalNote:
    note = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    _clinical(actor, note.patient)
    if note.status == ClinicalNote.Status.SIGNED:
        raise NoteLocked()
    if note.author_id != getattr(staff_of(actor), "pk", None):
        raise NoteLocked("Only the author may change or sign a draft note.")
    return note


@transaction.atomic
def note_update(*, actor: Any, note: ClinicalNote, title: str, body: str, request: Any = None) -> ClinicalNote:
    note = _locked_note(note, actor)
    if not body.strip():
        raise InvalidPatient(fields={"body": ["The note is empty."]})
    note.title, note.body = (title.strip() or note.title)[:200], body
    _stamp(note, actor).save()
    _log(actor, "update", "clinical_note", note, note.patient_id, request)
    return note


@transaction.atomic
def note_sign(*, actor: Any, note: ClinicalNote, request: Any = None) -> ClinicalNote:
    note = _locked_note(note, actor)
    note.status = ClinicalNote.Status.SIGNED
    note.signed_at = timezone.now()
    _stamp(note, actor).save()
    _log(actor, "update", "clinical_note", note, note.patient_id, request, reason="signed")
    return note


@transaction.atomic
def addendum_add(*, actor: Any, note: ClinicalNote, body: str, request: Any = None) -> Addendum:
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
    *, actor: Any, patient: Patient, icd10_code: str, text: str, note: ClinicalNote | None = None, request: Any = None
) -> Diagnosis:
    author = _clinical(actor, patient)
    code = icd10_code.strip().upper()
    errors = collect(
        {
            "icd10_code": None if ICD10.match(code) else "Use an ICD-10 code such as J45.9.",
            "text": None if text.strip() else "Describe the diagnosis.",
        }
    )
    if errors:
        raise InvalidPatient(fields=errors)
    diagnosis = _stamp(
        Diagnosis(patient=patient, note=note, icd10_code=code, text=text.strip()[:300], recorded_by=author), actor
    )
    diagnosis.save()
    _log(actor, "create", "diagnosis", diagnosis, patient.pk, request)
    return diagnosis


@transaction.atomic
def prescription_add(
    *,
    actor: Any,
    patient: Patient,
    medication: str,
    dose: str,
    frequency: str,
    route: str = "oral",
    duration_days: int | None = None,
    instructions: str = "",
    request: Any = None,
) -> Prescription:
    author = _clinical(actor, patient)
    errors = collect(
        {
            "medication": None if medication.strip() else "Name the medication.",
            "dose": None if dose.strip() else "Give the dose.",
            "frequency": None if frequency.strip() else "Say how often.",
        }
    )
    if errors:
        raise InvalidPatient(fields=errors)
    prescription = _stamp(
        Prescription(
            patient=patient,
            medication=medication.strip(),
            dose=dose.strip(),
            frequency=frequency.strip(),
            route=route.strip() or "oral",
            duration_days=duration_days,
            instructions=instructions.strip(),
            prescriber=author,
        ),
        actor,
    )
    prescription.save()
    _log(actor, "create", "prescription", prescription, patient.pk, request)
    return prescription


@transaction.atomic
def attachment_add(
    *, actor: Any, patient: Patient, upload: UploadedFile, title: str, kind: str = "document", request: Any = None
) -> Attachment:
    """Store a file for the patient through Django's storage. Type (by content, not by name alone)
    and size are checked; the file is only ever served by a view that checks access."""
    author = _clinical(actor, patient)
    guessed = mimetypes.guess_type(upload.name or "")[0]
    head = upload.read(8)
    upload.seek(0)
    # The name says what it claims to be; for the types that have a signature, the bytes must agree.
    genuine = guessed in ATTACHMENT_TYPES and head.startswith(FILE_SIGNATURES.get(guessed or "", b""))
    errors = collect(
        {
            "file": "Files up to 20 MB only."
            if (upload.size or 0) > ATTACHMENT_MAX_BYTES
            else None
            if genuine
            else "Upload a PDF, JPEG, PNG, HEIC, DICOM or plain-text file.",
            "kind": None if kind in Attachment.Kind.values else "Unknown kind.",
            "title": None if title.strip() else "Give the file a title.",
        }
    )
    if errors:
        raise AttachmentRefused(fields=errors)
    attachment = _stamp(
        Attachment(
            patient=patient,
            kind=kind,
            title=title.strip()[:200],
            file=upload,
            content_type=str(guessed),
            original_name=os.path.basename(upload.name or "")[:255],
            size=upload.size or 0,
            uploaded_by=author,
        ),
        actor,
    )
    attachment.save()
    _log(actor, "create", "attachment", attachment, patient.pk, request)
    return attachment


@transaction.atomic
def follow_up_create(
    *, actor: Any, patient: Patient, due_date: date, reason: str, doctor_id: int | None = None, request: Any = None
) -> FollowUp:
    author = _clinical(actor, patient)
    if not reason.strip():
        raise InvalidPatient(fields={"reason": ["Say what the follow-up is for."]})
    follow_up = _stamp(
        FollowUp(
            patient=patient,
            due_date=due_date,
            reason=reason.strip()[:300],
            doctor_id=doctor_id or author.pk,
            created_by=author,
        ),
        actor,
    )
    follow_up.save()
    _log(actor, "create", "follow_up", follow_up, patient.pk, request)
    return follow_up


@transaction.atomic
def follow_up_close(*, actor: Any, follow_up: FollowUp, done: bool = True, request: Any = None) -> FollowUp:
    _clinical(actor, follow_up.patient)
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.status != FollowUp.Status.OPEN:
        raise FollowUpClosed()
    follow_up.status = FollowUp.Status.DONE if done else FollowUp.Status.CANCELLED
    _stamp(follow_up, actor).save()
    _log(actor, "update", "follow_up", follow_up, follow_up.patient_id, request)
    return follow_up
