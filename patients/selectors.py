"""Reads of the patient record: search, duplicates, the chart, the follow-up backlog."""

from __future__ import annotations

import re
from datetime import date

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Lower
from django.utils import timezone

from config import validation
from config.history import HistoryEntry, history_entries
from patients.exceptions import QueryTooShort
from patients.models import DEMOGRAPHIC_FIELDS, BreakGlass, CareRelation, ConsentForm, FollowUp, Patient
from tenants.authz import Actor, authorize
from tenants.org.selectors import phone_region

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MRN = re.compile(r"^P\d{3,}$", re.I)
PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")
SEARCH_CAP = 500


def folded(text: str) -> Func:
    """lower(unaccent(text)), exactly as Patient.search_name is built."""
    return Lower(Func(Value(text), function="public.f_unaccent", output_field=TextField()))


def patient_named(*, patient: Patient, first_name: str, last_name: str) -> bool:
    """Whether a typed first and last name are the patient's, read as name search reads them
    (case, accents and spacing aside)."""
    typed = " ".join(f"{first_name} {last_name}".split())
    stored = " ".join(f"{patient.first_name} {patient.last_name}".split())
    return (
        Patient.objects.filter(pk=patient.pk)
        .alias(typed=folded(typed), stored=folded(stored))
        .filter(typed=F("stored"))
        .exists()
    )


def phone_e164(value: str, *, timezone_name: str | None = None, mobile: bool = False) -> str:
    """A phone number as typed, in E.164 ("" for none), national numbers read in the country of
    the branch's time zone, else the chain's (config.validation.phone_e164); ValueError otherwise.
    With ``mobile``, only a number that can receive text messages (a patient's mobile, an SMS code)."""
    return validation.phone_e164(value, region=phone_region(timezone_name=timezone_name), mobile=mobile)


def patient_search(*, q: str = "", include_merged: bool = False) -> QuerySet[Patient]:
    """Patients matching a query: an MRN, a date of birth (YYYY-MM-DD), a phone number (any
    spacing), or parts of a name (partial, accent- and case-insensitive; every word must match).
    Names use the trigram index on search_name; the others their own indexes."""
    qs = Patient.objects.all()
    if not include_merged:
        qs = qs.filter(merged_into__isnull=True)
    q = (q or "").strip()
    if not q:
        return qs.order_by("last_name", "first_name", "id")
    if MRN.match(q):
        return qs.filter(mrn=q.upper())  # MRNs are stored upper-case: the unique index answers
    if DATE.match(q):
        try:
            return qs.filter(date_of_birth=date.fromisoformat(q))
        except ValueError:
            return qs.none()
    if PHONE.match(q) and sum(c.isdigit() for c in q) >= 6:
        # Part of a number as the desk types it, national form included ("0794600" of +447946000123):
        # its digits without the trunk or international prefix, anywhere in the E.164 (trigram index).
        part = Q(phone__contains=re.sub(r"\D", "", q).lstrip("0"))
        try:
            whole = phone_e164(q)  # a whole number (or what reads as one): the phone index answers
        except ValueError:
            return qs.filter(part)
        return qs.filter(Q(phone=whole) | part)
    words = q.split()[:5]
    long_words = [w for w in words if len(w) >= 3]
    if not long_words:
        raise QueryTooShort()
    matches = qs
    for word in long_words:
        # Folded by the database, as the column was: one unaccent, one lower, for both sides.
        matches = matches.filter(search_name__contains=folded(word))
    # A broad fragment ("smi") can match tens of thousands in a large register. The trigram index
    # finds matches fast but sorting them all is not: take the first SEARCH_CAP found and sort
    # those; the page tells people to type more when that many were found.
    first_found = matches.order_by().values("pk")[:SEARCH_CAP]  # no ORDER BY: stop at the cap
    found = Patient.objects.filter(pk__in=first_found)
    for word in words:
        if len(word) < 3:  # too short for the trigram index: it narrows the candidates instead
            found = found.filter(search_name__contains=folded(word))
    return found.order_by("last_name", "first_name", "id")


def duplicate_candidates(
    *, first_name: str, last_name: str, date_of_birth: date | None, phone: str, exclude_id: int | None = None
) -> list[Patient]:
    """Likely the same person: the same phone, or the same date of birth and a similar name."""
    condition = Q(pk__in=[])
    if phone:
        condition |= Q(phone=phone)
    if date_of_birth:
        similar = Patient.objects.annotate(
            similarity=Func(F("search_name"), folded(f"{first_name} {last_name}"), function="similarity")
        ).filter(date_of_birth=date_of_birth, similarity__gte=0.4)
        condition |= Q(pk__in=similar.values("pk"))
    qs = Patient.objects.filter(condition, merged_into__isnull=True)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("id")[:5])


def follow_up_backlog(*, doctor_id: int | None = None, overdue_only: bool = False) -> QuerySet[FollowUp]:
    qs = FollowUp.objects.filter(status=FollowUp.Status.OPEN).select_related("patient", "doctor__user")
    if doctor_id:
        qs = qs.filter(doctor_id=doctor_id)
    if overdue_only:
        qs = qs.filter(due_date__lt=timezone.localdate())
    return qs.order_by("due_date")


def care_team_current(*, patient: Patient) -> QuerySet[CareRelation]:
    """The patient's care team now: unexpired grants, the doctors' names loaded, newest first."""
    return (
        CareRelation.objects.filter(patient=patient)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .select_related("doctor__user")
        .order_by("doctor_id", "-since")
    )


def break_glass_list(*, actor: Actor) -> QuerySet[BreakGlass]:
    """Every emergency opening of a record (who, which patient, why, when), newest first. Owners only."""
    authorize(actor, "patients.view_audit")
    return BreakGlass.objects.select_related("doctor__user", "patient").order_by("-opened_at", "-id")


def consent_form_list(*, actor: Actor, patient: Patient) -> QuerySet[ConsentForm]:
    """The patient's signed consent forms, newest first, withdrawn ones included (clinical access)."""
    authorize(actor, "patients.view_clinical", patient)
    return ConsentForm.objects.filter(patient=patient).select_related("recorded_by__user", "attachment")


# What an owner sees change on a patient's record: the details, the messaging consents, a merge.
PATIENT_HISTORY_FIELDS = (
    *DEMOGRAPHIC_FIELDS,
    "sms_consent_at",
    "sms_consent_withdrawn_at",
    "email_consent_at",
    "email_consent_withdrawn_at",
    "merged_into",
)
PATIENT_HISTORY_LABELS = {
    "sms_consent_at": "SMS consent given",
    "sms_consent_withdrawn_at": "SMS consent withdrawn",
    "email_consent_at": "E-mail consent given",
    "email_consent_withdrawn_at": "E-mail consent withdrawn",
    "merged_into": "Merged into",
}


def patient_history(*, actor: Actor, patient: Patient) -> list[HistoryEntry]:
    """Who changed this patient's details, when, from what to what (newest first). Owners only."""
    authorize(actor, "patients.view_history", patient)
    records = patient.history.select_related("history_user")
    return history_entries(records, fields=PATIENT_HISTORY_FIELDS, labels=PATIENT_HISTORY_LABELS)
