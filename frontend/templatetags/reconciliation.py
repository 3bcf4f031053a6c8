"""Amounts on the reconciliation report in the chain's locale (config.money, Babel), and Stripe's
status and type codes in words."""

from __future__ import annotations

from typing import Any

from django import template

from config.money import money_format
from tenants.org.selectors import chain_settings_get

register = template.Library()


@register.simple_tag(takes_context=True)
def amount(context: Any, amount_minor: int | None, currency: str) -> str:
    """``amount_minor`` of ``currency`` as the chain's locale writes it; an empty cell when unknown."""
    if amount_minor is None or not currency:
        return "—"
    cache = context.render_context
    if "reconciliation_locale" not in cache:
        cache["reconciliation_locale"] = chain_settings_get().locale
    return money_format(int(amount_minor), currency, locale=cache["reconciliation_locale"])


#: Stripe's codes as people read them (a payout's status, a balance transaction's type).
STRIPE_WORDS = {
    "in_transit": "In transit",
    "canceled": "Cancelled",
    "payment_refund": "Payment refund",
    "stripe_fee": "Stripe fee",
    "application_fee": "Application fee",
}


@register.filter
def stripe_word(value: str | None) -> str:
    """A Stripe code in words: "in_transit" reads "In transit", "paid" reads "Paid"."""
    code = str(value or "")
    return STRIPE_WORDS.get(code) or code.replace("_", " ").capitalize() or "—"
