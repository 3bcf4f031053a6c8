"""Who the patient is: registering, demographics, contact consent, and merging two records of one person."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict, Unpack

from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from config.errors import Disclosure
from config.events import publish
from config.fields import visible_text
from config.validation import collect, email_error
from patients import events
from patients.exceptions import InvalidPatient, MergeRefused, PossibleDuplicates
from patients.models import (
    DEMOGRAPHIC_FIELDS,
    Attachment,
    CareRelation,
    ClinicalNote,
    ConsentForm,
    Diagnosis,
    Encounter,
    FollowUp,
    Patient,
    Prescription,
    Sex,
)
from patients.portal import Contact, booking_code_verify
from patients.selectors import duplicate_candidates, phone_e164
from patients.services._audit import _log, _saved
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize
from tenants.org.rules import staff_of
from tenants.selectors import current_schema


def _clean_demographics(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    errors: dict[str, list[str]] = {}
    for name in ("first_name", "last_name"):
        if name in out:
            out[name] = (out[name] or "").strip()
            if not visible_text(out[name]):  # empty, or only invisible characters (zero-width, controls)
                errors[name] = ["This cannot be empty."]
    for name in ("phone", "emergency_contact_phone"):
        if name in out:
            try:
                # The patient's phone is the mobile the clinic texts (reminders, portal codes); an
                # emergency contact may be any number.
                out[name] = phone_e164(out[name], mobile=name == "phone")
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
    errors.update(collect({"email": email_error(out["email"]) if out.get("email") else None}))
    if errors:
        raise InvalidPatient(fields=errors)
    return out


class MoreDemographics(TypedDict, total=False):
    """What a patient's record holds beyond what registering asks for."""

    sex: str
    address_line: str
    city: str
    postcode: str
    country: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relation: str
    preferred_language: str


class Demographics(MoreDemographics, total=False):
    """Any of a patient's details (DEMOGRAPHIC_FIELDS): what staff may change."""

    first_name: str
    last_name: str
    date_of_birth: date | None
    phone: str
    email: str


@dataclass(frozen=True)
class ConsentChoice:
    """What a patient says about messages (notifications.policy's rule): texts or not; by e-mail
    about their visits only (the default: nothing recorded), follow-ups too, or no e-mails at all."""

    sms: bool = False
    email_follow_ups: bool = False
    no_emails: bool = False

    @classmethod
    def of(cls, patient: Patient) -> ConsentChoice:
        """What ``patient`` said, as on record now."""
        opted_out = patient.email_consent_withdrawn_at is not None and not patient.consents_to("email")
        return cls(sms=patient.consents_to("sms"), email_follow_ups=patient.consents_to("email"), no_emails=opted_out)


#: The one combination refused: follow-ups by e-mail and no e-mails at all.
BOTH_E_MAIL_CHOICES = "Tick one: follow-ups by e-mail too, or no e-mails at all."


@transaction.atomic
def consent_choose(
    *, actor: Actor, patient: Patient, choice: ConsentChoice, request: HttpRequest | None = None
) -> Patient:
    """Record what the patient says now: only what differs from the record is written (a consent
    given or withdrawn, or back to the default), so an unchanged choice leaves no trace."""
    authorize(actor, "patients.change_patient", patient)
    if choice.no_emails and choice.email_follow_ups:
        raise InvalidPatient(fields={"email_withdrawn": [BOTH_E_MAIL_CHOICES]})
    was = ConsentChoice.of(patient)
    if choice.sms != was.sms:
        patient = consent_set(actor=actor, patient=patient, channel="sms", given=choice.sms, request=request)
    if choice.no_emails and not was.no_emails:
        patient = consent_set(actor=actor, patient=patient, channel="email", given=False, request=request)
    elif choice.email_follow_ups and not was.email_follow_ups:
        patient = consent_set(actor=actor, patient=patient, channel="email", given=True, request=request)
    elif not (choice.no_emails or choice.email_follow_ups) and (was.no_emails or was.email_follow_ups):
        patient = consent_clear(actor=actor, patient=patient, channel="email", request=request)
    return patient


@transaction.atomic
def patient_create(
    *,
    actor: Actor,
    first_name: str,
    last_name: str,
    date_of_birth: date | None = None,
    phone: str = "",
    email: str = "",
    ignore_duplicates: bool = False,
    consent: ConsentChoice | None = None,
    request: HttpRequest | None = None,
    **more: Unpack[MoreDemographics],
) -> Patient:
    """Register a patient, with what they said about messages (``consent``) if asked. Likely
    duplicates (same phone, or same date of birth with a similar name) are refused with 409
    possible_duplicates naming them, unless ignore_duplicates."""
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
        }
        | dict(more)
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
    if consent is not None and consent.no_emails and consent.email_follow_ups:
        raise InvalidPatient(fields={"email_withdrawn": [BOTH_E_MAIL_CHOICES]})
    patient = changed_by(Patient(**values), actor)
    patient.save()  # first: the access-log row names the new record's id
    _log(actor, "create", "patient", patient, patient.pk, request)
    if consent is not None:
        patient = consent_choose(actor=actor, patient=patient, choice=consent, request=request)
    return patient


