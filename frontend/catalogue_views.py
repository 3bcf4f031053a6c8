"""Owners' and managers' scheduling settings: services, rooms, opening hours, shifts, booking rules.

Changing hours never drops appointments silently: the page lists those that fall outside."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from config.errors import ApplicationError
from frontend.forms import submit
from scheduling import services as sched
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    BranchHours,
    Room,
    Service,
    ShiftPattern,
    SpecialDay,
    Weekday,
)
from scheduling.selectors import policy_get
from tenants.audit.services import access_log_rows
from tenants.authz import authorize
from tenants.org.models import Branch, Role, StaffMember


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=120)
    duration_minutes = forms.IntegerField(min_value=5, max_value=720, label="Duration (minutes)")
    buffer_before_minutes = forms.IntegerField(min_value=0, max_value=120, initial=0, label="Buffer before")
    buffer_after_minutes = forms.IntegerField(min_value=0, max_value=120, initial=0, label="Buffer after")
    price_minor = forms.IntegerField(min_value=0, initial=0, label="Price (in cents/pence)")
    requires_room = forms.BooleanField(required=False, label="Needs a room")
    bookable_online = forms.BooleanField(required=False, initial=True, label="Patients may book it online")
    is_active = forms.BooleanField(required=False, initial=True, label="Offered")


class PolicyForm(forms.Form):
    cancellation_window_hours = forms.IntegerField(min_value=0, max_value=720, label="Cancellation window (hours)")
    online_min_notice_minutes = forms.IntegerField(min_value=0, label="Online: minimum notice (minutes)")
    online_horizon_days = forms.IntegerField(min_value=1, max_value=730, label="Online: how far ahead (days)")
    online_slot_step_minutes = forms.IntegerField(min_value=5, max_value=240, label="Online: time grid (minutes)")
    hold_minutes = forms.IntegerField(min_value=1, max_value=60, label="Online: minutes a chosen time is held")


class RoomForm(forms.Form):
    name = forms.CharField(max_length=80)


class ShiftForm(forms.Form):
    doctor = forms.ModelChoiceField(queryset=StaffMember.objects.none())
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int)
    starts = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    break_starts = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    break_ends = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


@login_required
def services_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    authorize(request.user, "scheduling.manage_catalogue")
    service = get_object_or_404(Service, pk=pk) if pk else None
    initial = {f: getattr(service, f) for f in ServiceForm.base_fields} if service else None
    form = ServiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        saved = submit(
            form,
            (lambda: sched.service_update(actor=request.user, service=service, **d))
            if service
            else (lambda: sched.service_create(actor=request.user, **d)),
        )
        if saved:
            messages.success(request, f"{saved} saved.")
            return redirect("catalogue-services")
    return render(
        request, "catalogue/services.html", {"form": form, "service": service, "services": Service.objects.all()}
    )


@login_required
def policy_page(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "scheduling.manage_policy")
    policy = policy_get()
    form = PolicyForm(request.POST or None, initial={f: getattr(policy, f) for f in PolicyForm.base_fields})
    if request.method == "POST" and form.is_valid():
        if submit(form, lambda: sched.policy_update(actor=request.user, **form.cleaned_data)):
            messages.success(request, "Booking rules saved.")
            return redirect("catalogue-policy")
    return render(request, "catalogue/policy.html", {"form": form})


def _outside(branch: Branch, hours: list[tuple[int, time, time]]) -> list[Appointment]:
    """Upcoming active appointments of the branch that the given weekly hours would not cover."""
    tz = ZoneInfo(branch.timezone)
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in hours:
        by_day.setdefault(weekday, []).append((opens, closes))
    upcoming = (
        Appointment.objects.filter(branch=branch, status__in=ACTIVE_STATUSES, span__startswith__gte=timezone.now())
        .select_related("patient", "service", "doctor__user")
        .order_by("span")[:2000]
    )
    outside = []
    for a in upcoming:
        start, end = a.span.lower.astimezone(tz), (a.span.upper - timedelta(microseconds=1)).astimezone(tz)
        windows = by_day.get(start.weekday(), [])
        if not any(o <= start.time() and end.time() < c and start.date() == end.date() for o, c in windows):
            outside.append(a)
    return outside


@login_required
def hours_page(request: HttpRequest, branch_pk: int) -> HttpResponse:
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.manage_branch_calendar", branch)
    current = {h.weekday: h for h in BranchHours.objects.filter(branch=branch)}
    outside: list[Appointment] = []
    if request.method == "POST" and "add_closure" not in request.POST:
        hours = []
        errors = []
        for weekday, label in Weekday.choices:
            opens, closes = request.POST.get(f"opens_{weekday}"), request.POST.get(f"closes_{weekday}")
            if opens and closes:
                try:
                    hours.append((weekday, time.fromisoformat(opens), time.fromisoformat(closes)))
                except ValueError:
                    errors.append(f"{label}: use times like 08:30.")
        if errors:
            for e in errors:
                messages.error(request, e)
        else:
            outside = _outside(branch, hours)
            access_log_rows(
                actor=request.user,
                object_type="appointment",
                rows=[{"id": a.pk, "patient_id": a.patient_id} for a in outside],
                request=request,
            )
            if outside and "confirm" not in request.POST:
                messages.error(
                    request,
                    f"{len(outside)} booked appointment(s) fall outside these hours. "
                    "They are listed below; save again to keep them as they are.",
                )
            else:
                try:
                    sched.branch_hours_replace(actor=request.user, branch=branch, hours=hours)
                    messages.success(
                        request,
                        "Opening hours saved."
                        + (f" {len(outside)} appointment(s) are outside them." if outside else ""),
                    )
                    return redirect("catalogue-hours", branch_pk=branch.pk)
                except ApplicationError as exc:
                    messages.error(request, exc.message)
    if "add_closure" in request.POST:
        try:
            day = date.fromisoformat(request.POST.get("closure_date", ""))
            special_opens = (
                time.fromisoformat(request.POST["closure_opens"]) if request.POST.get("closure_opens") else None
            )
            special_closes = (
                time.fromisoformat(request.POST["closure_closes"]) if request.POST.get("closure_closes") else None
            )
            sched.special_day_create(
                actor=request.user,
                branch=branch,
                day=day,
                opens=special_opens,
                closes=special_closes,
                note=request.POST.get("closure_note", ""),
            )
            messages.success(request, f"{day:%A %d %B}: {'special hours' if special_opens else 'closed'}.")
            return redirect("catalogue-hours", branch_pk=branch.pk)
        except ValueError:
            messages.error(request, "Give the date (and times, if any) in full.")
        except ApplicationError as exc:
            messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms) or exc.message)
    rows: list[dict[str, Any]] = [
        {
            "weekday": w,
            "label": label,
            "opens": request.POST.get(f"opens_{w}")
            if request.method == "POST"
            else (current[w].opens.strftime("%H:%M") if w in current else ""),
            "closes": request.POST.get(f"closes_{w}")
            if request.method == "POST"
            else (current[w].closes.strftime("%H:%M") if w in current else ""),
        }
        for w, label in Weekday.choices
    ]
    special = SpecialDay.objects.filter(branch=branch, date__gte=timezone.localdate()).order_by("date", "opens")
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(
            request, "catalogue/hours.html", {"branch": branch, "rows": rows, "outside": outside, "special": special}
        )


@login_required
def rooms_and_shifts(request: HttpRequest, branch_pk: int) -> HttpResponse:
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.manage_branch_calendar", branch)
    doctors = StaffMember.objects.filter(roles__contains=[Role.DOCTOR], is_active=True).select_related("user")
    room_form = RoomForm(request.POST if "add_room" in request.POST else None)
    shift_form = ShiftForm(request.POST if "add_shift" in request.POST else None)
    shift_form.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]
    shift_form.fields["doctor"].label_from_instance = lambda d: d.user.get_full_name() or d.user.email  # type: ignore[attr-defined]
    if "add_room" in request.POST and room_form.is_valid():
        if submit(room_form, lambda: sched.room_create(actor=request.user, branch=branch, **room_form.cleaned_data)):
            messages.success(request, "Room added.")
            return redirect("catalogue-branch", branch_pk=branch.pk)
    if "add_shift" in request.POST and shift_form.is_valid():
        if submit(
            shift_form, lambda: sched.shift_pattern_create(actor=request.user, branch=branch, **shift_form.cleaned_data)
        ):
            messages.success(request, "Shift added.")
            return redirect("catalogue-branch", branch_pk=branch.pk)
    context = {
        "branch": branch,
        "room_form": room_form,
        "shift_form": shift_form,
        "rooms": Room.objects.filter(branch=branch),
        "shifts": ShiftPattern.objects.filter(branch=branch)
        .select_related("doctor__user")
        .order_by("doctor", "weekday", "starts"),
    }
    return render(request, "catalogue/branch.html", context)
