"""A doctor's own day, and doctors' leave for managers (with the appointments in its way)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend.desk_views import BUTTONS
from frontend.forms import show_error, to_date, to_int
from scheduling import intervals as iv
from scheduling import services as sched
from scheduling.exceptions import InvalidScheduling, LeaveConflicts, LeaveDecisionsFailed
from scheduling.leave_plan import LeaveAction, LeaveItem, LeaveProposal, leave_proposal
from scheduling.models import CalendarEntry, Leave, Status
from scheduling.selectors import calendar_rows, calendar_rows_visible
from scheduling.services import LeaveDecision, LeaveResolved
from tenants.audit.services import access_log_disclosure, access_log_rows
from tenants.org.models import Role, StaffMember
from tenants.org.rules import staff_of
from tenants.org.selectors import chain_settings_get, doctor_list_managed, staff_with_role


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    doctor = staff_of(request.user)
    if doctor is None or Role.DOCTOR not in doctor.roles:
        raise Http404
    # her day on her branches' clock (the chain's, when she works in more than one zone)
    zones = {branch.timezone for branch in doctor.branches.all()}
    tz = ZoneInfo(zones.pop() if len(zones) == 1 else chain_settings_get().default_timezone)
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


# --- leave, and what becomes of the appointments in its way -------------------------------------------
# A decision's value in the page's selects: "any" (any free doctor at the same time), "doctor:<id>",
# "next" (the doctor's next free time after the leave), "cancel" (with a reason); "" in a row: as for all.
ANY, NEXT, CANCEL, DOCTOR = "any", "next", "cancel", "doctor:"
LEAVE_FIELDS = {"start": "starts", "end": "ends"}  # the service's names of the form's fields


@dataclass
class LeaveChoices:
    """What the manager chose on the proposal, as sent: kept on the page when something is refused."""

    bulk: str = ""
    bulk_reason: str = ""
    rows: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)


def _choices(data: QueryDict) -> LeaveChoices:
    chosen = LeaveChoices(bulk=data.get("bulk", ""), bulk_reason=data.get("bulk_reason", "").strip())
    for key in data:
        value = data.get(key, "")
        prefix, _, rest = key.partition("-")
        pk = to_int(rest)
        if pk is None or prefix not in ("row", "reason"):
            continue
        if prefix == "row" and value:
            chosen.rows[pk] = value
        elif prefix == "reason" and value.strip():
            chosen.reasons[pk] = value.strip()
    return chosen


def _decision(value: str, reason: str, doctors: dict[int, StaffMember]) -> LeaveDecision | None:
    if value == ANY:
        return LeaveDecision(LeaveAction.MOVE_TO_DOCTOR)
    if value == NEXT:
        return LeaveDecision(LeaveAction.NEXT_FREE_TIME)
    if value == CANCEL:
        return LeaveDecision(LeaveAction.CANCEL, reason=reason)
    doctor = doctors.get(to_int(value.removeprefix(DOCTOR)) or 0) if value.startswith(DOCTOR) else None
    return LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=doctor) if doctor is not None else None


def _decisions(
    chosen: LeaveChoices, doctors: dict[int, StaffMember]
) -> tuple[dict[int, LeaveDecision], LeaveDecision | None]:
    rows = {
        pk: decision
        for pk, value in chosen.rows.items()
        if (decision := _decision(value, chosen.reasons.get(pk, chosen.bulk_reason), doctors)) is not None
    }
    return rows, _decision(chosen.bulk, chosen.bulk_reason, doctors)


@login_required
def leave(request: HttpRequest) -> HttpResponse:
    """Add a doctor's leave. When appointments are in its way, the page lists them (time order,
    those the user may see) with what could become of each; "Save leave and apply" sends every
    decision in one request to one service call (leave_create_resolving)."""
    doctors = doctor_list_managed(actor=request.user)
    if not doctors.exists():
        raise Http404
    tz = ZoneInfo(chain_settings_get().default_timezone)
    form = LeaveForm(request.POST or None, doctors=doctors)
    proposal: LeaveProposal | None = None
    chosen = _choices(request.POST) if "apply" in request.POST else LeaveChoices()
    row_errors: dict[str, list[str]] = {}
    notice = ""
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        with timezone.override(tz):
            starts, ends = (timezone.make_aware(v.replace(tzinfo=None), tz) for v in (d["starts"], d["ends"]))
        decisions, for_all = _decisions(chosen, {s.pk: s for s in staff_with_role(Role.DOCTOR)})
        try:
            done = sched.leave_create_resolving(
                actor=request.user,
                doctor=d["doctor"],
                start=starts,
                end=ends,
                reason=d["reason"],
                decisions=decisions,
                for_all=for_all,
            )
        except (LeaveConflicts, LeaveDecisionsFailed) as exc:
            access_log_disclosure(actor=request.user, exc=exc, request=request)
            proposal = leave_proposal(actor=request.user, doctor=d["doctor"], start=starts, end=ends)
            row_errors = exc.fields if isinstance(exc, LeaveDecisionsFailed) else {}
            undecided = exc.fields.get("appointments", []) if isinstance(exc, LeaveConflicts) else []
            if "apply" in request.POST and undecided and not proposal.blocked:
                # "Save leave and apply" with appointments left to no choice: an error, each row marked
                row_errors = {pk: ["Choose what becomes of this appointment."] for pk in undecided}
                form.add_error(None, _undecided(len(undecided)))
            elif isinstance(exc, LeaveConflicts) and not proposal.blocked:
                notice = _to_decide(proposal)  # a decision to make, not an error
            else:
                form.add_error(None, _why(exc, proposal))
        except InvalidScheduling as exc:
            row_errors = {k: v for k, v in exc.fields.items() if to_int(k) is not None or k == "for_all"}
            if "apply" in request.POST:
                proposal = leave_proposal(actor=request.user, doctor=d["doctor"], start=starts, end=ends)
            if row_errors:
                form.add_error(
                    None,
                    f"{len(row_errors)} decision(s) below cannot be applied as chosen: see the appointments "
                    "marked; nothing was saved and what you chose is kept.",
                )
            rest = {k: v for k, v in exc.fields.items() if k not in row_errors}
            if rest:  # the leave's own times beside their fields (a day beyond the calendar's years)
                show_error(form, InvalidScheduling(fields=rest), LEAVE_FIELDS)
        except ApplicationError as exc:
            show_error(form, exc, LEAVE_FIELDS)
        else:
            messages.success(request, _added(done))
            return redirect("leave")
    if proposal is not None:
        access_log_rows(
            actor=request.user,
            object_type="appointment",
            rows=[{"id": i.appointment.pk, "patient_id": i.appointment.patient_id} for i in proposal.items],
            request=request,
        )
    upcoming = Leave.objects.filter(doctor__in=doctors, status=Status.BOOKED, busy__endswith__gte=timezone.now())
    context = {
        "form": form,
        "proposal": proposal,
        "notice": notice,
        "rows": _rows(proposal, chosen, row_errors, tz) if proposal else [],
        "bulk_options": _bulk_options(proposal) if proposal else [],
        "bulk_unserved": _bulk_unserved(proposal, chosen.bulk) if proposal else 0,
        "chosen": chosen,
        "bulk_error": " ".join(row_errors.get("for_all", [])),
        "leave": upcoming.select_related("doctor__user").order_by("span"),
    }
    with timezone.override(tz):
        return render(request, "calendar/leave.html", context)


def _why(exc: ApplicationError, proposal: LeaveProposal) -> str:
    """The refusal in the page's words: the proposal below lists the appointments."""
    if proposal.hidden:
        return (
            f"{proposal.hidden} appointment(s) in this leave are at a branch you do not manage: ask whoever "
            "manages it to move or cancel them first."
        )
    if isinstance(exc, LeaveDecisionsFailed):
        return f"{exc.message} See the appointments marked below; what you chose is kept."
    return _to_decide(proposal)