def _lock_contact(contact: str) -> None:
    """Hold registrations of one contact in this chain until the transaction ends. Two online
    bookings at once with one new e-mail would each find nobody and register two patients; with the
    lock the second waits, then finds the first's record (READ COMMITTED sees it once committed)."""
    seed = hashlib.sha256(f"{current_schema()}:patient-contact:{contact}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(seed[:8], "big", signed=True)])


@transaction.atomic
def patient_self_register(
    *, first_name: str, last_name: str, email: str = "", phone: str = "", request: HttpRequest | None = None
) -> Patient:
    """A patient booking online, after proving they hold the e-mail address or phone number by a
    one-time code. An existing record with that verified address is reused, not duplicated."""
    values = _clean_demographics({"first_name": first_name, "last_name": last_name, "email": email, "phone": phone})
    if not (values["email"] or values["phone"]):
        raise InvalidPatient(fields={"email": ["Give an e-mail address or a mobile number."]})
    _lock_contact(values["email"] or values["phone"])
    match = Patient.objects.filter(merged_into__isnull=True)
    match = match.filter(email=values["email"]) if values["email"] else match.filter(phone=values["phone"])
    patient = match.order_by("pk").first()
    if patient is None:
        patient = Patient(**values)
        patient.save()
        _log(None, "create", "patient", patient, patient.pk, request, reason="registered online")
    return patient


def patient_proved_by_code(
    *,
    first_name: str,
    last_name: str,
    challenge: str,
    code: str,
    ip: str | None,
    request: HttpRequest | None = None,
) -> tuple[Patient, Contact]:
    """A visitor of the booking page proved by its one-time code (patients.portal): the contact the
    code reached and the patient found by it or registered, in the caller's transaction (the code is
    spent when it commits; a refusal later rolls both back)."""
    contact = booking_code_verify(challenge=challenge, code=code, ip=ip)
    patient = patient_self_register(
        first_name=first_name,
        last_name=last_name,
        email=contact.destination if contact.channel == "email" else "",
        phone=contact.destination if contact.channel == "sms" else "",
        request=request,
    )
    return patient, contact


@transaction.atomic
def patient_update(
    *,
    actor: Actor,
    patient: Patient,
    consent: ConsentChoice | None = None,
    request: HttpRequest | None = None,
    **fields: Unpack[Demographics],
) -> Patient:
    """Change the details given; a detail left out keeps its value. With ``consent``, what the
    patient says about messages now (only a change is recorded, ``consent_choose``)."""
    authorize(actor, "patients.change_patient", patient)
    unknown = set(fields) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise InvalidPatient(fields={k: ["This cannot be changed here."] for k in sorted(unknown)})
    values = _clean_demographics(dict(fields))
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    for key, value in values.items():
        setattr(patient, key, value)
    _saved(patient, actor, "update", "patient", patient.pk, request)
    if consent is not None:
        patient = consent_choose(actor=actor, patient=patient, choice=consent, request=request)
    return patient


@transaction.atomic
def consent_set(
    *, actor: Actor, patient: Patient, channel: str, given: bool, request: HttpRequest | None = None
) -> Patient:
    """Record that a patient gave or withdrew consent to be contacted on a channel, and when."""
    authorize(actor, "patients.change_patient", patient)
    if channel not in ("sms", "email"):
        raise InvalidPatient(fields={"channel": ["Use sms or email."]})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    setattr(patient, f"{channel}_consent_at" if given else f"{channel}_consent_withdrawn_at", timezone.now())
    changed_by(patient, actor).save()
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


@transaction.atomic
def consent_clear(*, actor: Actor, patient: Patient, channel: str, request: HttpRequest | None = None) -> Patient:
    """Record that the patient takes back what they said on a channel, given or withdrawn: the rule's
    default again (e-mail about their visits, no follow-ups; no texts). The history keeps both times."""
    authorize(actor, "patients.change_patient", patient)
    if channel not in ("sms", "email"):
        raise InvalidPatient(fields={"channel": ["Use sms or email."]})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    setattr(patient, f"{channel}_consent_at", None)
    setattr(patient, f"{channel}_consent_withdrawn_at", None)
    changed_by(patient, actor).save()
    _log(actor, "update", "consent", patient, patient.pk, request, reason=f"{channel} back to the default")
    return patient


def _merge_widens_own_access(actor: Actor, keep: Patient, merge: Patient) -> bool:
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
def patient_merge(*, actor: Actor, keep: Patient, merge: Patient, request: HttpRequest | None = None) -> Patient:
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
    changed_by(merge, actor, reason=f"merged into {keep.mrn}").save()
    for model in (Encounter, ClinicalNote, Diagnosis, Prescription, Attachment, FollowUp, ConsentForm):
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
    changed_by(keep, actor, reason=f"merged {merge.mrn} into this record").save()
    _log(actor, "update", "patient_merge", keep, keep.pk, request, reason=f"merged {merge.mrn} into {keep.mrn}")
    _log(actor, "update", "patient_merge", merge, merge.pk, request, reason=f"merged into {keep.mrn}")
    return keep
