"""The reception desk: a branch's day with doctors as columns, live, and the walk-in flow."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend.consent_fields import ConsentFields
from frontend.day_picker import doctor_asked, month_asked, picker_context
from frontend.forms import appointment_shown, patient_lookup, show_error, to_date, to_int, to_local
from frontend.no_show_flags import no_show_flags
from invoicing.fee_selectors import fee_cancel_preview, fee_outcome
from notifications.selectors import confirmation_said
from notifications.told import cancellation_said, move_said
from patients.exceptions import PossibleDuplicates, QueryTooShort
from patients.models import Patient
from scheduling import selectors
from scheduling import services as sched
from scheduling.book import (
    NextVisit,
    appointment_card,
    book_day,
    book_week,
    next_appointments,
    services_of_doctor,
    week_doctor,
)
from scheduling.free_days import FreeTime, day_picker
from scheduling.models import Appointment, Service, Source, Status
from scheduling.services.walk_in import NewPatient
from scheduling.waitlist import waitlist_freed_named, waitlist_freed_of
from tenants.audit.services import access_log_disclosure, access_log_patients, access_log_rows
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember
from tenants.org.selectors import branch_list

ACTIONS: dict[str, Any] = {
    "check-in": sched.appointment_check_in,
    "start": sched.appointment_start,
    "complete": sched.appointment_complete,
    "no-show": sched.appointment_mark_no_show,
}
# The doctor's own day (calendar_views.my_day) offers these per status; the desk's panel asks
# scheduling.book.appointment_actions, which reads the lifecycle's rules.
BUTTONS = {
    "checked_in": (("start", "Start", ""),),
    "in_progress": (("complete", "Complete", ""),),
}
STATUS_LEGEND = [
    (s.value.replace("_", "-"), s.label)
    for s in (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED)
] + [("no-show", Status.NO_SHOW.label), ("cancelled", Status.CANCELLED.label), ("held", "Held online")]


def _branches(request: HttpRequest) -> list[Branch]:
    return list(branch_list(actor=request.user).filter(is_active=True))


def _day(request: HttpRequest, branch: Branch) -> date:
    text = request.GET.get("day") or request.POST.get("day")
    if text:
        day = to_date(text)
        if day is None:  # no such day, or beyond the years a calendar holds (the next-day link overflows)
            raise Http404
        return day
    return timezone.now().astimezone(ZoneInfo(branch.timezone)).date()


def _book_view(request: HttpRequest, branch: Branch) -> tuple[str, StaffMember | None, list[StaffMember]]:
    """Day (doctors as columns) or week (one doctor, ?view=week&doctor=<id>): the doctors to pick from."""
    doctors = list(selectors.doctors_offering(branch=branch).select_related("user"))
    if request.GET.get("view") != "week" or not doctors:
        return "day", None, doctors
    chosen = to_int(request.GET.get("doctor") or "")
    doctor = next((d for d in doctors if d.pk == chosen), None)
    if doctor is None:  # none asked: the first doctor who works or sees patients that week
        doctor = week_doctor(branch=branch, doctors=doctors, day=_day(request, branch)) or doctors[0]
    return "week", doctor, doctors


@login_required
def desk(request: HttpRequest, branch_pk: int | None = None) -> HttpResponse:
    """The appointment book: the page holds the calendar, which reads its day from `book_feed`."""
    branches = _branches(request)
    if branch_pk is None:
        if not branches:
            raise Http404
        return redirect("desk-branch", branch_pk=branches[0].pk)
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.view_calendar", branch)
    day = _day(request, branch)
    view, doctor, doctors = _book_view(request, branch)
    step = timedelta(days=7 if view == "week" else 1)
    query = f"&view=week&doctor={doctor.pk}" if doctor else ""
    context = {
        "branch": branch,
        "branches": branches,
        "day": day,
        "week_start": day - timedelta(days=day.weekday()),  # the book's weeks start on Monday
        "view": view,
        "doctor": doctor,
        "doctors": doctors,
        "query": query,
        "feed": f"{reverse('desk-feed', args=[branch.pk])}?day={day}{query}",
        "focus": to_int(request.GET.get("focus") or ""),
        "prev": day - step,
        "next": day + step,
        "legend": STATUS_LEGEND,
        "can_book": request.user.has_perm("scheduling.book", branch),
    }
    with timezone.override(ZoneInfo(branch.timezone)):  # the desk reads the branch's own clock
        return render(request, "desk/day.html", context)


@login_required
def book_feed(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """The book's data, as the calendar reads it (JSON): fetched on load and every 10 seconds."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.view_calendar", branch)
    day = _day(request, branch)
    if request.GET.get("view") == "week":
        doctor = get_object_or_404(StaffMember, pk=to_int(request.GET.get("doctor") or "") or 0)
        if not selectors.doctor_visible(actor=request.user, doctor=doctor):
            raise Http404
        feed = book_week(actor=request.user, branch=branch, doctor=doctor, day=day)
    else:
        feed = book_day(actor=request.user, branch=branch, day=day)
    access_log_rows(actor=request.user, object_type="appointment", rows=feed.pop("shown"), request=request)  # type: ignore[misc]
    return JsonResponse(feed)