def _to_decide(proposal: LeaveProposal) -> str:
    count = len(proposal.items)
    return (
        f"{count} appointment{'s' if count != 1 else ''} {'fall' if count != 1 else 'falls'} in this leave: "
        "decide for each below, for all at once or one by one, then save the leave and apply."
    )


def _undecided(count: int) -> str:
    return (
        f"Decide for {count} appointment{'s' if count != 1 else ''}, or choose one decision for all: "
        "nothing was saved and what you chose is kept."
    )


def _added(done: LeaveResolved) -> str:
    if not done.moved and not done.cancelled:
        return "Leave added."
    return f"Leave added: {len(done.moved)} moved, {len(done.cancelled)} cancelled."


@dataclass(frozen=True)
class LeaveRow:
    item: LeaveItem
    options: list[tuple[str, str]]  # (value, label) of the row's select
    value: str  # the option chosen ("" as for all)
    reason: str
    errors: list[str]
    bulk_unfit: bool  # left to the choice for all, which cannot apply to it


def _row_options(item: LeaveItem, tz: ZoneInfo) -> list[tuple[str, str]]:
    options = [("", "As chosen for all")]
    if item.movable:
        if item.free_doctors:
            options.append((ANY, "Any free doctor at the same time"))
        options += [(f"{DOCTOR}{d.pk}", f"Move to {d.name}, same time") for d in item.free_doctors]
        if item.next_free is not None:
            when = date_format(timezone.localtime(item.next_free, tz), "SHORT_DATETIME_FORMAT")
            options.append((NEXT, f"Next free time: {when}"))
    if item.cancellable:
        options.append((CANCEL, "Cancel"))
    return options


