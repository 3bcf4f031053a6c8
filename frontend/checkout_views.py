"""Paying online: the online booking's pay step and the page the visitor comes back to from
Stripe, and the owners' online payment policy (what online booking asks to be paid now)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from config.errors import ApplicationError, NotFound
from config.money import from_minor, minor_units, to_minor
from frontend.forms import show_error
from invoicing.checkout.models import DepositKind
from invoicing.checkout.policy import online_payment_policy_get, online_payment_policy_set, online_payments_possible
from invoicing.checkout.selectors import pay_step
from invoicing.checkout.services import checkout_open_by_token, checkout_return
from tenants.authz import authorize
from tenants.org.selectors import chain_settings_get


@never_cache
def book_pay(request: HttpRequest, token: str) -> HttpResponse:
    """The pay step: what is paid now, what at the visit, until when the time is kept. Posting
    opens Stripe's page again when it could not be opened at first."""
    if request.method == "POST":
        try:
            return redirect(checkout_open_by_token(token=token).session_url or request.path)
        except NotFound as exc:
            raise Http404 from exc
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(request.path)
    try:
        step = pay_step(token=token)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "booking/pay.html", {"step": step, "token": token})


@never_cache
def book_paid(request: HttpRequest, token: str) -> HttpResponse:
    """Back from Stripe: the payment is read again from Stripe, and the booking confirmed with it."""
    try:
        back = checkout_return(token=token)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "booking/paid.html", {"back": back, "token": token})


class OnlinePolicyForm(forms.Form):
    """What online booking asks now. The page shows only the number the chosen kind uses (fees.js:
    the amount for a fixed deposit, the percentage for a percentage); without script both show, each
    saying which kind it is for. The amount is typed in the chain's currency, named by its code."""

    kind = forms.ChoiceField(
        choices=DepositKind.choices,
        label="What patients pay when they book online",
        widget=forms.Select(attrs={"data-choice": "deposit"}),
    )
    amount = forms.DecimalField(  # labelled with the currency's code in __init__
        required=False,
        min_value=Decimal(0),
        max_digits=12,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "data-choice-for": f"deposit:{DepositKind.FIXED}"}),
    )
    percent = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100,
        label="Deposit: percentage of the service's price",
        help_text="For a percentage deposit, e.g. 50 for half the price.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "data-choice-for": f"deposit:{DepositKind.PERCENT}"}),
    )
    ask_for_card = forms.BooleanField(
        required=False,
        label="Ask for a card at online booking for the clinic's fees (no-show, late cancellation)",
        help_text=(
            "The card that pays a deposit is kept; when nothing is paid online, the patient saves a card on "
            "Stripe's page to confirm (nothing is charged then)."
        ),
    )
    refund_deposit_on_timely_cancel = forms.BooleanField(
        required=False, label="Refund the deposit when the patient cancels online in time"
    )
    no_show_deposit_after = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=20,
        label="Ask a deposit from patients with this many no-shows (0: never)",
        help_text="Counted over the no-show period of the booking rules. Asked even for services that ask none.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    no_show_deposit = forms.DecimalField(  # labelled with the currency's code in __init__
        required=False, min_value=Decimal(0), max_digits=12, widget=forms.NumberInput(attrs={"inputmode": "decimal"})
    )

    def __init__(self, data: QueryDict | None, *, initial: dict[str, Any], currency: str) -> None:
        super().__init__(data, initial=initial)
        amount = self.fields["amount"]
        amount.label = f"Deposit: amount in {currency}"
        amount.help_text = f"For a fixed deposit, e.g. {from_minor(2000, currency)} {currency}."
        self.fields["no_show_deposit"].label = f"Deposit after no-shows: amount in {currency}"


@login_required
def online_payments_settings(request: HttpRequest) -> HttpResponse:
    """Owners choose what online booking asks to be paid now (a deposit, all, or nothing)."""
    authorize(request.user, "invoicing.manage_online_payments")
    currency = chain_settings_get().currency
    policy = online_payment_policy_get()
    initial = {
        "kind": policy.kind,
        "amount": from_minor(policy.amount_minor, currency) if policy.amount_minor else None,
        "percent": policy.percent_bp // 100 or None,
        "ask_for_card": policy.ask_for_card,
        "refund_deposit_on_timely_cancel": policy.refund_deposit_on_timely_cancel,
        "no_show_deposit_after": policy.no_show_deposit_after,
        "no_show_deposit": from_minor(policy.no_show_deposit_minor, currency) if policy.no_show_deposit_minor else None,
    }
    form = OnlinePolicyForm(request.POST or None, initial=initial, currency=currency)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        amount = d["amount"] or Decimal(0)
        no_show_deposit = d["no_show_deposit"] or Decimal(0)
        if amount.as_tuple().exponent < -minor_units(currency):  # type: ignore[operator]
            form.add_error("amount", "Too many decimals for the currency.")
        elif no_show_deposit.as_tuple().exponent < -minor_units(currency):  # type: ignore[operator]
            form.add_error("no_show_deposit", "Too many decimals for the currency.")
        else:
            try:
                online_payment_policy_set(
                    actor=request.user,
                    kind=d["kind"],
                    amount_minor=to_minor(amount, currency),
                    percent_bp=(d["percent"] or 0) * 100,
                    ask_for_card=d["ask_for_card"],
                    refund_deposit_on_timely_cancel=d["refund_deposit_on_timely_cancel"],
                    no_show_deposit_after=d["no_show_deposit_after"],
                    no_show_deposit_minor=None if d["no_show_deposit"] is None else to_minor(no_show_deposit, currency),
                )
            except ApplicationError as exc:
                show_error(
                    form,
                    exc,
                    {"amount_minor": "amount", "percent_bp": "percent", "no_show_deposit_minor": "no_show_deposit"},
                )
            else:
                messages.success(request, "Online payment policy saved.")
                return redirect("settings-online-payments")
    context = {"form": form, "possible": online_payments_possible(), "currency": currency}
    return render(request, "frontend/online_payments.html", context)
