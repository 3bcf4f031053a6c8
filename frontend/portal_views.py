"""The patient portal: sign in with a one-time code, see and change one's own appointments and
contact details. Every action goes through the same services, as the patient."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.fields import parse_datetime
from config.net import client_ip
from frontend.day_picker import month_asked, picker_context
from frontend.forms import appointment_shown, show_error, to_date, to_int
from frontend.patient_views import log_patient_read
from notifications import policy as consent
from patients import portal
from patients.models import Patient
from scheduling import services as sched
from scheduling.cancel_window import call_the_branch, inside_cancellation_window
from scheduling.free_days import day_picker
from scheduling.models import ACTIVE_STATUSES, Appointment, Status
from scheduling.selectors import policy_get, service_price_shown
from scheduling.services.lifecycle import MOVABLE
from tenants.org.selectors import chain_settings_get


class IdentifierForm(forms.Form):
    identifier = forms.CharField(max_length=254, label="Your e-mail address or mobile number")
    # Left empty by people; bots fill every field.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label="The six-digit code we sent you")


class ProfileForm(forms.Form):
    phone = forms.CharField(max_length=32, required=False, label="Mobile number")
    email = forms.EmailField(required=False, label="E-mail", help_text=consent.OWN_EMAIL_HELP)
    address_line = forms.CharField(max_length=200, required=False, label="Address")
    city = forms.CharField(max_length=100, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    sms_consent = forms.BooleanField(required=False, label=consent.OWN_SMS_CONSENT_LABEL)
    email_consent = forms.BooleanField(required=False, label=consent.OWN_EMAIL_FOLLOW_UPS_LABEL)
    email_withdrawn = forms.BooleanField(required=False, label=consent.OWN_EMAIL_WITHDRAWN_LABEL)


def patient_required(view: Any) -> Any:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patient = portal.patient_of(request.user)
        if patient is None:
            return redirect("portal-login")
        return view(request, patient, *args, **kwargs)

    return wrapper


def _client_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def portal_login(request: HttpRequest) -> HttpResponse:
    form = IdentifierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["website"]:  # the honeypot: pretend all went well
            return redirect("portal-verify")
        identifier = form.cleaned_data["identifier"]
        try:
            portal.portal_code_request(identifier=identifier, ip=_client_ip(request))
        except ApplicationError as exc:
            show_error(form, exc)
        else:  # the same answer whether or not anyone was sent a code
            request.session["portal_identifier"] = identifier
            return redirect("portal-verify")
    return render(request, "portal/login.html", {"form": form})


def portal_verify(request: HttpRequest) -> HttpResponse:
    identifier = request.session.get("portal_identifier")
    if not identifier:
        return redirect("portal-login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = portal.portal_code_verify(
                identifier=identifier, code=form.cleaned_data["code"], ip=_client_ip(request)
            )
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("portal-home")
    return render(request, "portal/verify.html", {"form": form})


@patient_required
def portal_home(request: HttpRequest, patient: Patient) -> HttpResponse:
    now = timezone.now()
    appointments = list(
        Appointment.objects.filter(patient=patient).select_related("service", "branch", "doctor__user").order_by("span")
    )
    upcoming = [a for a in appointments if a.span.lower >= now and a.status in ACTIVE_STATUSES]
    for a in upcoming:  # inside the window the page offers a call instead of Cancel and Change time
        a.too_late = call_the_branch(a.branch) if inside_cancellation_window(start=a.span.lower, now=now) else ""  # type: ignore[attr-defined]
    # A coming appointment that was cancelled is not "earlier": its own group, with the coming ones.
    cancelled = [a for a in appointments if a.span.lower >= now and a.status == Status.CANCELLED]
    past = [a for a in appointments if a not in upcoming and a not in cancelled][::-1][:20]
    log_patient_read(request, "view", "portal", [patient])
    context = {
        "patient": patient,
        "upcoming": upcoming,
        "cancelled": cancelled,
        "past": past,
        "moved": to_int(request.GET.get("moved")),  # just changed: highlighted and given the focus
    }
    with timezone.override(ZoneInfo(chain_settings_get().default_timezone)):
        return render(request, "portal/home.html", context)


def late_times() -> dict[str, Any]:
    """What the picker marks on a time a patient could not cancel online once booked: a short word
    on the tile; the day's one sentence that explains it comes from late_said."""
    hours = policy_get().cancellation_window_hours
    return {"late_before": timezone.now() + timedelta(hours=hours), "late_note": f"within {hours} h"}


