"""Patient pages: search, registration, the chart, the note editor, the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend import record_forms as rv
from frontend.care_views import CareTeamForm
from frontend.consent_fields import ConsentFields
from frontend.forms import flash, patient_lookup, show_error, submit, to_int
from patients import selectors, services
from patients.exceptions import PossibleDuplicates
from patients.models import ClinicalNote, Patient, Sex
from scheduling.no_shows import no_show_record
from scheduling.selectors import appointment_list
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_disclosure, access_log_response, access_log_trail_read
from tenants.authz import authorize
from tenants.org.selectors import chain_settings_get


class PatientForm(ConsentFields):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(choices=Sex.choices, initial=Sex.UNKNOWN)
    phone = forms.CharField(
        max_length=32,
        required=False,
        label="Mobile",
        help_text="A number that can receive text messages, as you dial it, e.g. 07911 123456 or +44 7911 123456.",
    )
    address_line = forms.CharField(max_length=200, required=False, label="Address")
    city = forms.CharField(max_length=100, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    emergency_contact_name = forms.CharField(max_length=200, required=False, label="Emergency contact")
    emergency_contact_phone = forms.CharField(max_length=32, required=False, label="Emergency contact phone")
    ignore_duplicates = forms.BooleanField(required=False, label="This is a different person: register anyway")


class NoteForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), label="Note")


class AddendumForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Addendum")


class BreakGlassForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Why you need this record now (it is audited).")


@login_required
def patient_search(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "patients.add_patient")
    q = request.GET.get("q", "").strip()
    results, error = patient_lookup(request, q, limit=50)
    template = "patients/_results.html" if request.htmx else "patients/search.html"  # type: ignore[attr-defined]
    return render(request, template, {"q": q, "results": results, "error": error})


@login_required
def patient_create(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "patients.add_patient")
    form = PatientForm(request.POST or None)
    duplicates: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(
                actor=request.user, consent=form.consent(), request=request, **form.demographics()
            )
        except PossibleDuplicates as exc:
            access_log_disclosure(actor=request.user, exc=exc, request=request)
            # The list comes from the selector the refusal used, read with the same details.
            data = form.cleaned_data
            duplicates = selectors.duplicate_candidates(
                first_name=data["first_name"],
                last_name=data["last_name"],
                date_of_birth=data["date_of_birth"],
                phone=selectors.phone_e164(data["phone"]),
            )
            form.add_error(None, exc.message + " Open one of them, or tick the box to register anyway.")
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"{patient} registered as {patient.mrn}.")
            return redirect("patient-chart", pk=patient.pk)
    return render(request, "patients/form.html", {"form": form, "duplicates": duplicates})


def log_patient_read(request: HttpRequest, action: str, object_type: str, rows: Sequence[Model]) -> None:
    """Log the records a page shows: patients themselves, or rows of their record (``patient_id``)."""
    patient_ids = [r.pk if isinstance(r, Patient) else r.patient_id for r in rows]  # type: ignore[attr-defined]
    access_log_response(
        request, action=action, object_type=object_type, object_ids=[r.pk for r in rows], patient_ids=patient_ids
    )


# The chart's sections: the overview for everyone who may see the patient, the rest of the
# clinical record for those with clinical access. One section at a time keeps the page short.
SECTIONS = {
    "overview": "Overview",
    "diagnoses": "Diagnoses and prescriptions",
    "attachments": "Attachments",
    "follow-ups": "Follow-ups",
    "consent": "Consent forms",
}


def _section_context(request: HttpRequest, patient: Patient, section: str, forms: dict[str, Any]) -> dict[str, Any]:
    can_write = request.user.has_perm("patients.write_clinical", patient)
    context: dict[str, Any] = {}
    if section == "diagnoses":
        context["diagnoses"] = list(patient.diagnoses.select_related("recorded_by__user"))
        context["prescriptions"] = list(patient.prescriptions.select_related("prescriber__user"))
        log_patient_read(request, "list", "diagnosis", context["diagnoses"])
        log_patient_read(request, "list", "prescription", context["prescriptions"])
        if can_write:
            context["diagnosis_form"] = forms.get("diagnosis_form") or rv.DiagnosisForm(
                prefix="diagnosis", patient=patient
            )
            context["prescription_form"] = forms.get("prescription_form") or rv.PrescriptionForm(
                prefix="prescription", patient=patient
            )
    elif section == "attachments":
        context["attachments"] = list(patient.attachments.select_related("uploaded_by__user"))
        log_patient_read(request, "list", "attachment", context["attachments"])
        if can_write:
            context["attachment_form"] = forms.get("attachment_form") or rv.AttachmentForm(
                prefix="attachment", patient=patient
            )
    elif section == "follow-ups":
        context["follow_ups"] = list(patient.follow_ups.select_related("doctor__user"))
        context["close_form"] = forms.get("close_form")
        log_patient_read(request, "list", "follow_up", context["follow_ups"])
        if can_write:
            context["follow_up_form"] = forms.get("follow_up_form") or rv.FollowUpForm(
                prefix="follow_up", patient=patient
            )
    elif section == "consent":
        rows = list(selectors.consent_form_list(actor=request.user, patient=patient))
        log_patient_read(request, "list", "consent_form", rows)
        bound = forms.get("withdraw_forms", {})
        context["consent_forms"] = [
            (f, bound.get(f.pk) or rv.WithdrawForm(prefix=f"withdraw-{f.pk}") if f.is_active and can_write else None)
            for f in rows
        ]
        if can_write:
            context["consent_form"] = forms.get("consent_form") or rv.ConsentFormForm(prefix="consent", patient=patient)
    else:
        context["notes"] = list(patient.notes.select_related("author__user").prefetch_related("addenda__author__user"))
        context["encounters"] = list(patient.encounters.select_related("doctor__user"))
        log_patient_read(request, "list", "clinical_note", context["notes"])
    return context


def render_chart(
    request: HttpRequest, patient: Patient, section: str = "overview", forms: dict[str, Any] | None = None
) -> HttpResponse:
    """The chart with one section open; ``forms`` are bound forms a refused change brings back."""
    authorize(request.user, "patients.view_patient", patient)
    clinical = request.user.has_perm("patients.view_clinical", patient)
    if section not in SECTIONS or not clinical:
        section = "overview"
    context: dict[str, Any] = {
        "patient": patient,
        "no_shows": no_show_record(patient_id=patient.pk),  # the no-show flag, in words, on every section
        "clinical": clinical,
        "section": section,
        "sections": SECTIONS if clinical else {},
        "can_write": request.user.has_perm("patients.write_clinical", patient),
        "can_edit": request.user.has_perm("patients.change_patient", patient),
        "can_merge": request.user.has_perm("patients.merge_patient") and not patient.merged_into_id,
        "can_history": request.user.has_perm("patients.view_history", patient),
        "can_audit": request.user.has_perm("patients.view_audit"),
    }
    log_patient_read(request, "view", "patient", [patient])
    if section == "overview":
        context |= {
            "can_break_glass": not clinical and request.user.has_perm("patients.break_glass", patient),
            "appointments": list(appointment_list(actor=request.user).filter(patient=patient).order_by("-span")[:20]),
            "glass_form": BreakGlassForm(),
            "care_team": list(selectors.care_team_current(patient=patient)),
            "can_assign": request.user.has_perm("patients.assign_care", patient),
        }
        if context["can_assign"]:
            context["care_form"] = CareTeamForm()
    if clinical:
        context |= _section_context(request, patient, section, forms or {})
    # times on the chain's wall clock for their date (an appointment: its branch's, in the template)
    with timezone.override(ZoneInfo(chain_settings_get().default_timezone)):
        return render(request, "patients/chart.html", context)


@login_required
def patient_chart(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    return render_chart(request, patient, request.GET.get("section", "overview"))


@login_required
@require_POST
def break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        flash(
            request,
            lambda: services.break_glass_open(
                actor=request.user, patient=patient, reason=form.cleaned_data["reason"], request=request
            ),
            "Emergency access opened for 4 hours. It is recorded.",
        )
    return redirect("patient-chart", pk=pk)


@login_required
def note_edit(request: HttpRequest, pk: int, note_pk: int | None = None) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    authorize(request.user, "patients.write_clinical", patient)
    note = get_object_or_404(ClinicalNote, pk=note_pk, patient=patient) if note_pk else None
    if note is not None and note.status == ClinicalNote.Status.SIGNED:
        return redirect("patient-chart", pk=pk)
    form = NoteForm(request.POST or None, initial={"title": note.title, "body": note.body} if note else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def save() -> ClinicalNote:
            saved = (
                services.note_update(actor=request.user, note=note, title=d["title"], body=d["body"], request=request)
                if note
                else services.note_create(
                    actor=request.user,
                    patient=patient,
                    title=d["title"],
                    body=d["body"],
                    appointment_id=to_int(request.GET.get("appointment")),
                    request=request,
                )
            )
            if "sign" in request.POST:
                saved = services.note_sign(actor=request.user, note=saved, request=request)
            return saved

        saved = submit(form, save)
        if saved:
            messages.success(request, "Note signed." if saved.status == "signed" else "Draft saved.")
            return redirect("patient-chart", pk=pk)
    log_patient_read(request, "view", "clinical_note" if note else "patient", [note or patient])
    return render(request, "patients/note_form.html", {"form": form, "patient": patient, "note": note})


@login_required
@require_POST
def addendum_add(request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
    note = get_object_or_404(ClinicalNote, pk=note_pk, patient_id=pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.addendum_add(actor=request.user, note=note, body=form.cleaned_data["body"], request=request)
            messages.success(request, "Addendum added.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("patient-chart", pk=pk)


@login_required
def patient_audit(request: HttpRequest, pk: int) -> HttpResponse:
    authorize(request.user, "patients.view_audit")
    patient = get_object_or_404(Patient, pk=pk)
    page = Paginator(AccessLog.objects.filter(patient_id=pk), 100).get_page(request.GET.get("page"))
    access_log_trail_read(actor=request.user, rows=page.object_list, request=request)
    return render(request, "patients/audit.html", {"page": page, "subject": f"{patient} ({patient.mrn})"})


@login_required
def user_audit(request: HttpRequest, pk: int) -> HttpResponse:
    authorize(request.user, "patients.view_audit")
    page = Paginator(AccessLog.objects.filter(actor_id=pk), 100).get_page(request.GET.get("page"))
    label = AccessLog.objects.filter(actor_id=pk).values_list("actor_label", flat=True).first() or f"user {pk}"
    access_log_trail_read(actor=request.user, rows=page.object_list, request=request)
    return render(request, "patients/audit.html", {"page": page, "subject": label})
