"""The desk's bookings ahead: a weekly series for a patient (or one appointment), an override with a
reason for those the rules allow, and the rest of a series cancelled or moved. Each action is one
service call (scheduling.services), the same the API makes."""

from __future__ import annotations

from datetime import time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend.day_picker import month_asked, picker_context
from frontend.forms import DayField, patient_lookup, show_error, to_date, to_int, to_local
from packages.selectors import series_package_counts
from patients.models import Patient
from scheduling import intervals as iv
from scheduling import selectors
from scheduling import services as sched
from scheduling.free_days import FreeTime, day_picker
from scheduling.models import Appointment, Service, Source
from tenants.audit.services import access_log_disclosure, access_log_patients, access_log_rows
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember

WEEKLY = 7


class BookAheadForm(forms.Form):
    # Service and doctor are chosen once, in the free-time finder above the form (or by clicking a
    # free time): the form carries them, so the page has one set of Service/Doctor fields.
    service = forms.ModelChoiceField(queryset=Service.objects.none(), widget=forms.HiddenInput)
    doctor = forms.ModelChoiceField(queryset=StaffMember.objects.none(), widget=forms.HiddenInput)
    day = DayField(widget=forms.DateInput(attrs={"type": "date"}), label="First day")
    at = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="Time")
    count = forms.IntegerField(
        min_value=1,
        max_value=52,
        initial=1,
        label="How many weeks",
        help_text="The same weekday and time every week; 1 books a single appointment.",
    )
    notes = forms.CharField(max_length=500, required=False)
    override = forms.BooleanField(
        required=False,
        label="Override the calendar (book outside shifts or over another booking)",
    )
    override_reason = forms.CharField(max_length=300, required=False, label="Reason for the override")

    def __init__(self, *args: Any, branch: Branch, can_override: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = selectors.services_offered(branch=branch)  # type: ignore[attr-defined]
        doctor = self.fields["doctor"]
        doctor.queryset = selectors.doctors_offering(branch=branch)  # type: ignore[attr-defined]
        doctor.label_from_instance = lambda d: d.user.get_full_name() or d.user.email  # type: ignore[attr-defined]
        if not can_override:  # the checkbox shows only to those the rules let override
            del self.fields["override"]
            del self.fields["override_reason"]


def _patient(request: HttpRequest) -> Patient | None:
    pk = to_int(request.POST.get("patient") or request.GET.get("patient"))
    if pk is None:
        return None
    patient = get_object_or_404(Patient, pk=pk)
    authorize(request.user, "patients.view_patient", patient)
    access_log_patients(request, action="view", patients=[patient])  # the page names them, with the MRN
    return patient


def _search(request: HttpRequest, q: str) -> list[Patient]:
    found, error = patient_lookup(request, q)
    if error:
        messages.error(request, error)
    return found


def _book(request: HttpRequest, branch: Branch, patient: Patient, d: dict[str, Any]) -> HttpResponse | None:
    """One service call: a single appointment (count 1) or a weekly series, all or nothing."""
    start = iv.wall_clock(d["day"], d["at"], ZoneInfo(branch.timezone))
    asked = {
        "actor": request.user,
        "patient": patient,
        "doctor": d["doctor"],
        "branch": branch,
        "service": d["service"],
        "override": bool(d.get("override")),
        "override_reason": d.get("override_reason") or "",
        "notes": d["notes"],
    }
    if d["count"] == 1:
        booked = sched.appointment_book(start=start, source=Source.PHONE, **asked)
        when = f"{date_format(d['day'], 'MONTH_DAY_FORMAT')} at {time_format(d['at'], 'TIME_FORMAT')}"
        messages.success(request, f"{patient} booked on {when}.")
        return redirect(f"/desk/{branch.pk}/?day={booked.span.lower.astimezone(ZoneInfo(branch.timezone)).date()}")
    series, occurrences = sched.series_book(first_start=start, count=d["count"], every_days=WEEKLY, **asked)
    on, made = series_package_counts(appointment_ids=[o.appointment.pk for o in occurrences if o.appointment])
    drawn = ""
    if on:  # each occurrence draws a session from the patient's package while it has one
        drawn = " All on the patient's package." if on == made else f" {on} on the patient's package: "
        drawn += "" if on == made else f"it has no session left for the other {made - on}, paid as usual."
    messages.success(request, f"{patient}: {d['count']} weekly appointments booked.{drawn}")
    return redirect("desk-series", pk=series.pk)


def _prefill(request: HttpRequest, branch: Branch) -> dict[str, Any]:
    """The form as the appointment book or the day picker opens it: ?service=&doctor=&start= (an ISO
    date-time; one without an offset is the branch's wall clock), or just ?day=."""
    tz = ZoneInfo(branch.timezone)
    initial: dict[str, Any] = {"day": to_date(request.GET.get("day"))}
    for name in ("service", "doctor"):
        initial[name] = to_int(request.GET.get(name))
    local = to_local(request.GET.get("start"), tz)  # None beyond the years our dates take
    if local is not None:
        initial |= {"day": local.date(), "at": local.time().replace(second=0, microsecond=0)}
    return initial


def _picker(request: HttpRequest, branch: Branch, patient: Patient, initial: dict[str, Any]) -> dict[str, Any]:
    """The day picker for the service (and doctor) asked: each free time a link that fills the form."""
    services = selectors.services_offered(branch=branch)
    service = services.filter(pk=initial["service"] or 0).first()
    doctors = selectors.doctors_offering(branch=branch, service=service)
    # the doctor asked for (a call-back's, the book's column) stays chosen while the service is picked
    doctor = doctors.filter(pk=initial["doctor"] or 0).select_related("user").first()
    found: dict[str, Any] = {"services": services, "doctors": doctors, "service": service, "doctor": doctor}
    if service is None:
        return found
    picker = day_picker(
        service=service,
        branch=branch,
        day=initial["day"],
        month=month_asked(request.GET.get("month")),
        doctor_ids=[doctor.pk] if doctor else None,
    )
    base = {"patient": patient.pk, "service": service.pk, "doctor": doctor.pk if doctor else ""}

    def link(t: FreeTime) -> str:
        return "?" + urlencode({**base, "doctor": t.doctor_id, "start": t.local.isoformat()}) + "#book-form"

    found |= picker_context(
        picker,
        base=base,
        link=link,
        doctor_name=(doctor.user.get_full_name() or doctor.user.email) if doctor else "",
        price=selectors.service_price_shown(service=service, branch=branch),
    )
    return found | {"doctor": doctor}


@login_required
def book_ahead(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """Find the patient, find a free day and time (or open prefilled from the appointment book:
    ?service=&doctor=&start=), then book a weekly series (or one appointment); one appointment
    lands on the desk's day of the booking."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.book", branch)
    can_override = request.user.has_perm("scheduling.override", branch)
    patient = _patient(request)
    q = request.GET.get("q", "").strip()
    initial = _prefill(request, branch)
    form = BookAheadForm(
        request.POST if request.method == "POST" else None,
        branch=branch,
        can_override=can_override,
        initial=initial,
    )
    if request.method == "POST" and patient is None:
        form.add_error(None, "Choose the patient first.")
    elif request.method == "POST" and form.is_valid():
        try:
            done = _book(request, branch, patient, form.cleaned_data)  # type: ignore[arg-type]
        except ApplicationError as exc:
            access_log_disclosure(actor=request.user, exc=exc, request=request)
            if exc.fields and not set(exc.fields) & set(form.fields):
                form.add_error(None, exc.message)  # a series' refusal: the summary, then each week's rule
            show_error(form, exc)
        else:
            if done is not None:
                return done
    context = {
        "branch": branch,
        "form": form,
        "patient": patient,
        "q": q,
        "found": _search(request, q) if patient is None else [],
        "can_override": can_override,
        "prefill": {k: v for k, v in initial.items() if v is not None},
        # what the desk opened the page with (its day, a clicked slot) survives choosing the patient
        "keep": [(k, v) for k in ("service", "doctor", "start", "day") if (v := request.GET.get(k, ""))],
    }
    if patient is not None:
        context |= _picker(request, branch, patient, initial)
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, "desk/book.html", context)


def _series(request: HttpRequest, pk: int) -> list[Appointment]:
    rows = selectors.series_appointments(actor=request.user, series_id=pk)
    if not rows:
        raise Http404
    return rows


@login_required
def series_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A series' appointments, each with "cancel from here" and "move from here"."""
    rows = _series(request, pk)
    first = rows[0]
    if first.branch is None:
        raise Http404
    authorize(request.user, "scheduling.view_calendar", first.branch)
    access_log_rows(
        actor=request.user,
        object_type="appointment",
        rows=[{"id": a.pk, "patient_id": a.patient_id} for a in rows],
        request=request,
    )
    with timezone.override(ZoneInfo(first.branch.timezone)):
        return render(request, "desk/book_series.html", {"series_id": pk, "rows": rows, "first": first})


def _from_here(request: HttpRequest, pk: int) -> Appointment:
    appointment = next((a for a in _series(request, pk) if a.pk == to_int(request.POST.get("appointment"))), None)
    if appointment is None:
        raise Http404
    return appointment


@login_required
@require_POST
def series_cancel_rest(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _from_here(request, pk)
    if request.POST.get("confirm") != "1":
        messages.error(request, "Nothing was cancelled: open “Cancel the rest” and confirm first.")
        return redirect("desk-series", pk=pk)
    try:
        cancelled = sched.series_cancel_rest(
            actor=request.user, appointment=appointment, reason=request.POST.get("reason", "")
        )
        n = len(cancelled)
        messages.success(
            request,
            ngettext("%(n)d appointment of the series cancelled.", "%(n)d appointments of the series cancelled.", n)
            % {"n": n},
        )
    except ApplicationError as exc:
        access_log_disclosure(actor=request.user, exc=exc, request=request)
        messages.error(request, exc.message)
    return redirect("desk-series", pk=pk)


@login_required
@require_POST
def series_move_rest(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _from_here(request, pk)
    tz = ZoneInfo(appointment.branch.timezone if appointment.branch else "UTC")
    day = to_date(request.POST.get("day"))
    try:
        if day is None:
            raise ValueError
        start = iv.wall_clock(day, time.fromisoformat(request.POST.get("at", "")), tz)
    except ValueError:
        messages.error(request, "Give the new day and time.")
        return redirect("desk-series", pk=pk)
    try:
        moved = sched.series_move_rest(actor=request.user, appointment=appointment, start=start)
        n = len(moved)
        messages.success(
            request,
            ngettext("%(n)d appointment of the series moved.", "%(n)d appointments of the series moved.", n) % {"n": n},
        )
    except ApplicationError as exc:
        access_log_disclosure(actor=request.user, exc=exc, request=request)
        details = " ".join(f"{when[:16].replace('T', ' ')}: {m}" for when, ms in exc.fields.items() for m in ms)
        messages.error(request, f"{exc.message} {details}".strip())
    return redirect("desk-series", pk=pk)
