"""Fees pages: the owners' fee policy (/settings/fees/), the fees list billing works from
(/billing/fees/: failed charges first, retry and waive), and a patient's card on file
(/patients/<pk>/card/: brand, last four, expiry, remove). Each action calls one service or selector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.money import from_minor, minor_units, money_format, to_minor
from frontend.forms import flash, submit
from invoicing.fee_selectors import fee_charge_list, fee_settings_read
from invoicing.fees import FeeRule, FeeStatus
from invoicing.services import cards, fees
from invoicing.services.fees import FeeRuleIn
from patients.models import Patient
from tenants.audit.services import access_log_patients, access_log_records

RULE_CHOICES = FeeRule.choices


class FeePolicyForm(forms.Form):
    """Each fee: none, a fixed amount typed in the chain's currency, or a percentage of the price."""

    def __init__(self, data: QueryDict | None, *, initial: dict[str, Any], currency: str) -> None:
        super().__init__(data, initial=initial)
        self.currency = currency
        for prefix, label in (("no_show", "No-show fee"), ("late_cancel", "Late-cancellation fee")):
            self.fields[f"{prefix}_rule"] = forms.ChoiceField(choices=RULE_CHOICES, label=label)
            self.fields[f"{prefix}_amount"] = forms.DecimalField(
                required=False,
                min_value=Decimal(0),
                decimal_places=minor_units(currency),
                label=f"{label}: amount ({currency})",
                help_text=f"For a fixed amount, in {currency}, e.g. {from_minor(2500, currency)}.",
                widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
            )
            self.fields[f"{prefix}_percent"] = forms.DecimalField(
                required=False,
                min_value=Decimal(0),
                max_value=Decimal(100),
                decimal_places=2,
                label=f"{label}: percentage of the service's price",
                help_text="For a percentage, e.g. 50 for half the price.",
                widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
            )

    def rule(self, prefix: str) -> FeeRuleIn:
        d = self.cleaned_data
        amount, percent = d.get(f"{prefix}_amount"), d.get(f"{prefix}_percent")
        return FeeRuleIn(
            d[f"{prefix}_rule"],
            amount_minor=to_minor(amount, self.currency) if amount is not None else 0,
            percent_bp=int(percent.scaleb(2)) if percent is not None else 0,
        )


#: The services' field names as the form names them (errors beside their fields).
FIELD_MAP = {
    f"{p}_{k}": f"{p}_{f}"
    for p in ("no_show", "late_cancel")
    for k, f in (("amount_minor", "amount"), ("percent_bp", "percent"), ("rule", "rule"))
}


def _initial(settings_: Any) -> dict[str, Any]:
    p, currency = settings_.policy, settings_.currency
    return {
        "no_show_rule": p.no_show_rule,
        "no_show_amount": from_minor(p.no_show_amount_minor, currency) if p.no_show_amount_minor else None,
        "no_show_percent": Decimal(p.no_show_percent_bp).scaleb(-2) if p.no_show_percent_bp else None,
        "late_cancel_rule": p.late_cancel_rule,
        "late_cancel_amount": from_minor(p.late_cancel_amount_minor, currency) if p.late_cancel_amount_minor else None,
        "late_cancel_percent": Decimal(p.late_cancel_percent_bp).scaleb(-2) if p.late_cancel_percent_bp else None,
    }


@login_required
def fee_settings(request: HttpRequest) -> HttpResponse:
    current = fee_settings_read(actor=request.user)
    form = FeePolicyForm(
        request.POST if request.method == "POST" else None, initial=_initial(current), currency=current.currency
    )
    if request.method == "POST" and form.is_valid():
        saved = submit(
            form,
            lambda: fees.fee_policy_update(
                actor=request.user, no_show=form.rule("no_show"), late_cancellation=form.rule("late_cancel")
            ),
            FIELD_MAP,
        )
        if saved is not None:
            messages.success(request, "Fee policy saved.")
            return redirect("settings-fees")
    return render(request, "fees/settings.html", {"form": form, "current": current})


@login_required
def fee_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    rows = list(fee_charge_list(actor=request.user, status=status if status in FeeStatus.values else None)[:200])
    access_log_records(request, action="list", object_type="fee", records=rows)
    shown = [
        {
            "fee": r,
            "amount": money_format(r.amount_minor, r.currency),
            "can_retry": r.status in (FeeStatus.FAILED, FeeStatus.NO_CARD),
            "can_waive": r.status in (FeeStatus.PENDING, FeeStatus.FAILED, FeeStatus.NO_CARD),
        }
        for r in rows
    ]
    context = {
        "rows": shown,
        "status": status,
        "statuses": FeeStatus.choices,
        "manage": request.user.has_perm("invoicing.manage_fees"),
    }
    return render(request, "fees/list.html", context)


@login_required
@require_POST
def fee_retry(request: HttpRequest, pk: int) -> HttpResponse:
    charge = get_object_or_404(fee_charge_list(actor=request.user), pk=pk)
    flash(
        request, lambda: fees.fee_charge_retry(actor=request.user, fee_charge=charge), "The fee is being charged again."
    )
    return redirect("billing-fees")


@login_required
@require_POST
def fee_waive(request: HttpRequest, pk: int) -> HttpResponse:
    charge = get_object_or_404(fee_charge_list(actor=request.user), pk=pk)
    reason = request.POST.get("reason", "")
    flash(
        request,
        lambda: fees.fee_charge_waive(actor=request.user, fee_charge=charge, reason=reason),
        "The fee was waived and its invoice voided.",
    )
    return redirect("billing-fees")


@login_required
def card_on_file(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    if request.method == "POST":
        flash(
            request,
            lambda: cards.card_on_file_remove(
                actor=request.user, patient=patient, reason=request.POST.get("reason", "")
            ),
            "The card was removed: fees are no longer charged to it.",
        )
        return redirect("patient-card", pk=patient.pk)
    card = cards.card_on_file(actor=request.user, patient=patient)
    # the page names the patient, card or none: the read is logged either way
    if card:
        access_log_records(request, action="view", object_type="card", records=[card])
    else:
        access_log_patients(request, action="view", patients=[patient])
    return render(request, "fees/card.html", {"patient": patient, "card": card})
