"""The chain's ledger: invoices and their lines, payments taken, refunds given, credit notes.

Money is integer minor units (pence, cents, yen) in the invoice's currency, never float. What a
patient owes on an invoice is ``total - credited - paid``: a credit note lowers what is owed, a
payment pays it, and a refund gives back money that was paid and is no longer owed (so it does not
reopen the debt). The database refuses amounts that cannot be: negative amounts, more paid or
credited than the total, more refunded than paid.

Invoice and credit note numbers come from ``Counter``: one row per sequence, taken with SELECT ...
FOR UPDATE inside the issuing transaction, so numbers are gap-free and never repeat, whatever the
concurrency, and a rolled-back issue gives its number back.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

# checkout12: the online payment policy and Stripe Checkout (invoicing/checkout/models.py)
from invoicing.checkout.models import CheckoutPurpose as CheckoutPurpose
from invoicing.checkout.models import CheckoutStatus as CheckoutStatus
from invoicing.checkout.models import DepositKind as DepositKind
from invoicing.checkout.models import OnlineCheckout as OnlineCheckout
from invoicing.checkout.models import OnlinePaymentPolicy as OnlinePaymentPolicy
from patients.models import Patient
from scheduling.models import CalendarEntry, Service
from tenants.org.models import Branch


class Counter(models.Model):
    """The next number of one sequence of this chain ("invoice", "credit_note")."""

    name = models.CharField(max_length=30, unique=True)
    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(next_value__gte=1), name="counter_next_value_positive")]

    def __str__(self) -> str:
        return f"{self.name}: {self.next_value}"


class TaxRate(models.Model):
    """A tax rate in basis points (2000 is 20%). At most one is the chain's default, which a visit's
    invoice lines carry."""

    name = models.CharField(max_length=80)
    rate_bp = models.PositiveIntegerField(help_text="Basis points: 2000 is 20%.")
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(rate_bp__lte=100_000), name="tax_rate_bp_range"),
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="tax_rate_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PARTLY_PAID = "partly_paid", "Partly paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    REFUNDED = "refunded", "Refunded"


#: An invoice in one of these is still owed (in part).
OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID)


class InvoiceKind(models.TextChoices):
    """What an invoice is for: a visit or items (the standard one), or a fee a no-show or a late
    cancellation raised (invoicing/fees.py; a visit keeps its one visit invoice beside it)."""

    STANDARD = "standard", "Invoice"
    FEE = "fee", "Fee"


class Invoice(models.Model):
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="invoices")
    appointment = models.OneToOneField(
        CalendarEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.STANDARD)
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField(default=0)
    discount_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    credited_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["branch", "issued_at"], name="invoice_branch_issued"),  # reporting's day cells
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    subtotal_minor__gte=0,
                    discount_minor__gte=0,
                    tax_minor__gte=0,
                    total_minor__gte=0,
                    paid_minor__gte=0,
                    refunded_minor__gte=0,
                    credited_minor__gte=0,
                ),
                name="invoice_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_minor=F("subtotal_minor") - F("discount_minor") + F("tax_minor")),
                name="invoice_total_adds_up",
            ),
            # checkout14: what is kept (paid less refunded) never exceeds what is owed; a Stripe payment
            # that arrives after the invoice was settled is recorded with its excess refunded at once.
            models.CheckConstraint(
                condition=Q(paid_minor__lte=F("total_minor") - F("credited_minor") + F("refunded_minor")),
                name="invoice_kept_within_total",
            ),
            models.CheckConstraint(condition=Q(refunded_minor__lte=F("paid_minor")), name="invoice_refund_within_paid"),
            models.CheckConstraint(
                condition=Q(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])
                | Q(number__isnull=False, issued_at__isnull=False),
                name="invoice_issued_has_number",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft invoice {self.pk}"

    @property
    def due_minor(self) -> int:
        """What is still owed: the total less credit notes and payments."""
        if self.status not in OPEN_STATUSES:
            return 0
        return self.total_minor - self.credited_minor - self.paid_minor


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=200)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    unit_price_minor = models.BigIntegerField()
    discount_minor = models.BigIntegerField(default=0)
    tax_rate_bp = models.PositiveIntegerField(default=0)
    subtotal_minor = models.BigIntegerField()
    tax_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()

    class Meta:
        ordering = ["invoice_id", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1, unit_price_minor__gte=0, discount_minor__gte=0, tax_minor__gte=0),
                name="invoice_line_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(subtotal_minor=F("quantity") * F("unit_price_minor")), name="invoice_line_subtotal"
            ),
            models.CheckConstraint(
                condition=Q(discount_minor__lte=F("subtotal_minor")), name="invoice_line_discount_within_subtotal"
            ),
            models.CheckConstraint(
                condition=Q(total_minor=F("subtotal_minor") - F("discount_minor") + F("tax_minor")),
                name="invoice_line_total_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD_TERMINAL = "card_terminal", "Card terminal"
    STRIPE = "stripe", "Stripe"


#: What reception and billing record at the desk; Stripe payments arrive through the webhook.
DESK_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD_TERMINAL)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount_minor = models.BigIntegerField()
    refunded_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["received_at", "pk"]
        indexes = [models.Index(fields=["received_at"], name="payment_received_at")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0, refunded_minor__lte=F("amount_minor")),
                name="payment_refund_within_amount",
            ),
            # A Stripe payment is recorded once: its reference is the payment intent's id, whoever
            # records it (a fee's charge, a webhook, a success page).
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(method="stripe") & ~Q(reference=""),
                name="payment_stripe_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount_minor} {self.currency}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    reason = models.TextField()
    status = models.CharField(max_length=12, choices=RefundStatus.choices, default=RefundStatus.SUCCEEDED)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    # checkout12: a Stripe payment's refund is made at Stripe after commit; its id once made, or why Stripe refused.
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    failure_message = models.TextField(blank=True)
    # ledger14: the credit note whose freed money this refund gives back (None: a refund on its own).
    credit_note = models.ForeignKey(
        "CreditNote", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at"], name="refund_at")]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.amount_minor}"


class CreditNote(models.Model):
    """Lowers what an issued invoice asks for, instead of editing it. Numbered in a sequence of its own."""

    number = models.CharField(max_length=20, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    amount_minor = models.BigIntegerField()
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    issued_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["issued_at", "pk"]
        indexes = [models.Index(fields=["issued_at"], name="credit_note_issued_at")]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="credit_note_amount_positive")]

    def __str__(self) -> str:
        return self.number


# Cards on file and the chain's fees (invoicing/cards.py, invoicing/fees.py).
from invoicing.cards import SavedCard, StripeCustomer  # noqa: E402, F401
from invoicing.fees import FeeCharge, FeeKind, FeePolicy, FeeRule, FeeStatus  # noqa: E402, F401

# The invoice of a session package sold (invoicing/package_sales.py).
from invoicing.package_sales import PackageSale  # noqa: E402, F401

# What the chain's invoices say about the clinic as a business (invoicing/profile.py).
from invoicing.profile import InvoiceProfile  # noqa: E402, F401

# Reconciliation with the connected Stripe account (runs, payouts, balance transactions, mismatches).
from invoicing.reconciliation.models import (  # noqa: E402, F401
    BalanceTransaction,
    Mismatch,
    MismatchKind,
    Payout,
    ReconciliationRun,
    RunStatus,
)
