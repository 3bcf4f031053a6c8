"""Signed consent forms: recording one, and withdrawing it. Part of the clinical record: only a
doctor with clinical access to the patient (care team or break-glass) records or withdraws one.
Each write checks the actor, runs in one transaction, leaves a history row naming who and an
access-log row for the patient."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from config.validation import require_valid
from patients.exceptions import ConsentFormWithdrawn, InvalidPatient
from patients.models import Attachment, ConsentForm, Patient
from patients.services._audit import _saved
from tenants.authz import Actor, authorize
from tenants.org.models import StaffMember
from tenants.org.rules import staff_of


def _clinician(actor: Actor, patient: Patient) -> StaffMember:
    authorize(actor, "patients.write_clinical", patient)
    staff = staff_of(actor)
    if staff is None:  # write_clinical is a clinician's permission, and a clinician is staff
        raise InvalidPatient(fields={"recorded_by": ["Only staff record consent forms."]})
    return staff


@transaction.atomic
def consent_form_record(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    title: str,
    signed_on: date,
    signed_by: str = ConsentForm.Signer.PATIENT,
    signer_name: str = "",
    attachment: Attachment | None = None,
    request: HttpRequest | None = None,
) -> ConsentForm:
    """Record a consent form the patient (or a guardian or representative, named) signed on a day
    not in the future, with the scanned form if it was uploaded to this patient's attachments."""
    recorder = _clinician(actor, patient)
    signer_name = signer_name.strip()
    require_valid(
        InvalidPatient,
        {
            "kind": None if kind in ConsentForm.Kind.values else "Choose what the form consents to.",
            "title": None if title.strip() else "Give the form a title, e.g. Consent to minor surgery.",
            "signed_on": None if signed_on <= timezone.localdate() else "A form cannot be signed in the future.",
            "signed_by": None if signed_by in ConsentForm.Signer.values else "Say who signed the form.",
            "signer_name": "Name the person who signed for the patient."
            if signed_by != ConsentForm.Signer.PATIENT and not signer_name
            else None,
            "attachment": "Choose a file of this patient."
            if attachment is not None and attachment.patient_id != patient.pk
            else None,
        },
    )
    form = ConsentForm(
        patient=patient,
        kind=kind,
        title=title.strip()[:200],
        signed_on=signed_on,
        signed_by=signed_by,
        signer_name="" if signed_by == ConsentForm.Signer.PATIENT else signer_name[:200],
        attachment=attachment,
        recorded_by=recorder,
    )
    return _saved(form, actor, "create", "consent_form", patient.pk, request)


@transaction.atomic
def consent_form_withdraw(
    *,
    actor: Actor,
    consent_form: ConsentForm,
    reason: str,
    withdrawn_on: date | None = None,
    request: HttpRequest | None = None,
) -> ConsentForm:
    """The patient withdrew this consent (today unless told, never before it was signed nor in the
    future). A form is withdrawn once: a second withdrawal is 409 consent_form_withdrawn."""
    form = ConsentForm.objects.select_for_update().get(pk=consent_form.pk)
    recorder = _clinician(actor, form.patient)
    if form.withdrawn_on is not None:
        raise ConsentFormWithdrawn()
    day = withdrawn_on or timezone.localdate()
    require_valid(
        InvalidPatient,
        {
            "reason": None if reason.strip() else "Say why, or how the patient withdrew it.",
            "withdrawn_on": "A form cannot be withdrawn before it was signed."
            if day < form.signed_on
            else "A form cannot be withdrawn in the future."
            if day > timezone.localdate()
            else None,
        },
    )
    form.withdrawn_on, form.withdrawal_reason, form.withdrawn_by = day, reason.strip()[:300], recorder
    return _saved(form, actor, "update", "consent_form", form.patient_id, request, reason="withdrawn")
