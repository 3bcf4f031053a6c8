"""Online self-booking, public on each chain's site: branch and service, a free time, a hold while
the patient gives their details, a one-time code to prove the e-mail or phone, confirmation with an
.ics file and a link to manage the booking."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.errors import ApplicationError, NotFound
from config.net import client_ip
from frontend.day_picker import month_asked, picker_context
from frontend.forms import appointment_shown, show_error, to_date, to_int
from frontend.portal_views import late_said, late_times, patient_reschedule
from invoicing.checkout.selectors import booking_money, booking_terms
from invoicing.checkout.services import online_booking_checkout
from invoicing.fee_selectors import fee_outcome_for_patient
from notifications.ics import appointment_ics
from patients import portal
from scheduling import services as sched
from scheduling.cancel_window import call_the_branch, inside_cancellation_window
from scheduling.exceptions import ManageLinkInvalid
from scheduling.free_days import day_picker
from scheduling.models import ACTIVE_STATUSES, Appointment, Service, Status
from scheduling.selectors import doctors_offering, policy_get, service_price_shown
from scheduling.services.online import online_hold
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get

TIMEZONES = available_timezones()


class DetailsForm(forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    contact = forms.CharField(
        max_length=254, label="E-mail or mobile number", help_text="We send a code there to confirm the booking."
    )
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label="The six-digit code we sent you")


def _visitor_tz(request: HttpRequest) -> ZoneInfo | None:
    name = request.GET.get("tz") or request.session.get("visitor_tz") or ""
    if name in TIMEZONES:
        request.session["visitor_tz"] = name
        return ZoneInfo(name)
    return None


def book_start(request: HttpRequest) -> HttpResponse:
    """Step 1: where and what (and with whom, or anyone)."""
    branches = Branch.objects.filter(is_active=True)
    services = Service.objects.filter(is_active=True, bookable_online=True)
    branch = branches.filter(pk=to_int(request.GET.get("branch")) or 0).first()
    service = services.filter(pk=to_int(request.GET.get("service")) or 0).first()
    doctors = list(doctors_offering(branch=branch, service=service)) if branch and service else []
    priced_at = branch or branches.first()  # the branch the form shows chosen
    context = {
        "branches": branches,
        "services": [(s, service_price_shown(service=s, branch=priced_at) if priced_at else "") for s in services],
        "branch": branch,
        "service": service,
        "doctors": doctors,
        "doctor_id": to_int(request.GET.get("doctor")),
    }
    if branch and service and "pick" in request.GET:
        return _slots(request, branch, service)
    return render(request, "booking/start.html", context)


def _slots(request: HttpRequest, branch: Branch, service: Service) -> HttpResponse:
    """Step 2: a month of days with and without free times, then the chosen day's times by part of
    the day, in the branch's zone (and the visitor's beside it when it differs)."""
    # Only a doctor who offers this service here is named or chosen: any other id is "anyone".
    doctor = doctors_offering(branch=branch, service=service).filter(pk=to_int(request.GET.get("doctor")) or 0).first()
    doctor_id = doctor.pk if doctor else None
    policy = policy_get()
    picker = day_picker(
        service=service,
        branch=branch,
        day=to_date(request.GET.get("day")),
        month=month_asked(request.GET.get("month")),
        doctor_ids=[doctor_id] if doctor_id else None,
        step=policy.online_slot_step_minutes,
        online=True,
    )
    visitor_tz = _visitor_tz(request)
    base = {"branch": branch.pk, "service": service.pk, "doctor": doctor_id or "", "pick": 1}
    context = picker_context(
        picker,
        base=base,
        post_to=reverse("book-hold"),
        hidden={"branch": branch.pk, "service": service.pk, "asked": doctor_id or ""},
        visitor_tz=visitor_tz,
        doctor_name=doctor.user.get_full_name() if doctor else "",
        price=service_price_shown(service=service, branch=branch),
        **late_times(),
    )
    skipped = [d.day for d in picker.days if d.day < picker.day]  # full days the picker passed over
    context |= {
        "skipped": (skipped[0], skipped[-1]) if skipped and to_date(request.GET.get("day")) is None else None,
        "branch": branch,
        "service": service,
        "visitor_tz": visitor_tz,
        "change_href": f"/book/?branch={branch.pk}&service={service.pk}",
        **late_said(context),
    }
    return render(request, "booking/slots.html", context)


@require_POST
def book_hold(request: HttpRequest) -> HttpResponse:
    """Hold the chosen time for the chain's hold minutes while the visitor gives their details."""
    try:
        start: datetime | None = datetime.fromisoformat(request.POST.get("start", ""))
    except ValueError:
        start = None
    try:
        hold = online_hold(
            branch_id=to_int(request.POST.get("branch")) or 0,
            service_id=to_int(request.POST.get("service")) or 0,
            doctor_id=to_int(request.POST.get("doctor")) or 0,
            start=start,
            ip=client_ip(request),
        )
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        query = f"branch={to_int(request.POST.get('branch'))}&service={to_int(request.POST.get('service'))}"
        day = f"&day={start.date()}" if start else ""
        return redirect(f"/book/?{query}&pick=1{day}")
    # "asked": the doctor the visitor chose ("" for anyone), for "Change time" to go back to the same choices
    asked = to_int(request.POST.get("asked"))
    request.session["hold"] = {"id": hold.pk, "token": hold.hold_token, "asked": asked}
    return redirect("book-details")


