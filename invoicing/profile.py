"""What the chain's invoices and credit notes say about the clinic as a business: its company
registration and tax (VAT) numbers and the e-mail address patients write to about bills. One row per
chain (the schema), edited by owners; an empty field is left off the documents."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class InvoiceProfile(models.Model):
    registration_number = models.CharField(
        max_length=40, blank=True, help_text="Company registration number, as registered."
    )
    tax_number = models.CharField(max_length=40, blank=True, help_text="VAT or other tax number.")
    billing_email = models.EmailField(
        blank=True, help_text="Where patients write about invoices (not a staff member's sign-in)."
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        app_label = "invoicing"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="invoice_profile_singleton")]

    def __str__(self) -> str:
        return "Invoice details"
