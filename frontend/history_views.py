"""Change history for owners: who changed an appointment's time, status or doctor, and who changed
a patient's details, when, from what to what (django-simple-history's rows, diffed by the
selectors). Reading either is a read of patient data: it is in the access log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from config.history import HistoryEntry
from frontend.patient_views import log_patient_read
from patients import selectors
from patients.models import Patient
from scheduling.history import appointment_history as appointment_changes
from scheduling.selectors import appointment_list


def _history(
    request: HttpRequest, entries: list[HistoryEntry], *, subject: str, patient_pk: int | None, patient: object
) -> HttpResponse:
    """The history page: the changes to one subject, with the way back to its patient's chart."""
    context = {
        "entries": entries,
        "subject": subject,
        "back_url": reverse("patient-chart", args=[patient_pk]),
        "back_label": f"Back to {patient}",
    }
    return render(request, "history/history.html", context)


@login_required
def patient_history(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    entries = selectors.patient_history(actor=request.user, patient=patient)
    log_patient_read(request, "view", "patient_history", [patient])
    return _history(request, entries, subject=f"{patient} ({patient.mrn})", patient_pk=patient.pk, patient=patient)


@login_required
def appointment_history(request: HttpRequest, pk: int) -> HttpResponse:
    # Only appointments at branches this user sees exist for them (404 otherwise, like the rest).
    appointment = get_object_or_404(appointment_list(actor=request.user), pk=pk)
    entries = appointment_changes(actor=request.user, appointment=appointment)
    log_patient_read(request, "view", "appointment_history", [appointment])
    with timezone.override(appointment.branch.timezone if appointment.branch else None):
        when = timezone.localtime(appointment.start)
        subject = f"{appointment.service} for {appointment.patient}, {date_format(when, 'SHORT_DATETIME_FORMAT')}"
        return _history(
            request, entries, subject=subject, patient_pk=appointment.patient_id, patient=appointment.patient
        )