def late_said(context: dict[str, Any]) -> dict[str, Any]:
    """The cancellation window said once above the day's times, not on every tile: when every time of
    the day is inside it the sentence says so and the tiles carry no word; when only some are, those
    tiles keep their short word."""
    tiles = [t for _name, times in context.get("periods", []) for t in times]
    late = [t for t in tiles if t["late"]]
    if not late:
        return {"late_warning": ""}
    hours = policy_get().cancellation_window_hours
    if len(late) == len(tiles):
        for t in tiles:
            t["late"] = ""
        return {
            "late_warning": f"Every time on this day is within {hours} hours: once booked, "
            "it cannot be cancelled or changed online (call us instead)."
        }
    return {
        "late_warning": f"Times marked \u201cwithin {hours} h\u201d are within {hours} hours: once booked, "
        "they cannot be cancelled or changed online (call us instead)."
    }


def _own(patient: Patient, pk: int) -> Appointment:
    return get_object_or_404(Appointment, pk=pk, patient=patient)


@patient_required
@require_POST
def portal_cancel(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    appointment = _own(patient, pk)
    if request.POST.get("confirm") != "1":  # only the confirmation form cancels (frontend/_cancel_confirm.html)
        messages.error(request, "Nothing was cancelled: confirm the cancellation first.")
        return redirect("portal-home")
    said = " ".join(request.POST.get("reason", "").split())
    try:
        sched.appointment_cancel(
            actor=request.user,
            appointment=appointment,
            reason=f"Cancelled online by the patient: {said}"[:300] if said else "Cancelled online by the patient",
            by_patient=True,
        )
        messages.success(request, "Your appointment is cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("portal-home")


def patient_reschedule(
    request: HttpRequest,
    appointment: Appointment,
    *,
    move: Callable[[datetime], Appointment],
    done: str,
    back: str,
) -> HttpResponse:
    """A patient moving their own appointment (portal or booking link): a month of days with and
    without free times of the same doctor under the online rules, then the chosen day's times, in
    the branch's clock. `move` is the one service that makes the change (the portal's reschedule,
    or the booking link's)."""
    if appointment.service is None or appointment.branch is None:  # only leave rows lack them
        raise Http404
    day = to_date(request.GET.get("day"))
    if request.method == "POST":
        try:
            start = parse_datetime(request.POST.get("start", ""))  # with its offset, within our years
            moved = move(start)
            when = date_format(moved.span.lower.astimezone(ZoneInfo(appointment.branch.timezone)), "DATETIME_FORMAT")
            messages.success(request, f"Your appointment has moved. New time: {when}.")
            return redirect(f"{done}?moved={moved.pk}")
        except ValueError:
            messages.error(request, "Choose one of the times offered.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            day = start.astimezone(ZoneInfo(appointment.branch.timezone)).date()
    appointment_shown(request, appointment)
    tz = ZoneInfo(appointment.branch.timezone)
    picker = day_picker(
        service=appointment.service,
        branch=appointment.branch,
        day=day,
        month=month_asked(request.GET.get("month")),
        doctor_ids=[appointment.doctor_id],
        step=policy_get().online_slot_step_minutes,
        online=True,
        moving=appointment,
    )
    context = picker_context(
        picker,
        base={},
        post_to=request.path,
        doctor_name=appointment.doctor.user.get_full_name() or appointment.doctor.user.email,
        price=service_price_shown(service=appointment.service, branch=appointment.branch),
        **late_times(),
    )
    context |= {"appointment": appointment, "back": back, **late_said(context)}
    with timezone.override(tz):
        return render(request, "portal/reschedule.html", context)


@patient_required
def portal_reschedule(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    appointment = _own(patient, pk)
    if appointment.status not in MOVABLE:  # cancelled, checked in, done or missed: no times to offer
        messages.error(
            request, f"This appointment is {appointment.get_status_display().lower()}: it can no longer be changed."
        )
        return redirect("portal-home")

    def move(start: datetime) -> Appointment:
        return sched.appointment_reschedule(actor=request.user, appointment=appointment, start=start, by_patient=True)

    return patient_reschedule(request, appointment, move=move, done="/portal/", back="/portal/")


@patient_required
def portal_profile(request: HttpRequest, patient: Patient) -> HttpResponse:
    initial = {f: getattr(patient, f) for f in ("phone", "email", "address_line", "city", "postcode")}
    initial |= {"sms_consent": patient.consents_to("sms"), "email_consent": patient.consents_to("email")}
    initial["email_withdrawn"] = patient.email_consent_withdrawn_at is not None and not patient.consents_to("email")
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            portal.portal_profile_update(actor=request.user, patient=patient, request=request, **d)
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Your details are saved.")
            return redirect("portal-home")
    log_patient_read(request, "view", "patient", [patient])
    return render(request, "portal/profile.html", {"form": form})


@require_POST
def portal_logout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal-login")
