"""The waitlist's pages: the desk's list per branch (add a patient, remove, see the offers and their
state), the patient's offer page (accept or decline a freed time), the patient's own entry page (leave
the list), and "Join the waitlist" from the online booking page when no time suits, proven by the
booking page's one-time code. Each action is one service or selector call (scheduling.services)."""

from __future__ import annotations

from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.net import client_ip
from frontend.forms import DayField, patient_lookup, show_error, to_int
from frontend.no_show_flags import flags_of
from invoicing.checkout.selectors import booking_terms
from invoicing.checkout.services import waitlist_offer_checkout
from notifications.waitlist_messages import hold_until
from patients import portal
from patients.models import Patient
from scheduling import selectors
from scheduling import services as sched
from scheduling.cancel_window import call_the_branch, inside_cancellation_window
from scheduling.exceptions import WaitlistLinkInvalid
from scheduling.models import Service, WaitlistEntry, Weekday
from scheduling.no_shows import no_show_records
from scheduling.waitlist import (
    waitlist_default_dates,
    waitlist_entry_read,
    waitlist_freed_list,
    waitlist_freed_named,
    waitlist_list,
    waitlist_offer_list,
    waitlist_offer_read,
    waitlist_offered_on_joining,
)
from tenants.audit.services import access_log_patients, access_log_records
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember
from tenants.org.selectors import branch_list

WEEKDAYS = [(str(value), label) for value, label in Weekday.choices]


class WindowForm(forms.Form):
    """When the patient can come: dates, times of day on the branch's clock, weekdays (none: any)."""

    date_from = DayField(widget=forms.DateInput(attrs={"type": "date"}), label="From")
    date_to = DayField(widget=forms.DateInput(attrs={"type": "date"}), label="Until")
    time_from = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="Earliest time", initial=time(8)
    )
    time_to = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="Latest time", initial=time(18)
    )
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Weekdays",
        help_text="None ticked: any day.",
    )

    def window(self) -> sched.Window:
        d = self.cleaned_data
        return sched.Window(
            date_from=d["date_from"],
            date_to=d["date_to"],
            time_from=d["time_from"],
            time_to=d["time_to"],
            weekdays=[int(w) for w in d["weekdays"]],
        )