def _serves(item: LeaveItem, value: str) -> bool:
    """Whether the decision `value` can apply to `item` (one of its own options)."""
    if value == ANY:
        return item.movable and bool(item.free_doctors)
    if value == NEXT:
        return item.movable and item.next_free is not None
    if value == CANCEL:
        return item.cancellable
    if value.startswith(DOCTOR):
        return item.movable and any(f"{DOCTOR}{d.pk}" == value for d in item.free_doctors)
    return True


def _bulk_unserved(proposal: LeaveProposal, value: str) -> int:
    return sum(1 for i in proposal.items if not _serves(i, value)) if value else 0


def _bulk_options(proposal: LeaveProposal) -> list[tuple[str, str]]:
    """The choices for all, each saying for how many appointments it cannot apply (those then need
    their own choice); a choice that fits none is not offered."""
    total = len(proposal.items)
    choices = [
        (ANY, "Move all to any free doctor at the same time"),
        *[(f"{DOCTOR}{d.pk}", f"Move all to {d.name}") for d in proposal.doctors],
        (NEXT, "Move all to the doctor's next free time"),
        (CANCEL, "Cancel all with a reason"),
    ]
    options = [("", "Choose per appointment")]
    for value, label in choices:
        unserved = _bulk_unserved(proposal, value)
        if unserved == total:
            continue
        options.append((value, f"{label} (not possible for {unserved} of {total})" if unserved else label))
    return options


def _rows(proposal: LeaveProposal, chosen: LeaveChoices, errors: dict[str, list[str]], tz: ZoneInfo) -> list[LeaveRow]:
    return [
        LeaveRow(
            item=i,
            options=_row_options(i, tz),
            value=chosen.rows.get(i.appointment.pk, ""),
            reason=chosen.reasons.get(i.appointment.pk, ""),
            errors=errors.get(str(i.appointment.pk), []),
            bulk_unfit=not chosen.rows.get(i.appointment.pk) and not _serves(i, chosen.bulk),
        )
        for i in proposal.items
    ]


@login_required
@require_POST
def leave_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(Leave, pk=pk)
    if request.POST.get("confirm") != "1":  # only the confirmation form cancels (frontend/_cancel_confirm.html)
        messages.error(request, "Nothing was cancelled: confirm cancelling the leave first.")
        return redirect("leave")
    try:
        sched.leave_cancel(actor=request.user, leave=entry)
        messages.success(request, "Leave cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("leave")
