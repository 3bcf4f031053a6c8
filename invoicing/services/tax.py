"""The chain's tax rates."""

from __future__ import annotations

from django.db import transaction

from config.fields import plain_text
from invoicing.models import TaxRate
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize


def tax_rate_create(*, actor: Actor, name: str, rate_bp: int, is_default: bool = False) -> TaxRate:
    """A tax rate in basis points; the chain's default one replaces any earlier default."""
    authorize(actor, "invoicing.manage_tax_rates")
    with transaction.atomic():
        if is_default:
            for old in TaxRate.objects.select_for_update().filter(is_default=True):
                old.is_default = False
                changed_by(old, actor).save(update_fields=["is_default"])
        rate = changed_by(TaxRate(name=plain_text(name).strip(), rate_bp=rate_bp, is_default=is_default), actor)
        rate.save()
    return rate