def _panel(request: HttpRequest, appointment: Appointment, *, cancel_error: str = "") -> HttpResponse:
    card = appointment_card(actor=request.user, appointment=appointment)
    appointment_shown(request, appointment)
    if appointment.patient is not None:
        access_log_patients(request, action="view", patients=[appointment.patient])
    tz = ZoneInfo(appointment.branch.timezone if appointment.branch else "UTC")
    at = time_format(appointment.span.lower.astimezone(tz), "TIME_FORMAT")
    context = {
        "card": card,
        "a": appointment,
        "cancel_what": f"the {at} appointment of {appointment.patient}",
        "cancel_error": cancel_error,
        "cancel_reason": request.POST.get("reason", "") if cancel_error else "",
        # before confirming: whether a cancellation now is late, its fee and what a deposit pays of it
        "cancel_fee": fee_cancel_preview(appointment_id=appointment.pk)
        if any(act.name == "cancel" for act in card.actions)
        else "",
    }
    with timezone.override(tz):
        return render(request, "desk/_panel.html", context)


def _appointment(pk: int) -> tuple[Appointment, Branch]:
    appointment = get_object_or_404(
        Appointment.objects.select_related("branch", "service", "patient", "doctor__user", "room"), pk=pk
    )
    if appointment.branch is None:  # leave has no panel
        raise Http404
    return appointment, appointment.branch


@login_required
def appointment_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel of one appointment: the patient, and every action allowed in its state."""
    appointment, branch = _appointment(pk)
    authorize(request.user, "scheduling.view_calendar", branch)
    return _panel(request, appointment)


@login_required
@require_POST
def appointment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """A status change from the book's panel (answered with the panel again, the refusal in it) or
    from a plain form (answered with the day and a message)."""
    appointment, branch = _appointment(pk)
    if action not in ACTIONS and action != "cancel":
        raise Http404
    if action == "cancel" and not " ".join(request.POST.get("reason", "").split()):
        # Staff say why they cancel (the patient's record and the clinic's figures keep it): refused
        # beside the reason, the confirmation left open with what was typed.
        return _cancel_refused(request, appointment, branch)
    try:
        if action == "cancel":
            sched.appointment_cancel(
                actor=request.user,
                appointment=appointment,
                reason=request.POST.get("reason", ""),
                patient_asked=request.POST.get("patient_asked") == "1",  # a late one may carry the chain's fee
            )
        else:
            ACTIONS[action](actor=request.user, appointment=appointment)
        done = f"{appointment.patient}: {ACTION_DONE.get(action, action)}."
        if action in ("cancel", "no-show"):  # the fee, and what became of a deposit, said at once
            done = f"{done} {fee_outcome(appointment_id=appointment.pk)}"
        if action == "cancel":  # whether the patient is told, and where the freed time went
            done = f"{done} {cancellation_said(appointment_id=appointment.pk)}".strip()
            freed = waitlist_freed_of(appointment_id=appointment.pk)  # whom it names is a read of them
            if freed is not None:
                access_log_patients(request, action="view", patients=waitlist_freed_named(freed=[freed]))
        messages.success(request, done)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    if request.htmx:  # type: ignore[attr-defined]
        authorize(request.user, "scheduling.view_calendar", branch)
        return _panel(request, _appointment(pk)[0])
    day = appointment.span.lower.astimezone(ZoneInfo(branch.timezone)).date()
    return redirect(f"{reverse('desk-branch', args=[branch.pk])}?day={day}")


CANCEL_NEEDS_REASON = "Say why the appointment is cancelled."


def _cancel_refused(request: HttpRequest, appointment: Appointment, branch: Branch) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        authorize(request.user, "scheduling.view_calendar", branch)
        return _panel(request, appointment, cancel_error=CANCEL_NEEDS_REASON)
    messages.error(request, f"Not cancelled: {CANCEL_NEEDS_REASON}")
    day = appointment.span.lower.astimezone(ZoneInfo(branch.timezone)).date()
    return redirect(f"{reverse('desk-branch', args=[branch.pk])}?day={day}")


ACTION_DONE = {
    "check-in": "checked in",
    "start": "visit started",
    "complete": "visit completed",
    "no-show": "marked as a no-show",
    "cancel": "cancelled",
}


@login_required
@require_POST
def appointment_drop(request: HttpRequest, pk: int) -> HttpResponse:
    """An appointment dragged to another time or doctor on the book: through the booking door
    (appointment_reschedule); a refusal is answered 409 with the rule's words for the page to show."""
    appointment, branch = _appointment(pk)
    tz = ZoneInfo(branch.timezone)
    start = to_local(request.POST.get("start", ""), tz)
    doctor = StaffMember.objects.filter(pk=to_int(request.POST.get("doctor") or "") or 0).first()
    if start is None or doctor is None:
        return JsonResponse({"error": "Choose a time on the book."}, status=400)
    try:
        moved = sched.appointment_reschedule(actor=request.user, appointment=appointment, start=start, doctor=doctor)
    except ApplicationError as exc:
        return JsonResponse({"error": exc.message, "code": exc.code}, status=409)
    at = time_format(moved.span.lower.astimezone(tz), "TIME_FORMAT")
    return JsonResponse({"message": f"Moved to {at} with {doctor.user.get_full_name()}."})


