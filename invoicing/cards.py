"""Cards on file: the patient's customer at Stripe (on the chain's connected account) and the cards
saved to it. Only Stripe's ids and what the patient recognises a card by (brand, last four digits,
expiry) are kept, never a card number.

A patient has at most one live card (``removed_at`` empty), kept by a partial unique constraint;
replacing or removing a card stamps ``removed_at``, so earlier cards stay as history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.models import Patient


class StripeCustomer(models.Model):
    """The patient as a Customer on the chain's connected account, made once (its create call's
    idempotency key is the patient's row, see invoicing.services.cards.stripe_customer_for)."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="stripe_customer")
    account_id = models.CharField(max_length=64)
    customer_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.customer_id


class SavedCard(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="saved_cards")
    customer_id = models.CharField(max_length=64)
    payment_method_id = models.CharField(max_length=64, unique=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    saved_at = models.DateTimeField()
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-saved_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(removed_at__isnull=True), name="saved_card_one_live_per_patient"
            ),
            models.CheckConstraint(condition=Q(exp_month__gte=1, exp_month__lte=12), name="saved_card_exp_month"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"

    @property
    def is_live(self) -> bool:
        return self.removed_at is None

    @property
    def expiry(self) -> str:
        """MM/YY, as printed on the card."""
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"