def _held(request: HttpRequest) -> Appointment:
    held = request.session.get("hold") or {}
    hold = Appointment.objects.filter(pk=held.get("id") or 0, hold_token=held.get("token") or "-").first()
    if hold is None:
        raise Http404
    return hold


def book_details(request: HttpRequest) -> HttpResponse:
    """Step 3: who is coming, and where to send the code."""
    hold = _held(request)
    form = DetailsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if d["website"]:  # the honeypot: pretend all went well
            return redirect("book-verify")
        try:
            sent = portal.booking_code_request(contact=d["contact"], ip=client_ip(request))
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            request.session["booking"] = {
                "first_name": d["first_name"],
                "last_name": d["last_name"],
                "challenge": sent.challenge,
            }
            return redirect("book-verify")
    price = service_price_shown(service=hold.service, branch=hold.branch) if hold.service and hold.branch else ""
    terms = booking_terms(service=hold.service, branch=hold.branch) if hold.service and hold.branch else None
    context = {"form": form, "hold": hold, "price": price, "change": _change(request, hold), "terms": terms}
    return render(request, "booking/details.html", context)


def _change(request: HttpRequest, hold: Appointment) -> str:
    """Back to the day picker with the visitor's choices (branch, service, doctor or anyone, the day)."""
    asked = (request.session.get("hold") or {}).get("asked")
    tz = ZoneInfo(hold.branch.timezone if hold.branch else "UTC")
    query = {
        "branch": hold.branch_id,
        "service": hold.service_id,
        "doctor": asked or "",
        "pick": 1,
        "day": hold.span.lower.astimezone(tz).date().isoformat(),
    }
    return "/book/?" + urlencode(query)


def book_verify(request: HttpRequest) -> HttpResponse:
    """Step 4: the code; then the held time becomes the patient's appointment."""
    hold = _held(request)
    pending = request.session.get("booking")
    if not pending:
        return redirect("book-details")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            booked = online_booking_checkout(
                hold_id=hold.pk,
                hold_token=hold.hold_token,
                first_name=pending["first_name"],
                last_name=pending["last_name"],
                challenge=pending.get("challenge", ""),
                code=form.cleaned_data["code"],
                ip=client_ip(request),
                request=request,
            )
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            for key in ("hold", "booking"):
                request.session.pop(key, None)
            if booked.notice:
                messages.info(request, booked.notice)
            if booked.booking is not None:
                return redirect("book-manage", token=booked.booking.manage_token)
            if booked.checkout is not None:  # a deposit or prepayment first (invoicing.checkout)
                return redirect("book-pay", token=booked.checkout.return_token)
    terms = booking_terms(service=hold.service, branch=hold.branch) if hold.service and hold.branch else None
    return render(request, "booking/verify.html", {"form": form, "hold": hold, "terms": terms})


