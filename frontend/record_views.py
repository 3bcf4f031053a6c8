"""The clinical record on the chart: diagnoses, prescriptions, attachments, follow-ups and signed
consent forms (each added through the service the API uses), staff edits of a patient's details,
and the merge of two records of one person. A refusal is a form error on the chart, never an
error page; every page that shows patient data writes the access log."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from frontend.consent_fields import consent_initial
from frontend.forms import submit, to_int
from frontend.patient_views import PatientForm, log_patient_read, render_chart
from frontend.record_forms import (
    AttachmentForm,
    ConsentFormForm,
    DiagnosisForm,
    FollowUpForm,
    PrescriptionForm,
    RecordForm,
    WithdrawForm,
)
from patients import selectors, services
from patients.models import ConsentForm, FollowUp, Patient
from tenants.authz import authorize

_Added = TypeVar("_Added")


class PatientEditForm(PatientForm):
    country = forms.CharField(max_length=2, required=False, help_text="Two letters, e.g. GB.")
    emergency_contact_relation = forms.CharField(max_length=60, required=False, label="Emergency contact is the")
    preferred_language = forms.CharField(max_length=16, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        del self.fields["ignore_duplicates"]


def _patient(request: HttpRequest, pk: int) -> Patient:
    """The patient of a clinical change; anyone without clinical access is refused (403) up front."""
    patient = get_object_or_404(Patient, pk=pk)
    authorize(request.user, "patients.write_clinical", patient)
    return patient


def _done(request: HttpRequest, patient: Patient, section: str, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(f"{reverse('patient-chart', args=[patient.pk])}?section={section}#{section}")


def _adds(
    form_class: type[RecordForm],
    *,
    prefix: str,
    section: str,
    add: Callable[..., _Added],
    message: Callable[[_Added], str],
    renamed: dict[str, str] | None = None,
) -> Callable[[HttpRequest, int], HttpResponse]:
    """The page that adds one entry to a section of the chart: the form (named by `prefix` on the
    chart), the service that adds it (given the form's fields, under the names in `renamed` where
    the service's differ), and the message that names what was added."""

    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        patient = _patient(request, pk)
        form = form_class(request.POST, request.FILES, prefix=prefix, patient=patient)
        if form.is_valid():
            fields = {(renamed or {}).get(name, name): value for name, value in form.cleaned_data.items()}
            added = submit(form, lambda: add(actor=request.user, patient=patient, request=request, **fields))
            if added:
                return _done(request, patient, section, message(added))
        return render_chart(request, patient, section, {f"{prefix}_form": form})

    return view


diagnosis_add = _adds(
    DiagnosisForm,
    prefix="diagnosis",
    section="diagnoses",
    add=services.diagnosis_add,
    message=lambda added: f"Diagnosis {added.icd10_code} added.",
)
prescription_add = _adds(
    PrescriptionForm,
    prefix="prescription",
    section="diagnoses",
    add=services.prescription_add,
    message=lambda added: f"{added} prescribed.",
)
attachment_add = _adds(
    AttachmentForm,
    prefix="attachment",
    section="attachments",
    add=services.attachment_add,
    message=lambda added: f"{added.title} uploaded.",
    renamed={"file": "upload"},
)
follow_up_create = _adds(
    FollowUpForm,
    prefix="follow_up",
    section="follow-ups",
    add=services.follow_up_create,
    message=lambda added: f"Follow-up due by {date_format(added.due_date, 'SHORT_DATE_FORMAT')} added.",
)
consent_form_record = _adds(
    ConsentFormForm,
    prefix="consent",
    section="consent",
    add=services.consent_form_record,
    message=lambda added: f"{added.title} recorded.",
)


@login_required
@require_POST
def follow_up_close(request: HttpRequest, pk: int, follow_up_pk: int) -> HttpResponse:
    follow_up = get_object_or_404(FollowUp.objects.select_related("patient"), pk=follow_up_pk, patient_id=pk)
    authorize(request.user, "patients.write_clinical", follow_up.patient)
    done = request.POST.get("outcome") != "cancelled"
    form = forms.Form(request.POST)
    closed = submit(
        form, lambda: services.follow_up_close(actor=request.user, follow_up=follow_up, done=done, request=request)
    )
    if closed:
        return _done(request, follow_up.patient, "follow-ups", f"Follow-up {closed.get_status_display().lower()}.")
    return render_chart(request, follow_up.patient, "follow-ups", {"close_form": form})


@login_required
@require_POST
def consent_form_withdraw(request: HttpRequest, pk: int, form_pk: int) -> HttpResponse:
    consent = get_object_or_404(ConsentForm.objects.select_related("patient"), pk=form_pk, patient_id=pk)
    authorize(request.user, "patients.write_clinical", consent.patient)
    form = WithdrawForm(request.POST, prefix=f"withdraw-{consent.pk}")
    if form.is_valid():
        withdrawn = submit(
            form,
            lambda: services.consent_form_withdraw(
                actor=request.user, consent_form=consent, request=request, **form.cleaned_data
            ),
        )
        if withdrawn:
            return _done(request, consent.patient, "consent", f"{withdrawn.title} withdrawn.")
    return render_chart(request, consent.patient, "consent", {"withdraw_forms": {consent.pk: form}})


@login_required
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff correct a patient's details (front desk, clinicians, managers, owners: as the API)."""
    patient = get_object_or_404(Patient, pk=pk)
    authorize(request.user, "patients.change_patient", patient)
    initial = {name: getattr(patient, name) for name in PatientEditForm.base_fields if hasattr(patient, name)}
    form = PatientEditForm(request.POST or None, initial=initial | consent_initial(patient))
    if request.method == "POST" and form.is_valid():
        changed = {name: value for name, value in form.demographics().items() if name in form.changed_data}
        saved = submit(
            form,
            lambda: services.patient_update(
                actor=request.user, patient=patient, consent=form.consent(), request=request, **changed
            ),
        )
        if saved:
            messages.success(request, f"{saved}'s details saved.")
            return redirect("patient-chart", pk=pk)
    else:
        log_patient_read(request, "view", "patient", [patient])
    return render(request, "patients/edit.html", {"form": form, "patient": patient})


class MergeForm(forms.Form):
    other = forms.ModelChoiceField(queryset=Patient.objects.filter(merged_into__isnull=True), widget=forms.HiddenInput)
    keep = forms.ChoiceField(
        choices=[("this", "Keep this record"), ("other", "Keep the other record")],
        widget=forms.RadioSelect,
        initial="this",
        label="Which record stays",
        help_text="The other record's appointments, clinical record and care team move to the one that stays.",
    )


@login_required
def patient_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick the duplicate of this record, see both side by side, confirm. Owners and managers."""
    authorize(request.user, "patients.merge_patient")
    patient = get_object_or_404(Patient, pk=pk, merged_into__isnull=True)
    other_pk = to_int(request.POST.get("other") or request.GET.get("other"))
    other = get_object_or_404(Patient, pk=other_pk, merged_into__isnull=True) if other_pk else None
    form = MergeForm(request.POST or None, initial={"other": other_pk})
    if request.method == "POST" and form.is_valid():
        other = form.cleaned_data["other"]
        keep, merge = (patient, other) if form.cleaned_data["keep"] == "this" else (other, patient)
        kept = submit(form, lambda: services.patient_merge(actor=request.user, keep=keep, merge=merge, request=request))
        if kept:
            messages.success(request, f"{merge.mrn} was merged into {kept.mrn}.")
            return redirect("patient-chart", pk=kept.pk)
    q = request.GET.get("q", "").strip()
    candidates: list[Patient] = []
    if other is None:
        if q:
            candidates = [p for p in selectors.patient_search(q=q)[:20] if p.pk != patient.pk]
        else:
            candidates = selectors.duplicate_candidates(
                first_name=patient.first_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth,
                phone=patient.phone,
                exclude_id=patient.pk,
            )
    shown = [patient, *([other] if other else []), *candidates]
    log_patient_read(request, "view" if other else "list", "patient", shown)
    context = {"patient": patient, "other": other, "candidates": candidates, "q": q, "form": form}
    return render(request, "patients/merge.html", context)
