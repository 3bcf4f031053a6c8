"""Owners' and managers' scheduling settings: services, rooms, opening hours, shifts, booking rules.

Changing hours never drops appointments silently: the page lists those that fall outside."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.money import from_minor, minor_units, money_format, to_minor
from frontend.forms import flash, refusal, show_error, submit, to_int
from scheduling import intervals as iv
from scheduling import selectors
from scheduling import services as sched
from scheduling.exceptions import AppointmentsAffected
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    BranchHours,
    ExtraShift,
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
from tenants.org.selectors import branch_list, chain_settings_get, staff_list


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=120)
    duration_minutes = forms.IntegerField(min_value=5, max_value=720, label="Duration (minutes)")
    buffer_before_minutes = forms.IntegerField(min_value=0, max_value=120, initial=0, label="Buffer before")
    buffer_after_minutes = forms.IntegerField(min_value=0, max_value=120, initial=0, label="Buffer after")
    price = forms.DecimalField(min_value=Decimal(0), initial=Decimal(0))  # in the chain's currency: __init__
    requires_room = forms.BooleanField(required=False, label="Needs a room")
    bookable_online = forms.BooleanField(required=False, initial=True, label="Patients may book it online")
    length_adjustable = forms.BooleanField(
        required=False,
        label="Staff may change a visit's length",
        help_text="On the desk's book, drag a visit's end: 5 minutes to 12 hours, in 5-minute steps.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Offered", help_text="Untick: not offered for new bookings."
    )

    def __init__(self, data: QueryDict | None, *, initial: dict[str, Any] | None, currency: str) -> None:
        super().__init__(data, initial=initial)
        self.fields["price"] = forms.DecimalField(
            min_value=Decimal(0),
            decimal_places=minor_units(currency),
            initial=Decimal(0),
            label=f"Price ({currency})",
            help_text=f"In {currency}, e.g. {from_minor(7500, currency)}.",
            widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
        )
        self.currency = currency

    def service_fields(self) -> dict[str, Any]:
        """What the services take: the price in the currency's minor units (pence, cents)."""
        d = dict(self.cleaned_data)
        d["price_minor"] = to_minor(d.pop("price"), self.currency)
        return d


class PolicyForm(forms.Form):
    cancellation_window_hours = forms.IntegerField(min_value=0, max_value=720, label="Cancellation window (hours)")
    online_min_notice_minutes = forms.IntegerField(min_value=0, label="Online: minimum notice (minutes)")
    online_horizon_days = forms.IntegerField(min_value=1, max_value=730, label="Online: how far ahead (days)")
    online_slot_step_minutes = forms.IntegerField(min_value=5, max_value=240, label="Online: time grid (minutes)")
    hold_minutes = forms.IntegerField(min_value=1, max_value=60, label="Online: minutes a chosen time is held")
    no_show_auto = forms.BooleanField(
        required=False, label="Mark a visit a no-show when nobody checked the patient in by the end of the grace period"
    )
    no_show_grace_minutes = forms.IntegerField(
        min_value=0, max_value=240, label="No-shows: grace period after the start (minutes)"
    )
    no_show_flag_after = forms.IntegerField(
        min_value=0, max_value=20, label="No-shows: flag a patient after this many (0: never)"
    )
    no_show_flag_months = forms.IntegerField(min_value=1, max_value=36, label="No-shows: counted over (months)")


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
    if service is not None and request.method == "POST" and "set_offerings" in request.POST:
        return _service_offerings_post(request, service)
    if service is not None and request.method == "POST" and "set_price" in request.POST:
        return _service_price_post(request, service)
    chain = chain_settings_get()
    initial = (
        {f: getattr(service, f) for f in ServiceForm.base_fields if f != "price"}
        | {"price": from_minor(service.price_minor, chain.currency)}
        if service
        else None
    )
    form = ServiceForm(request.POST or None, initial=initial, currency=chain.currency)
    if request.method == "POST" and form.is_valid():
        d = form.service_fields()
        saved = submit(
            form,
            (lambda: sched.service_update(actor=request.user, service=service, **d))
            if service
            else (lambda: sched.service_create(actor=request.user, **d)),
        )
        if saved:
            messages.success(request, f"{saved} saved.")
            return redirect("catalogue-services")

    def money(amount_minor: int) -> str:
        return money_format(amount_minor, chain.currency, locale=chain.locale)

    by_branch = selectors.service_branch_prices()
    services = [
        (
            s,
            money(s.price_minor),
            [(b, money(p)) for b, p in by_branch.get(s.pk, []) if p != s.price_minor],  # where a branch differs
        )
        for s in Service.objects.all()
    ]
    context: dict[str, Any] = {"form": form, "service": service, "services": services, "currency": chain.currency}
    if service is not None:
        own = selectors.service_prices(service=service)
        context["own_price"] = money(service.price_minor)
        context["own_price_typed"] = from_minor(service.price_minor, chain.currency)
        context["offerings"] = selectors.service_offerings(actor=request.user, service=service)
        context["prices"] = [
            (b, from_minor(own[b.pk], chain.currency) if b.pk in own else None)
            for b in branch_list(actor=request.user).order_by("name")
        ]
    return render(request, "catalogue/services.html", context)