@login_required
@require_POST
def appointment_resize(request: HttpRequest, pk: int) -> HttpResponse:
    """An appointment's end dragged on the book: through the booking door (appointment_resize); a
    refusal (a service of fixed length, a time that cannot be booked) is answered 409 with its words."""
    appointment, branch = _appointment(pk)
    tz = ZoneInfo(branch.timezone)
    end = to_local(request.POST.get("end", ""), tz)
    if end is None:
        return JsonResponse({"error": "Choose a time on the book."}, status=400)
    try:
        resized = sched.appointment_resize(actor=request.user, appointment=appointment, end=end)
    except ApplicationError as exc:
        return JsonResponse({"error": exc.message, "code": exc.code}, status=409)
    minutes = int((resized.span.upper - resized.span.lower).total_seconds() // 60)
    until = time_format(resized.span.upper.astimezone(tz), "TIME_FORMAT")
    return JsonResponse({"message": f"Now {minutes} minutes, until {until}."})


@login_required
def slot_panel(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """An empty time clicked on the book: which of the doctor's services to book there; the desk's
    booking form (the phone flow) takes it from there, prefilled with doctor and time."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.book", branch)
    tz = ZoneInfo(branch.timezone)
    doctor = get_object_or_404(StaffMember, pk=to_int(request.GET.get("doctor") or "") or 0)
    start = to_local(request.GET.get("start", ""), tz)
    if start is None:
        raise Http404
    context = {
        "branch": branch,
        "doctor": doctor,
        "start": start.astimezone(tz),
        "services": services_of_doctor(branch=branch, doctor=doctor),
    }
    with timezone.override(tz):
        return render(request, "desk/_slot.html", context)


@login_required
def find_next(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """The desk's search box: the patients found, each with their next appointment and a link that
    opens that day in the book."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.view_calendar", branch)
    q = request.GET.get("q", "").strip()
    found: list[NextVisit] = []
    error = hint = ""
    if q:
        try:
            found = next_appointments(actor=request.user, q=q)
        except QueryTooShort as exc:
            hint = exc.message  # typing goes on: a hint, not an error
        except ApplicationError as exc:
            error = exc.message
        access_log_patients(request, action="search", patients=[f.patient for f in found])
    context = {"branch": branch, "q": q, "found": found, "error": error, "hint": hint}
    template = "desk/_find.html" if request.htmx else "desk/find.html"  # type: ignore[attr-defined]
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, template, context)