class EntryForm(WindowForm):
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    doctor = forms.ModelChoiceField(queryset=StaffMember.objects.none(), required=False, empty_label="Any doctor")
    notes = forms.CharField(max_length=300, required=False, label="Note for the desk")
    field_order = ["service", "doctor", "date_from", "date_to", "time_from", "time_to", "weekdays", "notes"]

    def __init__(self, *args: Any, branch: Branch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.fields["service"]
        service.queryset = offered = selectors.services_offered(branch=branch)  # type: ignore[attr-defined]
        only = list(offered[:2])
        if len(only) == 1:  # nothing to choose: it is that service
            service.initial = only[0].pk
        else:
            service.help_text = "Choose a service: this branch offers several."
        doctor = self.fields["doctor"]
        doctor.queryset = selectors.doctors_offering(branch=branch)  # type: ignore[attr-defined]
        doctor.label_from_instance = lambda d: d.user.get_full_name() or d.user.email  # type: ignore[attr-defined]


def _initial(branch: Branch) -> dict[str, date]:
    first, last = waitlist_default_dates(branch=branch)
    return {"date_from": first, "date_to": last}


@login_required
def desk_waitlist(request: HttpRequest, branch_pk: int | None = None) -> HttpResponse:
    """The branch's waitlist: who waits for what, first joined first, with each one's offers; a
    patient search and the form to add the patient found."""
    branches = list(branch_list(actor=request.user).filter(is_active=True))
    if branch_pk is None:
        if not branches:
            raise Http404
        return redirect("desk-waitlist-branch", branch_pk=branches[0].pk)
    branch = get_object_or_404(Branch, pk=branch_pk)
    authorize(request.user, "scheduling.view_calendar", branch)
    can_add = request.user.has_perm("scheduling.book", branch)
    patient: Patient | None = None
    pk = to_int(request.POST.get("patient") or request.GET.get("patient"))
    if pk is not None and can_add:
        patient = get_object_or_404(Patient, pk=pk)
        authorize(request.user, "patients.view_patient", patient)
        access_log_patients(request, action="view", patients=[patient])
    form = EntryForm(request.POST or None, branch=branch, initial=_initial(branch))
    if request.method == "POST" and patient is not None and form.is_valid():
        try:
            joined = sched.waitlist_join(
                actor=request.user,
                patient=patient,
                branch=branch,
                service=form.cleaned_data["service"],
                doctor=form.cleaned_data["doctor"],
                window=form.window(),
                notes=form.cleaned_data["notes"],
            )
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            offered = waitlist_offered_on_joining(entry=joined.entry)
            also = f" and offered {offered}" if offered else ""
            messages.success(request, f"{patient.first_name} {patient.last_name} is on the waitlist{also}.")
            return redirect("desk-waitlist-branch", branch_pk=branch.pk)
    q = (request.GET.get("q") or "").strip()[:100]
    found, search_error = patient_lookup(request, q) if can_add and patient is None else ([], "")
    entries = list(waitlist_list(actor=request.user, branch=branch))
    access_log_records(request, action="view", object_type="waitlist_entry", records=entries)
    freed = waitlist_freed_list(actor=request.user, branch=branch)
    access_log_patients(request, action="view", patients=waitlist_freed_named(freed=[f for f, _said in freed]))
    tz = ZoneInfo(branch.timezone)
    shown = (
        [e.patient_id for e in entries] + [p.pk for p in found] + [f.patient_id for f, _said in freed if f.patient_id]
    )
    records = no_show_records(patient_ids=shown + ([patient.pk] if patient else []))
    context = {
        **flags_of(records),
        "patient_flag": records[patient.pk].said if patient and records[patient.pk].flagged else "",
        "branch": branch,
        "branches": branches,
        "entries": entries,
        "form": form,
        "patient": patient,
        "q": q,
        "found": found,
        "search_error": search_error,
        "can_add": can_add,
        "now": timezone.now(),
        "freed": freed,
    }
    with timezone.override(tz):
        return render(request, "waitlist/desk.html", context)


@login_required
@require_POST
def desk_waitlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(WaitlistEntry.objects.select_related("branch", "patient"), pk=pk)
    if request.POST.get("confirm") != "1":  # asked first (the page's "Yes, remove")
        messages.error(request, "Not removed: confirm with “Yes, remove”.")
        return redirect("desk-waitlist-branch", branch_pk=entry.branch_id)
    try:
        sched.waitlist_remove(actor=request.user, entry=entry)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{entry.patient.first_name} {entry.patient.last_name} is off the waitlist.")
    return redirect("desk-waitlist-branch", branch_pk=entry.branch_id)


@login_required
def desk_waitlist_offers(request: HttpRequest, branch_pk: int) -> HttpResponse:
    """Every offer made at the branch, newest first, with its state."""
    branch = get_object_or_404(Branch, pk=branch_pk)
    offers = list(waitlist_offer_list(actor=request.user, branch=branch)[:200])
    access_log_records(
        request,
        action="view",
        object_type="waitlist_entry",
        records=[o.entry for o in offers],
    )
    flags = flags_of(no_show_records(patient_ids=[o.entry.patient_id for o in offers]))
    context = {"branch": branch, "offers": offers, "now": timezone.now(), **flags}
    with timezone.override(ZoneInfo(branch.timezone)):
        return render(request, "waitlist/offers.html", context)


# --- the patient's pages -----------------------------------------------------------------------------


@never_cache
def offer_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an offer's message: the time, and accept or decline while it can be taken."""
    try:
        shown = waitlist_offer_read(token=token)
    except WaitlistLinkInvalid as exc:
        raise Http404 from exc
    access_log_records(request, action="view", object_type="waitlist_entry", records=[shown.offer.entry])
    hold, entry = shown.offer.hold, shown.offer.entry
    context: dict[str, Any] = {"shown": shown, "token": token, "terms": None, "too_close": 0}
    # until when it is held, as its message says it ("today 13:05", "tomorrow 09:30", else the day)
    context["until"] = hold_until(
        shown.offer.expires_at, tz=ZoneInfo(entry.branch.timezone), language="en-GB", now=timezone.now()
    )
    if shown.can_accept and hold.service is not None and hold.branch is not None:
        # The same "Payment and cancellation" box as online booking, as this patient would be asked.
        context["terms"] = booking_terms(service=hold.service, branch=hold.branch, patient_id=entry.patient_id)
        context["price"] = selectors.service_price_shown(service=hold.service, branch=hold.branch)
        if inside_cancellation_window(start=hold.span.lower):
            context["too_close"] = selectors.policy_get().cancellation_window_hours
            context["call"] = call_the_branch(hold.branch)
    with timezone.override(ZoneInfo(entry.branch.timezone)):
        return render(request, "waitlist/offer.html", context)


@require_POST
def offer_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Take the time, under online booking's payment rules: booked at once, or to the same pay step."""
    try:
        taken = waitlist_offer_checkout(token=token)
    except WaitlistLinkInvalid as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("waitlist-offer", token=token)
    if taken.booking is not None:
        messages.success(request, "The time is yours: you are booked.")
        return redirect("book-manage", token=taken.booking.manage_token)
    if taken.checkout is None:
        raise Http404
    if taken.notice:  # a deposit (or a card) first: the time is kept while they pay
        messages.info(request, taken.notice)
    return redirect("book-pay", token=taken.checkout.return_token)


@require_POST
def offer_decline(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sched.waitlist_offer_decline(token=token)
    except WaitlistLinkInvalid as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you: you declined this time. You stay on the waitlist.")
    return redirect("waitlist-offer", token=token)


@never_cache
def entry_page(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's own link to their place on the list, to leave it."""
    try:
        entry = waitlist_entry_read(token=token)
    except WaitlistLinkInvalid as exc:
        raise Http404 from exc
    access_log_records(request, action="view", object_type="waitlist_entry", records=[entry])
    return render(request, "waitlist/entry.html", {"entry": entry, "token": token})


@require_POST
def leave(request: HttpRequest, token: str) -> HttpResponse:
    """Leave the list by one's own link: the entry's, or an offer's (then back to the offer)."""
    try:
        sched.waitlist_leave(token=token)
    except WaitlistLinkInvalid as exc:
        raise Http404 from exc
    messages.success(request, "You have left the waitlist. We will not offer you any more times.")
    back = request.POST.get("back") == "offer"
    return redirect("waitlist-offer" if back else "waitlist-entry", token=token)


# --- joining from the online booking page ----------------------------------------------------------


class JoinForm(WindowForm):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    contact = forms.CharField(
        max_length=254, label="E-mail or mobile number", help_text="We send a code there, and later the offers."
    )
    field_order = ["first_name", "last_name", "contact", "date_from", "date_to", "time_from", "time_to", "weekdays"]


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label="The six-digit code we sent you")


def _asked(request: HttpRequest) -> tuple[Branch, Service, StaffMember | None]:
    source = request.GET  # the form posts to its own address: the booking page's choices stay in its query
    branch = Branch.objects.filter(pk=to_int(source.get("branch")) or 0, is_active=True).first()
    service = Service.objects.filter(
        pk=to_int(source.get("service")) or 0, is_active=True, bookable_online=True
    ).first()
    if branch is None or service is None:
        raise Http404
    doctor = selectors.doctors_offering(branch=branch, service=service).filter(pk=to_int(source.get("doctor")) or 0)
    return branch, service, doctor.first()


def book_waitlist(request: HttpRequest) -> HttpResponse:
    """Step 1: who, where to write, and when they could come; a code is sent to prove the contact."""
    branch, service, doctor = _asked(request)
    form = JoinForm(request.POST or None, initial=_initial(branch))
    if request.method == "POST" and form.is_valid():
        try:
            sent = portal.booking_code_request(contact=form.cleaned_data["contact"], ip=client_ip(request))
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            d = form.cleaned_data
            request.session["waitlist_join"] = {
                "branch": branch.pk,
                "service": service.pk,
                "doctor": doctor.pk if doctor else None,
                "first_name": d["first_name"],
                "last_name": d["last_name"],
                "date_from": d["date_from"].isoformat(),
                "date_to": d["date_to"].isoformat(),
                "time_from": d["time_from"].strftime("%H:%M"),
                "time_to": d["time_to"].strftime("%H:%M"),
                "weekdays": [int(w) for w in d["weekdays"]],
                "challenge": sent.challenge,
            }
            return redirect("book-waitlist-confirm")
    context = {"form": form, "branch": branch, "service": service, "doctor": doctor}
    return render(request, "waitlist/join.html", context)


def book_waitlist_confirm(request: HttpRequest) -> HttpResponse:
    """Step 2: the code; then the visitor is on the list, and sees their link to leave it."""
    pending = request.session.get("waitlist_join")
    if not pending:
        return redirect("book")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            joined = sched.waitlist_join_online(
                branch_id=pending["branch"],
                service_id=pending["service"],
                doctor_id=pending["doctor"],
                window=sched.Window(
                    date_from=date.fromisoformat(pending["date_from"]),
                    date_to=date.fromisoformat(pending["date_to"]),
                    time_from=time.fromisoformat(pending["time_from"]),
                    time_to=time.fromisoformat(pending["time_to"]),
                    weekdays=pending["weekdays"],
                ),
                first_name=pending["first_name"],
                last_name=pending["last_name"],
                challenge=pending["challenge"],
                code=form.cleaned_data["code"],
                ip=client_ip(request),
                request=request,
            )
        except ApplicationError as exc:
            show_error(form, exc)
        else:
            request.session.pop("waitlist_join", None)
            messages.success(request, "You are on the waitlist. We will write when a time frees up.")
            return redirect("waitlist-entry", token=joined.token)
    back = reverse("book-waitlist") + f"?branch={pending['branch']}&service={pending['service']}"
    return render(request, "waitlist/join_confirm.html", {"form": form, "back": back})
