"""The invoice of a session package's sale: one per purchase (a unique column), so the PackageSold
subscriber raising it again (a replayed event) finds it raised."""

from __future__ import annotations

from django.db import models

from packages.models import PackagePurchase


class PackageSale(models.Model):
    purchase = models.OneToOneField(PackagePurchase, on_delete=models.PROTECT, related_name="sale")
    invoice = models.OneToOneField("invoicing.Invoice", on_delete=models.PROTECT, related_name="package_sale")

    class Meta:
        app_label = "invoicing"

    def __str__(self) -> str:
        return f"Sale of package purchase {self.purchase_id}"