def _posted_branch(request: HttpRequest, field: str = "branch") -> Branch:
    """A branch named in a form, among those this user sees (tenants.org.selectors)."""
    return get_object_or_404(branch_list(actor=request.user), pk=to_int(request.POST.get(field)) or 0)


def _posted_ids(request: HttpRequest, field: str) -> list[int]:
    return [i for i in (to_int(v) for v in request.POST.getlist(field)) if i is not None]


def _offerings_post(
    request: HttpRequest, *, ticked: str, save: Callable[[Branch, list[int]], object], what: str
) -> None:
    """An offerings form (one branch, a box per doctor or per service, the boxes named `ticked`)
    saved through `save`; the page says "<what> at <branch> saved." or what was refused."""
    branch = _posted_branch(request)
    ids = _posted_ids(request, ticked)
    flash(request, lambda: save(branch, ids), f"{what} at {branch} saved.")


def _service_offerings_post(request: HttpRequest, service: Service) -> HttpResponse:
    """Tick the doctors who offer the service at one branch."""
    _offerings_post(
        request,
        ticked="doctor",
        save=lambda branch, ids: sched.service_offerings_set(
            actor=request.user, service=service, branch=branch, doctor_ids=ids
        ),
        what=f"Who offers {service}",
    )
    return redirect("catalogue-service", pk=service.pk)


def _service_price_post(request: HttpRequest, service: Service) -> HttpResponse:
    """The service's own price at one branch; empty: the service's price applies there."""
    branch = _posted_branch(request)
    currency = chain_settings_get().currency
    try:
        price = _typed_money(request.POST.get("price", ""), currency)
    except ValueError:
        messages.error(request, f"Give the price in {currency}, like {from_minor(7500, currency)}, or leave it empty.")
        return redirect("catalogue-service", pk=service.pk)
    flash(
        request,
        lambda: sched.service_price_set(actor=request.user, service=service, branch=branch, price_minor=price),
        f"Price of {service} at {branch} saved.",
    )
    return redirect("catalogue-service", pk=service.pk)


def _confirmed(request: HttpRequest, otherwise: str) -> bool:
    """Whether a removal came through its confirmation step (the button inside the row's
    disclosure); if not, the page says that nothing happened."""
    if request.POST.get("confirm") == "1":
        return True
    messages.error(request, f"{otherwise}: open it and confirm first.")
    return False


def _outside_count(n: int) -> str:
    return " " + ngettext("%(n)d appointment is outside them.", "%(n)d appointments are outside them.", n) % {"n": n}


def _typed_money(text: str, currency: str) -> int | None:
    """A price typed in the currency (75, 75.5, 75.00) in its minor units; None when empty.
    ValueError when it is not an amount of that currency (negative, more decimals than it has)."""
    text = text.strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount < 0 or not isinstance(exponent, int) or -exponent > minor_units(currency):
        raise ValueError(text)
    return to_minor(amount, currency)


