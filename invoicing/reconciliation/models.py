"""What reconciliation keeps: each run (one per period, so running a period again is the same run),
the connected account's payouts and balance transactions as Stripe reported them, and the
mismatches between them and the ledger.

A mismatch has a ``key`` naming what it is about (``missing_here:txn_…``,
``missing_at_stripe:payment:12``…), unique: a second run of a period, or two runs at once, insert
nothing new (ON CONFLICT DO NOTHING), and a resolved mismatch stays resolved because a later run
never touches a row that exists."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from invoicing.models import Payment, Refund


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"


class ReconciliationRun(models.Model):
    """One reconciliation of one period (normally a local day of the chain)."""

    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    transactions = models.PositiveIntegerField(default=0)
    payouts = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    mismatches = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The demo's listings, written by `make demo` (no Stripe reached): its pages say so.
    demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["-period_start", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["period_start", "period_end"], name="reconciliation_run_one_per_period"),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="reconciliation_run_period"),
        ]

    def __str__(self) -> str:
        return f"Reconciliation {self.period_start:%Y-%m-%d %H:%M} to {self.period_end:%Y-%m-%d %H:%M}"


class Payout(models.Model):
    """Money Stripe sent from the connected account to the chain's bank."""

    stripe_id = models.CharField(max_length=64, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    arrival_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20)
    created_at_stripe = models.DateTimeField()
    run = models.ForeignKey(ReconciliationRun, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at_stripe", "-pk"]

    def __str__(self) -> str:
        return self.stripe_id


class BalanceTransaction(models.Model):
    """A movement of the connected account's balance (a charge, a refund, a payout, a fee…), with
    the ledger's payment or refund it was matched with."""

    stripe_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=40)
    amount_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField(default=0)
    net_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at_stripe = models.DateTimeField(db_index=True)
    source_id = models.CharField(max_length=64, blank=True)
    # The payment intent of the charge (or refunded charge) behind it: a Stripe payment's reference here.
    payment_intent = models.CharField(max_length=64, blank=True, db_index=True)
    # What Stripe says of the charge behind it, so staff can tell what the money was for: its
    # description and its Customer's id (a patient's name stays on Stripe's side).
    description = models.CharField(max_length=500, blank=True)
    customer = models.CharField(max_length=64, blank=True)
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.SET_NULL, related_name="transactions")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="balance_transactions"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.SET_NULL, related_name="balance_transactions"
    )
    run = models.ForeignKey(ReconciliationRun, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at_stripe", "-pk"]

    def __str__(self) -> str:
        return self.stripe_id


class MismatchKind(models.TextChoices):
    MISSING_HERE = "missing_here", "Missing here"
    MISSING_AT_STRIPE = "missing_at_stripe", "Missing at Stripe"
    AMOUNT_DIFFERS = "amount_differs", "Amount differs"
    CURRENCY_DIFFERS = "currency_differs", "Currency differs"


class Mismatch(models.Model):
    """Something Stripe and the ledger disagree on, open until someone resolves it with a note."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=MismatchKind.choices)
    stripe_id = models.CharField(max_length=64, blank=True)
    transaction_type = models.CharField(max_length=40, blank=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stripe_amount_minor = models.BigIntegerField(null=True, blank=True)
    stripe_currency = models.CharField(max_length=3, blank=True)
    local_amount_minor = models.BigIntegerField(null=True, blank=True)
    local_currency = models.CharField(max_length=3, blank=True)
    found_in = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="found")
    found_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-found_at", "-pk"]
        indexes = [models.Index(fields=["kind"], condition=Q(resolved_at__isnull=True), name="mismatch_open_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | ~Q(resolution_note=""), name="mismatch_resolved_has_note"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
