"""The chain's fee policy and the fees it raised: a no-show, or a cancellation the patient asked for
inside the chain's cancellation window (scheduling/cancel_window.py), raises a fee invoice of its
own (Invoice.kind "fee": a visit keeps its one visit invoice) and a ``FeeCharge`` that charges the
patient's card on file off-session (invoicing.services.fees)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from invoicing.cards import SavedCard
from patients.models import Patient
from scheduling.models import CalendarEntry


class FeeRule(models.TextChoices):
    NONE = "none", "No fee"
    FIXED = "fixed", "A fixed amount"
    PERCENT = "percent", "A percentage of the service's price"


class FeeKind(models.TextChoices):
    NO_SHOW = "no_show", "No-show"
    LATE_CANCELLATION = "late_cancellation", "Late cancellation"


class FeePolicy(models.Model):
    """The chain's one fee policy (pk 1). Amounts in minor units, percentages in basis points
    (2500 is 25 %) of the branch's price of the service."""

    no_show_rule = models.CharField(max_length=10, choices=FeeRule.choices, default=FeeRule.NONE)
    no_show_amount_minor = models.PositiveIntegerField(default=0)
    no_show_percent_bp = models.PositiveIntegerField(default=0)
    late_cancel_rule = models.CharField(max_length=10, choices=FeeRule.choices, default=FeeRule.NONE)
    late_cancel_amount_minor = models.PositiveIntegerField(default=0)
    late_cancel_percent_bp = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(no_show_percent_bp__lte=10_000, late_cancel_percent_bp__lte=10_000),
                name="fee_policy_percent_at_most_whole",
            )
        ]

    def __str__(self) -> str:
        return "Fee policy"


class FeeStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be charged"
    CHARGING = "charging", "Being charged"
    SUCCEEDED = "succeeded", "Charged"
    FAILED = "failed", "Charge failed"
    NO_CARD = "no_card", "No card on file"
    WAIVED = "waived", "Waived"


class FeeCharge(models.Model):
    """One fee of one appointment, and the charging of it. ``attempts`` counts the charges sent to
    Stripe; each attempt's idempotency key is (this row, attempt), so a task run twice for one
    attempt makes one charge, and a retry after a decline makes a new one."""

    invoice = models.OneToOneField("invoicing.Invoice", on_delete=models.PROTECT, related_name="fee_charge")
    appointment = models.ForeignKey(CalendarEntry, on_delete=models.PROTECT, related_name="fee_charges")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="fee_charges")
    kind = models.CharField(max_length=20, choices=FeeKind.choices)
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=FeeStatus.choices, default=FeeStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    card = models.ForeignKey(SavedCard, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment_intent_id = models.CharField(max_length=64, blank=True)
    #: What the visit's deposit (paid before it, online or at the desk) paid of the fee: the payment
    #: moved from the visit's invoice to the fee's; only the rest is charged to the card.
    deposit_kept_minor = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    #: ``last_error`` is Stripe's own words (a decline's message), not Clinicflow's.
    last_error_by_stripe = models.BooleanField(default=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)
    waived_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status"])]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "kind"], name="fee_charge_one_per_appointment_kind"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="fee_charge_amount_positive"),
            models.CheckConstraint(
                condition=Q(deposit_kept_minor__lte=models.F("amount_minor")), name="fee_charge_deposit_within_fee"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} fee {self.amount_minor} {self.currency}"

    @property
    def card_part_minor(self) -> int:
        """What is charged to the card: the fee less what the deposit paid of it."""
        return self.amount_minor - self.deposit_kept_minor