def _shown(request: HttpRequest, appointments: list[Appointment]) -> list[Appointment]:
    """Booked appointments a refused change would strand, as a page lists them: logged, since they
    name patients."""
    access_log_rows(
        actor=request.user,
        object_type="appointment",
        rows=[{"id": a.pk, "patient_id": a.patient_id} for a in appointments],
        request=request,
    )
    return appointments


@login_required
@require_POST
def staff_offerings(request: HttpRequest, pk: int) -> HttpResponse:
    """From the staff page: tick the services a doctor offers at one branch."""
    authorize(request.user, "org.view_staff")
    member = get_object_or_404(staff_list(actor=request.user), pk=pk)
    _offerings_post(
        request,
        ticked="service",
        save=lambda branch, ids: sched.offering_set(actor=request.user, doctor=member, branch=branch, service_ids=ids),
        what=f"Services of {member}",
    )
    return redirect("staff-edit", pk=member.pk)


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
    stranded: list[Appointment] = []
    # Each form on the page comes back bound to its own submission only: the weekly hours keep
    # their stored values after a closure or special hours were added or removed (or refused).
    weekly_posted = (
        request.method == "POST" and "add_closure" not in request.POST and "delete_special" not in request.POST
    )
    if weekly_posted:
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
                    ngettext(
                        "%(n)d booked appointment falls outside these hours. "
                        "It is listed below; save again to keep it as it is.",
                        "%(n)d booked appointments fall outside these hours. "
                        "They are listed below; save again to keep them as they are.",
                        len(outside),
                    )
                    % {"n": len(outside)},
                )
            else:
                try:
                    sched.branch_hours_replace(actor=request.user, branch=branch, hours=hours)
                    messages.success(
                        request,
                        "Opening hours saved." + (_outside_count(len(outside)) if outside else ""),
                    )
                    return redirect("catalogue-hours", branch_pk=branch.pk)
                except ApplicationError as exc:
                    messages.error(request, exc.message)
    if "delete_special" in request.POST and _confirmed(request, "Nothing was removed"):
        special_row = get_object_or_404(SpecialDay, pk=to_int(request.POST["delete_special"]) or 0, branch=branch)
        try:
            sched.special_day_delete(actor=request.user, special=special_row)
            messages.success(request, f"{date_format(special_row.date, 'MONTH_DAY_FORMAT')}: usual hours again.")
            return redirect("catalogue-hours", branch_pk=branch.pk)
        except AppointmentsAffected as exc:
            messages.error(request, exc.message)
            stranded = _shown(
                request,
                selectors.stranded_by_special_day(branch=branch, replacing=special_row),
            )
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
            kept = "special hours" if special_opens else "closed"
            messages.success(request, f"{date_format(day, 'MONTH_DAY_FORMAT')}: {kept}.")
            return redirect("catalogue-hours", branch_pk=branch.pk)
        except ValueError:
            messages.error(request, "Give the date (and times, if any) in full.")
        except AppointmentsAffected as exc:
            messages.error(request, exc.message)
            stranded = _shown(
                request,
                selectors.stranded_by_special_day(branch=branch, day=day, opens=special_opens, closes=special_closes),
            )
        except ApplicationError as exc:
            messages.error(request, refusal(exc))
    rows: list[dict[str, Any]] = [
        {
            "weekday": w,
            "label": label,
            "opens": request.POST.get(f"opens_{w}")
            if weekly_posted
            else (current[w].opens.strftime("%H:%M") if w in current else ""),
            "closes": request.POST.get(f"closes_{w}")
            if weekly_posted
            else (current[w].closes.strftime("%H:%M") if w in current else ""),
        }
        for w, label in Weekday.choices
    ]
    special = SpecialDay.objects.filter(branch=branch, date__gte=timezone.localdate()).order_by("date", "opens")
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(
            request,
            "catalogue/hours.html",
            {"branch": branch, "rows": rows, "outside": outside, "special": special, "stranded": stranded},
        )


class ExtraShiftForm(forms.Form):
    doctor = forms.ModelChoiceField(queryset=StaffMember.objects.none())
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))


class ShiftChangeForm(forms.Form):
    starts = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    break_starts = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    break_ends = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    from_day = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        label="New hours from",
        help_text="The weeks before keep the old hours.",
    )


class ExtraShiftChangeForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))


class SpecialDayForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    opens = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Opens")
    closes = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="Closes")
    note = forms.CharField(max_length=200, required=False)


def _doctor_choices(field: forms.Field) -> None:
    field.queryset = StaffMember.objects.filter(  # type: ignore[attr-defined]
        roles__contains=[Role.DOCTOR], is_active=True
    ).select_related("user")
    field.label_from_instance = lambda d: d.user.get_full_name() or d.user.email  # type: ignore[attr-defined]


def _branch_post(request: HttpRequest, branch: Branch) -> tuple[str, list[Appointment]] | None:
    """The small actions of the rooms and shifts page, each one service call. Returns None when
    nothing of these was asked; otherwise the outcome's message and, when a change was refused
    because it would strand booked appointments, those appointments (from the selector)."""
    post = request.POST
    try:
        if "room_active" in post:
            room = get_object_or_404(Room, pk=to_int(post["room_active"]) or 0, branch=branch)
            room = sched.room_set_active(actor=request.user, room=room, is_active=post.get("is_active") == "1")
            return f"{room.name} {'is in use again' if room.is_active else 'is out of use'}.", []
        if "end_shift" in post:
            pattern = get_object_or_404(ShiftPattern, pk=to_int(post["end_shift"]) or 0, branch=branch)
            try:
                last_day = date.fromisoformat(post.get("last_day", ""))
            except ValueError:
                messages.error(request, "Give the shift's last day.")
                return "", []
            try:
                ended = sched.shift_pattern_end(actor=request.user, pattern=pattern, last_day=last_day)
            except AppointmentsAffected as exc:
                messages.error(request, exc.message)
                return "", _shown(request, selectors.stranded_by_shift_end(pattern=pattern, last_day=last_day))
            return ("Shift ended." if ended else "Shift removed: it had not begun."), []
        if "delete_extra" in post:
            extra = get_object_or_404(ExtraShift, pk=to_int(post["delete_extra"]) or 0, branch=branch)
            if not _confirmed(request, "Nothing was cancelled"):
                return "", []
            try:
                sched.extra_shift_delete(actor=request.user, extra=extra)
            except AppointmentsAffected as exc:
                messages.error(request, exc.message)
                return "", _shown(request, selectors.stranded_by_extra_shift(extra=extra))
            return "Extra shift cancelled.", []
    except ApplicationError as exc:
        messages.error(request, refusal(exc))
        return "", []
    return None


@login_required
def rooms_and_shifts(request: HttpRequest, branch_pk: int) -> HttpResponse:
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.manage_branch_calendar", branch)
    stranded: list[Appointment] = []
    if request.method == "POST":
        outcome = _branch_post(request, branch)
        if outcome is not None:
            message, stranded = outcome
            if message:
                messages.success(request, message)
                return redirect("catalogue-branch", branch_pk=branch.pk)
    room_form = RoomForm(request.POST if "add_room" in request.POST else None)
    shift_form = ShiftForm(request.POST if "add_shift" in request.POST else None)
    extra_form = ExtraShiftForm(request.POST if "add_extra" in request.POST else None, prefix="extra")
    _doctor_choices(shift_form.fields["doctor"])
    _doctor_choices(extra_form.fields["doctor"])
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
    if "add_extra" in request.POST and extra_form.is_valid():
        d = extra_form.cleaned_data
        added = submit(
            extra_form,
            lambda: sched.extra_shift_create(
                actor=request.user, doctor=d["doctor"], branch=branch, day=d["date"], starts=d["starts"], ends=d["ends"]
            ),
        )
        if added:
            messages.success(request, "Extra shift added.")
            return redirect("catalogue-branch", branch_pk=branch.pk)
    today = timezone.now().astimezone(ZoneInfo(branch.timezone)).date()
    context = {
        "branch": branch,
        "room_form": room_form,
        "shift_form": shift_form,
        "extra_form": extra_form,
        "rooms": Room.objects.filter(branch=branch),
        "shifts": [
            s
            for s in ShiftPattern.objects.filter(branch=branch)
            .select_related("doctor__user")
            .order_by("doctor", "weekday", "valid_from", "starts")
            if iv.holds_weekday(s.weekday, s.valid_from, s.valid_until)  # not a change's empty leftover
        ],
        "extras": ExtraShift.objects.filter(branch=branch, date__gte=today).select_related("doctor__user"),
        "today": today,
        "stranded": stranded,
    }
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, "catalogue/branch.html", context)


