"""The chain's online payment policy and the Checkout Sessions opened for invoices.

``OnlinePaymentPolicy``: what online booking asks to be paid now (nothing, a fixed deposit, a
percentage of the price, or all of it), the chain's row (no service) and per-service overrides of
the deposit. ``OnlineCheckout``: one Stripe Checkout Session for an amount of one invoice, for a
purpose (a booking's deposit or prepayment, a package sale, or a card saved at booking: a Checkout
Session in setup mode, no invoice, nothing charged); its row id is the idempotency key of
the session's creation, so a retried request opens the same session. A booking's checkout names
the hold it pays for; the payment it brought is recorded once (``payment``, one-to-one)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.models import Patient
from scheduling.models import CalendarEntry, Service


class DepositKind(models.TextChoices):
    NONE = "none", "Nothing online: pay at the visit"
    FIXED = "fixed", "A fixed deposit"
    PERCENT = "percent", "A percentage of the price"
    FULL = "full", "The full price (prepayment)"


class OnlinePaymentPolicy(models.Model):
    """The chain's row has no service; a service's row overrides the deposit for that service."""

    service = models.OneToOneField(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="online_payment_policy"
    )
    kind = models.CharField(max_length=10, choices=DepositKind.choices, default=DepositKind.NONE)
    amount_minor = models.BigIntegerField(default=0, help_text="The fixed deposit, in minor units.")
    percent_bp = models.PositiveIntegerField(default=0, help_text="Basis points of the price: 2500 is 25%.")
    # The chain's row only:
    ask_for_card = models.BooleanField(default=False)
    refund_deposit_on_timely_cancel = models.BooleanField(default=False)
    # Patients with this many no-shows (0: no such rule) in scheduling's no-show period pay a deposit
    # of ``no_show_deposit_minor`` (at most the price) online, even for a service that asks none.
    no_show_deposit_after = models.PositiveIntegerField(default=0)
    no_show_deposit_minor = models.BigIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(service__isnull=True),
                name="online_payment_policy_one_chain_row",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0, percent_bp__lte=10_000), name="online_payment_policy_amounts"
            ),
            models.CheckConstraint(
                condition=Q(no_show_deposit_minor__gte=0), name="online_payment_policy_no_show_deposit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service or 'Chain'}: {self.get_kind_display()}"


class CheckoutPurpose(models.TextChoices):
    BOOKING_DEPOSIT = "booking_deposit", "Deposit for an online booking"
    BOOKING_PREPAYMENT = "booking_prepayment", "Prepayment of an online booking"
    PACKAGE_SALE = "package_sale", "Package bought online"
    CARD_SETUP = "card_setup", "Card saved for an online booking"


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Waiting for payment"
    PAID = "paid", "Paid"
    EXPIRED = "expired", "Not paid in time"
    REFUNDED = "refunded", "Paid too late: refunded"
    CARD_SAVED = "card_saved", "Card saved"


class OnlineCheckout(models.Model):
    # None for a card setup (nothing is charged: no invoice, amount 0).
    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="checkouts"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=20, choices=CheckoutPurpose.choices)
    description = models.CharField(max_length=200)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # A booking's checkout: the held time it pays for, and the desk's note for the booking.
    hold = models.ForeignKey(CalendarEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notes = models.CharField(max_length=200, blank=True)
    # The visitor's way back (success and cancel URLs): a secret of this checkout, not its id.
    return_token = models.CharField(max_length=64, unique=True)
    # Paths on the chain's site ("{token}" is the return token) for Stripe's success and cancel URLs.
    success_path = models.CharField(max_length=200)
    cancel_path = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    account_id = models.CharField(max_length=255)
    session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    session_url = models.TextField(blank=True)
    expires_at = models.DateTimeField()
    payment_intent_id = models.CharField(max_length=255, blank=True)
    # A card setup's SetupIntent, and the card it saved.
    setup_intent_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    payment = models.OneToOneField(
        "invoicing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="checkout"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            # A payment is of a positive amount of an invoice; a card setup charges nothing and has none.
            models.CheckConstraint(
                condition=(Q(amount_minor__gt=0, invoice__isnull=False) & ~Q(purpose="card_setup"))
                | Q(purpose="card_setup", amount_minor=0, invoice__isnull=True),
                name="online_checkout_amount_or_card_setup",
            ),
            # One checkout waiting for payment per held time.
            models.UniqueConstraint(
                fields=["hold"],
                condition=Q(status="open", hold__isnull=False),
                name="online_checkout_one_open_per_hold",
            ),
        ]

    def __str__(self) -> str:
        return f"Checkout {self.pk} ({self.status})"