LOOK_ALIKES = "ignore_duplicates"


class NewPatientForm(ConsentFields):
    """A walk-in or caller not on file yet: enough to register them, the rest on the chart later."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(
        max_length=32,
        required=False,
        label="Mobile",
        help_text="A number that can receive text messages, national or international form, e.g. 07911 123456.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.data.get(LOOK_ALIKES):  # ticked once the look-alikes were named: keep the tick
            self.offer_look_alikes()

    def offer_look_alikes(self) -> None:
        """The tick to register anyway, shown only once booking answered with look-alikes on file."""
        self.fields[LOOK_ALIKES] = forms.BooleanField(required=False, label="Different person from any look-alike")


@login_required
def walk_in(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """Three steps: the service; the first free doctor now or a chosen time; the patient.
    With ?source=phone the same flow books a caller on any day (?day=YYYY-MM-DD)."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.book", branch)
    phone = request.GET.get("source") == "phone"
    services = Service.objects.filter(is_active=True, offerings__branch=branch).distinct()
    service = services.filter(pk=to_int(request.GET.get("service") or "") or 0).first()
    context: dict[str, Any] = {"branch": branch, "services": services, "service": service, "step": 1, "phone": phone}
    if service is None:
        return render(request, "desk/walk_in.html", context)  # step 1 shows no times
    tz = ZoneInfo(branch.timezone)
    start, doctor_pk = request.GET.get("start"), request.GET.get("doctor")
    if not (start and doctor_pk):
        context |= _phone_times(request, branch, service) if phone else _walk_in_times(branch, service)
        with timezone.override(tz):
            return render(request, "desk/walk_in.html", context)
    q = request.GET.get("q", "").strip()
    found, error = patient_lookup(request, q)
    if error:
        messages.error(request, error)
    context |= {
        "step": 3,
        "day": to_date(request.GET.get("day")),
        "start": start,
        "at": to_local(start, tz),
        "doctor": StaffMember.objects.select_related("user").filter(pk=to_int(doctor_pk) or 0).first(),
        "q": q,
        "found": found,
        **no_show_flags(p.pk for p in found),
    }
    new_form = NewPatientForm(request.POST if request.method == "POST" and "patient" not in request.POST else None)
    context["new_form"] = new_form
    if request.method == "POST" and ("patient" in request.POST or new_form.is_valid()):
        try:
            # One service: a new patient is not left behind when the time was just taken.
            chosen, new = _walk_in_patient(request, new_form)
            booked = sched.walk_in_book(
                actor=request.user,
                branch=branch,
                service=service,
                patient=chosen,
                new_patient=new,
                doctor=get_object_or_404(StaffMember, pk=to_int(doctor_pk) or 0),
                start=datetime.fromisoformat(start),
                source=Source.PHONE if phone else Source.WALK_IN,
                request=request,
            )
        except ValueError:
            messages.error(request, "Choose a time again.")
        except ApplicationError as exc:
            access_log_disclosure(actor=request.user, exc=exc, request=request)
            if new is not None and isinstance(exc, PossibleDuplicates):
                new_form.offer_look_alikes()
                new_form.add_error(None, f"{exc.message}. Find them above, or tick the box if this is someone else.")
            elif new is not None and exc.fields:
                show_error(new_form, exc)  # the new patient's details: each refusal beside its field
            else:
                messages.error(request, exc.message)
        else:
            local = booked.span.lower.astimezone(tz)
            told = confirmation_said(appointment=booked)  # sent, held by quiet hours, or why not
            messages.success(request, f"{booked.patient} booked on {_when(local)}. {told}")
            return _to_book(branch, local.date(), focus=booked.pk)
    with timezone.override(tz):
        return render(request, "desk/walk_in.html", context)


def _when(local: datetime) -> str:
    """A booking's day and time as the desk's messages say it: "Tue 24 Nov at 15:30"."""
    return f"{date_format(local, 'D j M')} at {time_format(local, 'TIME_FORMAT')}"


def _to_book(branch: Branch, day: date, *, focus: int) -> HttpResponse:
    """The book on the day of an appointment just booked or moved, that appointment focused."""
    return redirect(f"{reverse('desk-branch', args=[branch.pk])}?day={day}&focus={focus}")


