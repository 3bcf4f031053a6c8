"""The invoice of a session package's sale: raised and issued when the package is sold (the
PackageSold subscriber), one line at the price sold with the chain's default tax, once per purchase."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from invoicing.models import Invoice, PackageSale
from invoicing.services.invoices import LineIn, _add_line, _issue, default_tax_rate_bp, recompute_totals
from packages.models import PackagePurchase
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor


def raise_for_package_sale(*, purchase_id: int, actor: Actor | None) -> Invoice:
    """The sale's invoice, issued. Raised once: a purchase that has one answers it again (a replayed
    event). No permission check: the sale's own (packages.services.package_sell)."""
    with transaction.atomic():
        purchase = PackagePurchase.objects.select_for_update().select_related("branch").get(pk=purchase_id)
        existing = PackageSale.objects.select_related("invoice").filter(purchase=purchase).first()
        if existing is not None:
            return existing.invoice
        invoice = Invoice(
            patient_id=purchase.patient_id,
            branch=purchase.branch,
            currency=purchase.currency,
            created_by=history_user(actor),
        )
        changed_by(invoice, actor, reason="package sold").save()
        line = LineIn(
            description=f"Package: {purchase.name} ({purchase.sessions_total} sessions)",
            unit_price_minor=purchase.price_minor,
            tax_rate_bp=default_tax_rate_bp(),
        )
        _add_line(invoice, line, 0)
        recompute_totals(invoice)
        invoice.save(update_fields=["subtotal_minor", "discount_minor", "tax_minor", "total_minor"])
        PackageSale.objects.create(purchase=purchase, invoice=invoice)
        # issued on the day of the sale it bills (a sale recorded after the fact is not invoiced today)
        return _issue(invoice, actor=actor, now=min(purchase.sold_at, timezone.now()))
