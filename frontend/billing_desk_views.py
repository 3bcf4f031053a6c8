"""The billing desk's lists and reports: every invoice found by number, patient, status, branch
and issue date, with what is owed and the aged receivables; a branch's takings of one day (the
end-of-day cash-up); and one payment towards a patient's whole balance, allocated oldest first.

Each calls one invoicing selector or service, the same the API calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.fields import AmountFormField
from config.money import from_minor, minor_units, money_format
from frontend.forms import DayField, show_error, to_date, to_int
from invoicing.desk import STATUS_CHOICES, DeskFilters, billing_desk, visit_billing
from invoicing.desk import patient_billing as patient_billing_read
from invoicing.exceptions import Overpayment
from invoicing.models import DESK_METHODS
from invoicing.reports import daily_takings, takings_access_logged
from invoicing.services.allocation import balance_pay
from tenants.audit.services import access_log_records, access_log_response


class DeskFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Invoice or patient",
        help_text="Invoice number, or name, MRN, date of birth or phone",
    )
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    branch = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Branch")
    issued_from = DayField(required=False, label="Issued from", widget=forms.DateInput(attrs={"type": "date"}))
    issued_to = DayField(required=False, label="Issued to", widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(required=False, label="Past due only")

    def __init__(self, *args: Any, branches: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [("", "All my branches"), *((b.pk, b.name) for b in branches)]  # type: ignore[attr-defined]


def _filters(get: Any) -> DeskFilters:
    return DeskFilters(
        branch_id=to_int(get.get("branch")),
        status=get.get("status", "")[:20],
        q=get.get("q", "")[:100],
        overdue=get.get("overdue") in {"on", "1", "true"},
        issued_from=to_date(get.get("issued_from")),
        issued_to=to_date(get.get("issued_to")),
    )


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """The billing desk: the invoices of the branches this user sees that the filters find (open
    ones unless asked otherwise), what they still owe, and the aged receivables under the same filters."""
    view = billing_desk(actor=request.user, filters=_filters(request.GET))
    form = DeskFilterForm(request.GET or None, branches=view.branches)
    form.is_valid()
    access_log_records(request, action="list", object_type="invoice", records=view.invoices)
    if view.receivables:
        ids = [r.patient_id for r in view.receivables]
        access_log_response(request, action="list", object_type="patient_balance", object_ids=ids, patient_ids=ids)
    return render(request, "billing/desk.html", {"view": view, "form": form})


@login_required
def takings(request: HttpRequest) -> HttpResponse:
    """A branch's takings of one day: payments by method, refunds, and what is left (the cash-up)."""
    report = daily_takings(
        actor=request.user, branch_id=to_int(request.GET.get("branch")), day=to_date(request.GET.get("day"))
    )
    takings_access_logged(request, report)
    context = {
        "report": report,
        "previous": report.day - timedelta(days=1),
        "next": report.day + timedelta(days=1),
    }
    with timezone.override(ZoneInfo(report.branch.timezone)):  # times as on the branch's wall clock
        return render(request, "billing/takings.html", context)


class BalancePaymentForm(forms.Form):
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)
    method = forms.ChoiceField(choices=[(m.value, m.label) for m in DESK_METHODS], widget=forms.RadioSelect)
    reference = forms.CharField(required=False, max_length=120, help_text="Terminal receipt number, if any")

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the one parser of money input (config.fields.parse_amount): what the API refuses, this refuses
        self.fields["amount"] = AmountFormField(
            places=minor_units(currency),
            label=f"Amount ({currency})",
            help_text="Paid towards the oldest invoice first",
        )
        self.order_fields(["amount", "method", "reference", "currency"])


def balance_forms(balances: list[Any], data: Any = None, posted: str = "") -> list[tuple[Any, BalancePaymentForm]]:
    """One "pay the balance" form per currency owed, prefilled with all of it; the posted one bound."""
    return [
        (
            b,
            BalancePaymentForm(
                data if posted == b.currency else None,
                currency=b.currency,
                initial={
                    "amount": from_minor(b.owed_minor, b.currency),
                    "method": DESK_METHODS[0].value,
                    "currency": b.currency,
                },
                prefix=f"balance-{b.currency.lower()}",
            ),
        )
        for b in balances
    ]


@login_required
@require_POST
def patient_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """One desk payment towards a patient's whole balance, spread over the open invoices oldest first."""
    read = patient_billing_read(actor=request.user, patient_id=pk)
    access_log_response(request, action="update", object_type="patient_balance", object_ids=[pk], patient_ids=[pk])
    currency = next(
        (b.currency for b in read.balances if request.POST.get(f"balance-{b.currency.lower()}-currency")), ""
    )
    pairs = balance_forms(read.balances, request.POST, currency)
    form = next((f for b, f in pairs if b.currency == currency), None)
    if form is None:
        messages.error(request, "The patient owes nothing: no payment was recorded.")
        return redirect("billing-patient", pk=pk)
    if form.is_valid():
        try:
            paid = balance_pay(
                actor=request.user,
                patient_id=pk,
                currency=currency,
                method=form.cleaned_data["method"],
                amount_minor=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"],
            )
        except ApplicationError as exc:
            if exc.status in {403, 404}:
                raise
            if isinstance(exc, Overpayment):
                owed = next(b.owed_minor for b in read.balances if b.currency == currency)
                form.add_error("amount", f"That is more than the patient owes: {money_format(owed, currency)}.")
            else:
                show_error(form, exc, {"amount_minor": "amount"})
        else:
            numbers = ", ".join(p.invoice.number or "" for p in paid)
            messages.success(request, f"Payment recorded on {numbers}.")
            return redirect("billing-patient", pk=pk)
    return render(
        request,
        "billing/patient.html",
        {"billing": read, "patient_id": pk, "balance_forms": pairs},
        status=400,
    )


@login_required
def patient_billing(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's balance, open invoices and last payments: the chart's Invoices section (asked
    for by the chart, htmx) or a page of its own, where those who take payments pay the whole
    balance at once."""
    read = patient_billing_read(actor=request.user, patient_id=pk)
    access_log_response(request, action="view", object_type="patient_balance", object_ids=[pk], patient_ids=[pk])
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "billing/_patient.html", {"billing": read, "patient_id": pk})
    pairs = balance_forms(read.balances) if read.can_pay else []
    return render(request, "billing/patient.html", {"billing": read, "patient_id": pk, "balance_forms": pairs})


@login_required
def visit_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """The front desk panel's money for a visit: "Take payment" on a completed visit that still
    owes, the deposit or prepayment a booked one has had, and the patient's other past-due balance."""
    read = visit_billing(actor=request.user, appointment_id=pk)
    if read.invoice is not None:
        access_log_records(request, action="view", object_type="invoice", records=[read.invoice])
    if read.other_past_due and read.patient_id is not None:
        ids = [read.patient_id]
        access_log_response(request, action="view", object_type="patient_balance", object_ids=ids, patient_ids=ids)
    return render(request, "billing/_visit_payment.html", {"visit": read, "invoice": read.invoice})
