"""Money in templates: ``{% load billing %}{% money invoice.total_minor invoice.currency %}`` reads
an amount kept in minor units in the chain's locale (config.money, Babel)."""

from __future__ import annotations

from typing import Any

from django import template

from config.money import money_format
from tenants.org.selectors import chain_settings_get

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context: Any, amount_minor: int | None, currency: str) -> str:
    """The amount as people read it in the chain's locale (read once per rendering)."""
    cache = context.render_context
    if "billing_locale" not in cache:
        cache["billing_locale"] = chain_settings_get().locale
    return money_format(int(amount_minor or 0), currency, locale=cache["billing_locale"])