def _managed(request: HttpRequest, token: str) -> Appointment:
    """The appointment of a manage link of this chain; 404 for anything else (another chain's link,
    a forged, revoked or expired one). Whoever holds the link reads the patient's appointment: that
    read is in the access log, as anonymous, with the link as the reason."""
    try:
        appointment = sched.manage_link_resolve(token=token)
    except ManageLinkInvalid as exc:
        raise Http404 from exc
    appointment_shown(request, appointment)
    return appointment


@never_cache
def book_manage(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation page, and the link in the confirmation to come back and change it. Once the
    appointment is cancelled the same address says so (its details, no actions, "Book again")."""
    try:
        appointment = sched.manage_link_read(token=token)
    except ManageLinkInvalid as exc:
        raise Http404 from exc
    appointment_shown(request, appointment)
    tz = ZoneInfo(appointment.branch.timezone if appointment.branch else "UTC")
    service = appointment.service
    again = f"/book/?branch={appointment.branch_id}&service={service.pk}" if service else "/book/"
    context = {
        "appointment": appointment,
        "token": token,
        "local": appointment.span.lower.astimezone(tz),
        "active": appointment.status in ACTIVE_STATUSES,
        "cancelled": appointment.status == Status.CANCELLED,
        # inside the window the service refuses a patient's cancel or move: offer a call instead
        "too_late": call_the_branch(appointment.branch)
        if inside_cancellation_window(start=appointment.span.lower)
        else "",
        "book_again": again,
        "window": policy_get().cancellation_window_hours,
        "money": booking_money(appointment=appointment),
        # cancelled or missed: the fee, what the deposit paid of it and what is still owed
        "fee_said": fee_outcome_for_patient(appointment_id=appointment.pk)
        if appointment.status in (Status.CANCELLED, Status.NO_SHOW)
        else "",
        "price": service_price_shown(service=service, branch=appointment.branch)
        if service and appointment.branch
        else "",
    }
    return render(request, "booking/manage.html", context)


@require_POST
def book_cancel(request: HttpRequest, token: str) -> HttpResponse:
    if request.POST.get("confirm") != "1":  # only the confirmation form cancels (frontend/_cancel_confirm.html)
        _managed(request, token)  # a forged or spent link is still a 404
        messages.error(request, "Nothing was cancelled: confirm the cancellation first.")
        return redirect("book-manage", token=token)
    try:
        # The link proves it is the patient's: the service acts as the patient's own account.
        sched.manage_link_cancel(token=token, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        # "Yes, cancel" sent twice (a double click: the browser shows the second answer) finds the
        # link spent, or, racing the first, the appointment cancelled: either way the cancelled page.
        if not _cancelled(token):
            if isinstance(exc, ManageLinkInvalid):
                raise Http404 from exc
            messages.error(request, exc.message)
            return redirect("book-manage", token=token)
    # The link can no longer change anything, but still shows the cancelled appointment.
    messages.success(request, "Your appointment is cancelled.")
    return redirect("book-manage", token=token)


def _cancelled(token: str) -> bool:
    """Whether the link shows its appointment cancelled (what the link's page says at its address)."""
    try:
        return sched.manage_link_read(token=token).status == Status.CANCELLED
    except ManageLinkInvalid:
        return False


def book_ics(request: HttpRequest, token: str) -> HttpResponse:
    appointment = _managed(request, token)
    chain = chain_settings_get().name
    manage = request.build_absolute_uri(request.path.rsplit("/", 1)[0] + "/")
    body = appointment_ics(
        appointment,
        host=request.get_host(),
        summary=f"{appointment.service} at {chain}",
        description=f"With {appointment.doctor.user.get_full_name()}. Manage: {manage}",
        now=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


@never_cache
def book_move(request: HttpRequest, token: str) -> HttpResponse:
    """Change the time from the booking link, under the same online rules as booking."""
    appointment = _managed(request, token)
    manage = f"/book/manage/{token}/"

    def move(start: datetime) -> Appointment:
        return sched.manage_link_reschedule(token=token, start=start)

    return patient_reschedule(request, appointment, move=move, done=manage, back=manage)