def _walk_in_times(branch: Branch, service: Service) -> dict[str, Any]:
    """A walk-in: the first free doctor now, or another time today."""
    now = timezone.now()
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    slots = selectors.slot_list_available(
        service=service, branch=branch, date_from=today, date_to=today, step=5, now=now
    )
    doctors = {d.pk: d for d in StaffMember.objects.filter(pk__in={s.doctor_id for s in slots}).select_related("user")}
    return {"step": 2, "first": slots[0] if slots else None, "slots": slots[:24], "doctors": doctors, "day": today}


def _phone_times(request: HttpRequest, branch: Branch, service: Service) -> dict[str, Any]:
    """A caller: the shared day picker (a doctor filter, a month of days, the chosen day's times by
    part of the day), each time a link to the patient step."""
    asked = request.GET.get("day")
    doctors = list(selectors.doctors_offering(branch=branch, service=service))
    doctor = doctor_asked(doctors, request.GET.get("doctor"))
    picker = day_picker(
        service=service,
        branch=branch,
        day=to_date(asked) if asked else None,
        month=month_asked(request.GET.get("month")),
        doctor_ids=[doctor.pk] if doctor else None,
    )
    base = {"source": "phone", "service": service.pk, "doctor": doctor.pk if doctor else ""}

    def link(t: FreeTime) -> str:
        return "?" + urlencode({**base, "day": t.local.date(), "doctor": t.doctor_id, "start": t.local.isoformat()})

    context = picker_context(
        picker,
        base=base,
        link=link,
        price=selectors.service_price_shown(service=service, branch=branch),
        doctors=doctors,
    )
    return context | {"step": 2, "day": picker.day}


def _walk_in_patient(request: HttpRequest, new_form: NewPatientForm) -> tuple[Patient | None, NewPatient | None]:
    """The patient on file the desk chose, or the details of a new one (a valid form)."""
    if "patient" in request.POST:
        patient = get_object_or_404(Patient, pk=to_int(request.POST["patient"]) or 0)
        authorize(request.user, "patients.view_patient", patient)
        return patient, None
    return None, NewPatient(**new_form.cleaned_data)


@login_required
def appointment_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Reschedule from the grid: another free time of the same service at the branch, with the
    appointment's own doctor wherever she is free, or with the doctor the desk chooses."""
    appointment = get_object_or_404(Appointment.objects.select_related("branch", "service", "patient"), pk=pk)
    if appointment.branch is None or appointment.service is None:
        raise Http404
    authorize(request.user, "scheduling.change_appointment", appointment)
    branch = appointment.branch
    if request.method == "POST":
        since = timezone.now()
        try:
            moved = sched.appointment_reschedule(
                actor=request.user,
                appointment=appointment,
                start=datetime.fromisoformat(request.POST["start"]),
                doctor=get_object_or_404(StaffMember, pk=request.POST.get("doctor") or 0),
            )
        except (ApplicationError, ValueError, KeyError) as exc:
            messages.error(request, getattr(exc, "message", "Choose one of the times offered."))
        else:
            local = moved.span.lower.astimezone(ZoneInfo(branch.timezone))
            with_whom = moved.doctor.user.get_full_name() if moved.doctor else ""
            told = move_said(appointment_id=moved.pk, since=since)  # the patient told, the old time's fate
            messages.success(request, f"{moved.patient} moved to {_when(local)} with {with_whom}. {told}".strip())
            return _to_book(branch, local.date(), focus=moved.pk)
    doctors = list(selectors.doctors_offering(branch=branch, service=appointment.service))
    doctor = doctor_asked(doctors, request.GET.get("doctor"))
    picker = day_picker(
        service=appointment.service,
        branch=branch,
        day=_day(request, branch),
        month=month_asked(request.GET.get("month")),
        doctor_ids=[doctor.pk] if doctor else None,
        moving=appointment,
    )
    appointment_shown(request, appointment)
    context = picker_context(
        picker,
        base={"doctor": doctor.pk if doctor else ""},
        post_to=request.path,
        price=selectors.service_price_shown(service=appointment.service, branch=branch),
        doctors=doctors,
    )
    context |= {"appointment": appointment, "branch": branch}
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, "desk/move.html", context)