def _change_page(
    request: HttpRequest,
    *,
    branch: Branch,
    form: forms.Form,
    title: str,
    change: Callable[[dict[str, Any]], object],
    stranded: Callable[[dict[str, Any]], list[Appointment]],
    back: str = "catalogue-branch",
) -> HttpResponse:
    """An edit page of one set-up row: a valid form runs `change` (one service call); a refusal
    that would strand booked appointments lists them (from the `stranded` selector)."""
    shown: list[Appointment] = []
    if request.method == "POST" and form.is_valid():
        try:
            change(form.cleaned_data)
        except AppointmentsAffected as exc:
            form.add_error(None, exc.message)
            shown = _shown(request, stranded(form.cleaned_data))
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"{title}: saved.")
            return redirect(back, branch_pk=branch.pk)
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(
            request,
            "catalogue/change.html",
            {"branch": branch, "form": form, "title": title, "stranded": shown, "back": back},
        )


@login_required
def shift_change(request: HttpRequest, pk: int) -> HttpResponse:
    """New hours for a weekly shift from a day on (the weeks before keep the old ones)."""
    pattern = get_object_or_404(ShiftPattern.objects.select_related("doctor__user", "branch"), pk=pk)
    authorize(request.user, "scheduling.manage_branch_calendar", pattern.branch)
    today = timezone.now().astimezone(ZoneInfo(pattern.branch.timezone)).date()
    initial = {f: getattr(pattern, f) for f in ("starts", "ends", "break_starts", "break_ends")}
    form = ShiftChangeForm(request.POST or None, initial={**initial, "from_day": max(today, pattern.valid_from)})
    return _change_page(
        request,
        branch=pattern.branch,
        form=form,
        title=f"{pattern.doctor.user.get_full_name()}, {pattern.get_weekday_display()}s",
        change=lambda d: sched.shift_pattern_change(actor=request.user, pattern=pattern, **d),
        stranded=lambda d: selectors.stranded_by_shift_change(pattern=pattern, **d),
    )


@login_required
def extra_shift_change(request: HttpRequest, pk: int) -> HttpResponse:
    extra = get_object_or_404(ExtraShift.objects.select_related("doctor__user", "branch"), pk=pk)
    authorize(request.user, "scheduling.manage_branch_calendar", extra.branch)
    form = ExtraShiftChangeForm(
        request.POST or None, initial={"date": extra.date, "starts": extra.starts, "ends": extra.ends}
    )
    return _change_page(
        request,
        branch=extra.branch,
        form=form,
        title=f"Extra shift of {extra.doctor.user.get_full_name()}",
        change=lambda d: sched.extra_shift_update(
            actor=request.user, extra=extra, day=d["date"], starts=d["starts"], ends=d["ends"]
        ),
        stranded=lambda d: selectors.stranded_by_extra_shift(
            extra=extra, day=d["date"], starts=d["starts"], ends=d["ends"]
        ),
    )


@login_required
def special_day_change(request: HttpRequest, branch_pk: int, pk: int) -> HttpResponse:
    special = get_object_or_404(SpecialDay.objects.select_related("branch"), pk=pk, branch_id=branch_pk)
    branch = special.branch
    authorize(request.user, "scheduling.manage_branch_calendar", branch)
    initial = {"date": special.date, "opens": special.opens, "closes": special.closes, "note": special.note}
    form = SpecialDayForm(request.POST or None, initial=initial)
    return _change_page(
        request,
        branch=branch,
        form=form,
        title=date_format(special.date, "MONTH_DAY_FORMAT"),
        change=lambda d: sched.special_day_update(
            actor=request.user, special=special, day=d["date"], opens=d["opens"], closes=d["closes"], note=d["note"]
        ),
        stranded=lambda d: selectors.stranded_by_special_day(
            branch=branch, day=d["date"], opens=d["opens"], closes=d["closes"], replacing=special
        ),
        back="catalogue-hours",
    )
