"""The care team on the patient's chart (owners and managers add and remove doctors) and the owners'
list of emergency (break-glass) openings."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from frontend.forms import flash
from patients import selectors, services
from patients.models import Patient
from tenants.audit.services import access_log_rows
from tenants.org.models import Role, StaffMember
from tenants.org.selectors import staff_with_role


class CareTeamForm(forms.Form):
    doctor = forms.ModelChoiceField(queryset=StaffMember.objects.none(), label="Add a doctor to the care team")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        doctors = staff_with_role(Role.DOCTOR).select_related("user").order_by("user__last_name")
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]
        self.fields["doctor"].label_from_instance = lambda s: s.user.get_full_name() or s.user.email  # type: ignore[attr-defined]


@login_required
@require_POST
def care_team_assign(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    form = CareTeamForm(request.POST)
    if form.is_valid():
        doctor = form.cleaned_data["doctor"]
        flash(
            request,
            lambda: services.care_team_assign(actor=request.user, patient=patient, doctor=doctor, request=request),
            f"{doctor} is in {patient}'s care team.",
        )
    else:
        messages.error(request, "Choose a doctor.")
    return redirect("patient-chart", pk=pk)


@login_required
@require_POST
def care_team_unassign(request: HttpRequest, pk: int, doctor_pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    doctor = get_object_or_404(StaffMember, pk=doctor_pk)
    flash(
        request,
        lambda: services.care_team_unassign(actor=request.user, patient=patient, doctor=doctor, request=request),
        f"{doctor} no longer has access to {patient}'s clinical record.",
    )
    return redirect("patient-chart", pk=pk)


@login_required
def emergency_access(request: HttpRequest) -> HttpResponse:
    """Owners review every break-glass opening: who, which patient, why, when."""
    openings = selectors.break_glass_list(actor=request.user)
    page = Paginator(openings, 100).get_page(request.GET.get("page"))
    # The list names patients: reading it is in the access log too.
    rows = [{"id": g.pk, "patient_id": g.patient_id} for g in page]
    access_log_rows(actor=request.user, object_type="break_glass", rows=rows, request=request)
    return render(request, "patients/emergency_access.html", {"page": page})
