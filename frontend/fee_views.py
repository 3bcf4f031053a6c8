"""Fees pages: the owners' fee policy (/settings/fees/), the fees list billing works from
(/billing/fees/: failed charges first, retry and waive), and a patient's card on file
(/patients/<pk>/card/: brand, last four, expiry, remove). Each action calls one service or selector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.money import from_minor, minor_units, money_format, to_minor
from frontend.forms import flash, submit
from invoicing.fee_selectors import FeeSettings, fee_charge_list, fee_rows, fee_settings_read
from invoicing.fees import FeeRule, FeeStatus
from invoicing.services import card_link, cards, fees
from invoicing.services.fees import FeeRuleIn
from patients.models import Patient
from tenants.audit.services import access_log_patients, access_log_records
from tenants.org.selectors import chain_settings_get

RULE_CHOICES = FeeRule.choices


class FeePolicyForm(forms.Form):
    """Each fee: none, a fixed amount typed in the chain's currency (named by its code, e.g. GBP), or a
    percentage of the price. The page shows only the number the chosen rule uses (fees.js); without
    script every field shows, each saying which rule it is for."""

    def __init__(self, data: QueryDict | None, *, initial: dict[str, Any], currency: str) -> None:
        super().__init__(data, initial=initial)
        self.currency = currency
        for prefix, label in (("no_show", "No-show fee"), ("late_cancel", "Late-cancellation fee")):
            self.fields[f"{prefix}_rule"] = forms.ChoiceField(
                choices=RULE_CHOICES, label=label, widget=forms.Select(attrs={"data-choice": prefix})
            )
            self.fields[f"{prefix}_amount"] = forms.DecimalField(
                required=False,
                min_value=Decimal(0),
                decimal_places=minor_units(currency),
                label=f"{label}: amount in {currency}",
                help_text=f"For a fixed amount, e.g. {from_minor(2500, currency)} {currency}.",
                widget=forms.NumberInput(
                    attrs={"inputmode": "decimal", "data-choice-for": f"{prefix}:{FeeRule.FIXED}"}
                ),
            )
            self.fields[f"{prefix}_percent"] = forms.DecimalField(
                required=False,
                min_value=Decimal(0),
                max_value=Decimal(100),
                decimal_places=2,
                label=f"{label}: percentage of the service's price",
                help_text="For a percentage, e.g. 50 for half the price.",
                widget=forms.NumberInput(
                    attrs={"inputmode": "decimal", "data-choice-for": f"{prefix}:{FeeRule.PERCENT}"}
                ),
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


def _initial(settings_: FeeSettings) -> dict[str, Any]:
    p, currency = settings_.policy, settings_.currency
    return {
        "no_show_rule": p.no_show_rule,
        "no_show_amount": from_minor(p.no_show_amount_minor, currency) if p.no_show_amount_minor else None,
        "no_show_percent": Decimal(p.no_show_percent_bp).scaleb(-2) if p.no_show_percent_bp else None,
        "late_cancel_rule": p.late_cancel_rule,
        "late_cancel_amount": from_minor(p.late_cancel_amount_minor, currency) if p.late_cancel_amount_minor else None,
        "late_cancel_percent": Decimal(p.late_cancel_percent_bp).scaleb(-2) if p.late_cancel_percent_bp else None,
    }


def _described(current: FeeSettings) -> list[tuple[str, str]]:
    """The policy in words, for those who read it (billing): each fee's rule and number."""
    p, currency, locale = current.policy, current.currency, chain_settings_get().locale
    shown = []
    for label, rule, amount, percent in (
        ("No-show fee", p.no_show_rule, p.no_show_amount_minor, p.no_show_percent_bp),
        ("Late-cancellation fee", p.late_cancel_rule, p.late_cancel_amount_minor, p.late_cancel_percent_bp),
    ):
        if rule == FeeRule.FIXED:
            shown.append((label, money_format(amount, currency, locale=locale)))
        elif rule == FeeRule.PERCENT:
            shown.append((label, f"{Decimal(percent).scaleb(-2).normalize():f} % of the service's price"))
        else:
            shown.append((label, "No fee"))
    return shown


@login_required
def fee_settings(request: HttpRequest) -> HttpResponse:
    """Owners set the fee policy; billing reads it (no form: a change is refused, 403)."""
    current = fee_settings_read(actor=request.user)
    can_edit = request.user.has_perm("invoicing.manage_fee_policy")
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    if not can_edit:
        return render(request, "fees/settings.html", {"current": current, "described": _described(current)})
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
    return render(request, "fees/settings.html", {"form": form, "current": current, "can_edit": True})


@login_required
def fee_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    rows = fee_rows(actor=request.user, status=status if status in FeeStatus.values else None)
    access_log_records(request, action="list", object_type="fee", records=[r.fee for r in rows])
    locale = chain_settings_get().locale
    shown = [
        {
            "row": r,
            "fee": r.fee,
            "amount": money_format(r.fee.amount_minor, r.fee.currency, locale=locale),
            "deposit": money_format(r.fee.deposit_kept_minor, r.fee.currency, locale=locale),
        }
        for r in rows
    ]
    context = {
        "rows": shown,
        "status": status,
        "statuses": FeeStatus.choices,
        "manage": request.user.has_perm("invoicing.manage_fees"),
        "see_policy": request.user.has_perm("invoicing.view_fee_policy"),
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
    """The card page; removing the card asks first (the question, then "Yes, remove the card"):
    a POST without the confirmation only asks, and changes nothing. Staff may send the patient a
    link to save a card (e-mailed by the service; the open link is shown to copy)."""
    patient = get_object_or_404(Patient, pk=pk)
    if request.method == "POST" and request.POST.get("action") == "send_link":
        flash(
            request,
            lambda: card_link.card_link_send(actor=request.user, patient=patient),
            f"A link to save a card was e-mailed to {patient.email.strip()}. It is also below, to copy.",
        )
        return redirect("patient-card", pk=patient.pk)
    if request.method == "POST" and request.POST.get("confirm") == "1":
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
    asking = card is not None and (request.method == "POST" or request.GET.get("remove") == "1")
    context = {
        "patient": patient,
        "card": card,
        "asking": asking,
        "reason": request.POST.get("reason", ""),
        "linking": card_link.card_link_state(actor=request.user, patient=patient),
    }
    return render(request, "fees/card.html", context)
