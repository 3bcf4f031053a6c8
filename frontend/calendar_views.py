"""A doctor's own day, and doctors' leave for managers (with the appointments in its way)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend.desk_views import BUTTONS
from frontend.forms import show_error, to_date
from scheduling import intervals as iv
from scheduling import services as sched
from scheduling.exceptions import LeaveConflicts
from scheduling.models import Appointment, CalendarEntry, Leave, Status
from scheduling.selectors import calendar_rows, calendar_rows_visible, leave_conflicts
from tenants.audit.services import access_log_disclosure, access_log_rows
from tenants.org.models import Role, StaffMember
from tenants.org.rules import staff_of
from tenants.org.selectors import chain_settings_get, doctor_list_managed


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    doctor = staff_of(request.user)
    if doctor is None or Role.DOCTOR not in doctor.roles:
        raise Http404
    tz = ZoneInfo(chain_settings_get().default_timezone)
    day = to_date(request.GET["day"]) if "day" in request.GET else timezone.now().astimezone(tz).date()
    if day is None:
        raise Http404
    start, end = iv.day_bounds(day, tz)
    from psycopg.types.range import Range

    rows = calendar_rows(
        CalendarEntry.objects.filter(
            doctor=doctor, busy__overlap=Range(start, end, "[)"), span__overlap=Range(start, end, "[)")
        )
    )
    rows = calendar_rows_visible(actor=request.user, rows=sorted(rows, key=lambda r: r["start"]))
    access_log_rows(actor=request.user, object_type="appointment", rows=rows, request=request)
    for row in rows:
        row["buttons"] = [(a, label) for a, label, _ in BUTTONS.get(row["status"], ()) if a in ("start", "complete")]
    context = {"rows": rows, "day": day, "prev": day - timedelta(days=1), "next": day + timedelta(days=1)}
    with timezone.override(tz):
        return render(request, "calendar/my_day.html", context)


class LeaveForm(forms.Form):
    doctor = forms.ModelChoiceField(queryset=StaffMember.objects.none())
    starts = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From")
    ends = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Until")
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: object, doctors: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["doctor"].queryset = doctors  # type: ignore[attr-defined]
        self.fields["doctor"].label_from_instance = lambda d: d.user.get_full_name() or d.user.email  # type: ignore[attr-defined]


@login_required
def leave(request: HttpRequest) -> HttpResponse:
    doctors = doctor_list_managed(actor=request.user)
    if not doctors.exists():
        raise Http404
    tz = ZoneInfo(chain_settings_get().default_timezone)
    form = LeaveForm(request.POST or None, doctors=doctors)
    conflicts: list[Appointment] = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with timezone.override(tz):
                starts, ends = (timezone.make_aware(v.replace(tzinfo=None), tz) for v in (d["starts"], d["ends"]))
            sched.leave_create(actor=request.user, doctor=d["doctor"], start=starts, end=ends, reason=d["reason"])
        except LeaveConflicts as exc:
            access_log_disclosure(actor=request.user, exc=exc, request=request)
            conflicts = list(leave_conflicts(actor=request.user, doctor=d["doctor"], start=starts, end=ends))
            form.add_error(None, exc.message)
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Leave added.")
            return redirect("leave")
    upcoming = Leave.objects.filter(doctor__in=doctors, status=Status.BOOKED, busy__endswith__gte=timezone.now())
    context = {"form": form, "conflicts": conflicts, "leave": upcoming.select_related("doctor__user").order_by("span")}
    with timezone.override(tz):
        return render(request, "calendar/leave.html", context)


@login_required
@require_POST
def leave_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(Leave, pk=pk)
    try:
        sched.leave_cancel(actor=request.user, leave=entry)
        messages.success(request, "Leave cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("leave")
