"""The reception desk: a branch's day with doctors as columns, live, and the walk-in flow."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend.forms import appointment_shown, patient_lookup, show_error, to_date, to_int
from patients.exceptions import PossibleDuplicates
from patients.models import Patient
from scheduling import selectors
from scheduling import services as sched
from scheduling.models import ACTIVE_STATUSES, Appointment, Service, Source
from scheduling.services.walk_in import NewPatient
from tenants.audit.services import access_log_disclosure, access_log_rows
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember
from tenants.org.selectors import branch_list

ROW_MINUTES = 15
ACTIONS: dict[str, Any] = {
    "check-in": sched.appointment_check_in,
    "start": sched.appointment_start,
    "complete": sched.appointment_complete,
    "no-show": sched.appointment_mark_no_show,
    "cancel": sched.appointment_cancel,
}


BUTTONS = {
    "booked": (("check-in", "Check in", ""), ("no-show", "No-show", "secondary"), ("cancel", "Cancel", "secondary")),
    "confirmed": (("check-in", "Check in", ""), ("no-show", "No-show", "secondary"), ("cancel", "Cancel", "secondary")),
    "checked_in": (("start", "Start", ""),),
    "in_progress": (("complete", "Complete", ""),),
}


def entry_html(e: dict[str, Any], csrf: str) -> SafeString:
    """One block of the grid. Built here rather than in the template: the grid holds hundreds of
    them and is redrawn every 10 seconds at every desk (format_html escapes every value)."""
    # Placed by frontend/static/frontend/app.js: the CSP refuses style attributes.
    area = f"{e['row_start']} / {e['column']} / {e['row_end']}"
    classes = f"slot slot-{e['kind']} status-{e['status']}"
    if e["kind"] == "leave":
        return format_html(
            '<div class="{}" data-grid-area="{}" id="entry-{}"><strong>Leave</strong></div>', classes, area, e["id"]
        )
    who = (
        format_html('<a href="/patients/{}/">{} {}</a>', e["patient_id"], e["patient_first"], e["patient_last"])
        if e["patient_id"]
        else mark_safe("<em>held</em>")
    )
    buttons = format_html_join(
        "",
        '<button formaction="/desk/appointments/{}/{}/" class="{}">{}</button>',
        ((e["id"], action, css, label) for action, label, css in BUTTONS.get(e["status"], ())),
    )
    move = (
        format_html('<a class="move" href="/desk/appointments/{}/move/">Move</a>', e["id"])
        if e["status"] in ("booked", "confirmed")
        else ""
    )
    form = (
        format_html(
            '<form method="post" class="slot-actions"><input type="hidden" name="csrfmiddlewaretoken" '
            'value="{}">{}</form>',
            csrf,
            buttons,
        )
        if buttons
        else ""
    )
    return format_html(
        '<div class="{}" data-grid-area="{}" id="entry-{}" tabindex="0"><strong>{}</strong> {} '
        '<span class="muted">{}</span> <span class="badge">{}</span>{}{}</div>',
        classes,
        area,
        e["id"],
        e["local_start"].strftime("%H:%M"),
        who,
        e["service_name"] or "",
        e["status"].replace("_", " "),
        form,
        move,
    )


def _branches(request: HttpRequest) -> list[Branch]:
    return list(branch_list(actor=request.user).filter(is_active=True))


def _rows(grid: selectors.DeskDay, start: datetime, end: datetime) -> tuple[int, int] | None:
    """The grid rows (CSS grid lines) a span covers, clipped to the grid's hours; None outside them."""
    start, end = max(start, grid.first), min(end, grid.last)
    if end <= start:
        return None
    step = ROW_MINUTES * 60
    r1 = int((start - grid.first).total_seconds() // step) + 2
    return r1, max(r1 + 1, int(-(-(end - grid.first).total_seconds() // step)) + 2)


OFF_LABELS = {"closed": "Closed", "off_shift": "Not on shift"}


def day_grid(grid: selectors.DeskDay) -> dict[str, Any]:
    """What the day view draws from the desk selector: columns (doctors), rows (15-minute steps),
    the shaded time no visit can be booked in, and the placed entries."""
    tz = ZoneInfo(grid.branch.timezone)
    column_of = {c.doctor.pk: i + 2 for i, c in enumerate(grid.columns)}
    shaded = []
    for column in grid.columns:
        for (lo, hi), kind in column.off:
            rows = _rows(grid, lo, hi)
            if rows:
                area = f"{rows[0]} / {column_of[column.doctor.pk]} / {rows[1]}"
                shaded.append({"area": area, "kind": kind, "label": OFF_LABELS[kind]})
    placed = []
    for row in grid.entries:
        rows = _rows(grid, row["start"], row["end"])
        if rows is None or row["doctor_id"] not in column_of:
            continue
        placed.append(
            {
                **row,
                "column": column_of[row["doctor_id"]],
                "row_start": rows[0],
                "row_end": rows[1],
                "local_start": row["start"].astimezone(tz),
                "active": row["status"] in ACTIVE_STATUSES,
            }
        )
    count = max(1, int((grid.last - grid.first).total_seconds() // 60 // ROW_MINUTES))
    times = [((grid.first + timedelta(minutes=ROW_MINUTES * i)).astimezone(tz), i + 2) for i in range(count)]
    return {
        "columns": [c.doctor for c in grid.columns],
        "times": times,
        "entries": placed,
        "shaded": shaded,
        "row_count": count,
        "open_hours": [(lo.astimezone(tz), hi.astimezone(tz)) for lo, hi in grid.open],
        "closed_reason": grid.closed_reason,
        "special": grid.special,
        "special_note": grid.special_note,
    }


def _day(request: HttpRequest, branch: Branch) -> date:
    text = request.GET.get("day") or request.POST.get("day")
    if text:
        day = to_date(text)
        if day is None:  # no such day, or beyond the years a calendar holds (the next-day link overflows)
            raise Http404
        return day
    return timezone.now().astimezone(ZoneInfo(branch.timezone)).date()


@login_required
def desk(request: HttpRequest, branch_pk: int | None = None) -> HttpResponse:
    branches = _branches(request)
    if branch_pk is None:
        if not branches:
            raise Http404
        return redirect("desk-branch", branch_pk=branches[0].pk)
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.view_calendar", branch)
    day = _day(request, branch)
    grid = day_grid(selectors.desk_day(branch=branch, day=day, actor=request.user))
    access_log_rows(actor=request.user, object_type="appointment", rows=grid["entries"], request=request)
    csrf = get_token(request)
    grid["blocks"] = [entry_html(e, csrf) for e in grid["entries"]]
    context = {
        "branch": branch,
        "branches": branches,
        "day": day,
        "today": timezone.now().astimezone(ZoneInfo(branch.timezone)).date(),
        "prev": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "can_book": request.user.has_perm("scheduling.book", branch),
        **grid,
    }
    template = "desk/_grid.html" if request.htmx else "desk/day.html"  # type: ignore[attr-defined]
    with timezone.override(ZoneInfo(branch.timezone)):  # the desk reads the branch's own clock
        return render(request, template, context)


@login_required
@require_POST
def appointment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    appointment = get_object_or_404(Appointment, pk=pk)
    if action not in ACTIONS or appointment.branch is None:
        raise Http404
    try:
        ACTIONS[action](actor=request.user, appointment=appointment)
        messages.success(request, f"{appointment.patient}: {action.replace('-', ' ')} done.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    day = appointment.span.lower.astimezone(ZoneInfo(appointment.branch.timezone)).date()
    return redirect(f"/desk/{appointment.branch_id}/?day={day}")


class NewPatientForm(forms.Form):
    """A walk-in or caller not on file yet: enough to register them, the rest on the chart later."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(
        max_length=32, required=False, label="Mobile", help_text="National or international form, e.g. 07911 123456."
    )
    ignore_duplicates = forms.BooleanField(required=False, label="Different person from any look-alike")


@login_required
def walk_in(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """Three steps: the service; the first free doctor now or a chosen time; the patient.
    With ?source=phone the same flow books a caller on any day (?day=YYYY-MM-DD)."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.book", branch)
    phone = request.GET.get("source") == "phone"
    services = Service.objects.filter(is_active=True, offerings__branch=branch).distinct()
    service = services.filter(pk=request.GET.get("service") or 0).first()
    context: dict[str, Any] = {"branch": branch, "services": services, "service": service, "step": 1, "phone": phone}
    if service is None:
        return render(request, "desk/walk_in.html", context)  # step 1 shows no times
    now = timezone.now()
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    day = _day(request, branch) if phone else today
    slots = selectors.slot_list_available(
        service=service, branch=branch, date_from=day, date_to=day, step=5 if not phone else 15, now=now
    )
    doctors = {d.pk: d for d in StaffMember.objects.filter(pk__in={s.doctor_id for s in slots}).select_related("user")}
    context |= {
        "step": 2,
        "first": None if phone else (slots[0] if slots else None),
        "slots": slots[: 200 if phone else 24],
        "doctors": doctors,
        "day": day,
    }
    start, doctor_pk = request.GET.get("start"), request.GET.get("doctor")
    if not (start and doctor_pk):
        with timezone.override(ZoneInfo(branch.timezone)):
            return render(request, "desk/walk_in.html", context)
    q = request.GET.get("q", "").strip()
    found, error = patient_lookup(request, q)
    if error:
        messages.error(request, error)
    context |= {
        "step": 3,
        "start": start,
        "doctor": doctors.get(to_int(doctor_pk) or 0),
        "q": q,
        "found": found,
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
                new_form.add_error(None, f"{exc.message}. Find them above, or tick the box if this is someone else.")
            elif new is not None and exc.fields:
                show_error(new_form, exc)  # the new patient's details: each refusal beside its field
            else:
                messages.error(request, exc.message)
        else:
            local = booked.span.lower.astimezone(ZoneInfo(branch.timezone))
            messages.success(request, f"{booked.patient} booked at {local:%H:%M}.")
            return redirect("desk-branch", branch_pk=branch.pk)
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, "desk/walk_in.html", context)


def _walk_in_patient(request: HttpRequest, new_form: NewPatientForm) -> tuple[Patient | None, NewPatient | None]:
    """The patient on file the desk chose, or the details of a new one (a valid form)."""
    if "patient" in request.POST:
        patient = get_object_or_404(Patient, pk=to_int(request.POST["patient"]) or 0)
        authorize(request.user, "patients.view_patient", patient)
        return patient, None
    return None, NewPatient(**new_form.cleaned_data)


@login_required
def appointment_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Reschedule from the grid: another free time of the same service at the branch, any doctor."""
    appointment = get_object_or_404(Appointment.objects.select_related("branch", "service", "patient"), pk=pk)
    if appointment.branch is None or appointment.service is None:
        raise Http404
    authorize(request.user, "scheduling.change_appointment", appointment)
    branch = appointment.branch
    if request.method == "POST":
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
            messages.success(request, f"{moved.patient} moved to {local:%a %d %b %H:%M}.")
            return redirect(f"/desk/{branch.pk}/?day={local.date()}")
    day = _day(request, branch)
    slots = selectors.slot_list_available(
        service=appointment.service, branch=branch, date_from=day, date_to=day, step=15
    )
    doctors = {d.pk: d for d in StaffMember.objects.filter(pk__in={s.doctor_id for s in slots}).select_related("user")}
    appointment_shown(request, appointment)
    context = {
        "appointment": appointment,
        "branch": branch,
        "day": day,
        "slots": slots,
        "doctors": doctors,
        "prev": day - timedelta(days=1),
        "next": day + timedelta(days=1),
    }
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, "desk/move.html", context)
