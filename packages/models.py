"""Prepaid session packages: what the chain sells (``PackageProduct``), what a patient bought
(``PackagePurchase``, a snapshot of the product at the sale) and each visit booked against it
(``PackageSession``).

A purchase's balance is ``sessions_total - used - reserved``. Booking a covered service reserves a
session, completing the visit consumes it (reserved -> used), cancelling in time releases it
(reserved -> free), and a late cancellation or a no-show forfeits it (reserved -> used). Every
change locks the purchase row first; the CHECK constraint ``package_purchase_balance`` is what
keeps the balance from going negative whatever the concurrency: a write that would overdraw is
refused by the database itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from patients.models import Patient
from scheduling.models import CalendarEntry, Service
from tenants.org.models import Branch


class PackageProduct(models.Model):
    """N sessions of the given services, at a price, valid for some days from the sale. Sold at
    every branch, or only at the branches named."""

    name = models.CharField(max_length=120)
    services = models.ManyToManyField(Service, related_name="package_products")
    sessions = models.PositiveIntegerField()
    price_minor = models.PositiveBigIntegerField(help_text="Price in minor units of the currency.")
    currency = models.CharField(max_length=3)
    validity_days = models.PositiveIntegerField()
    branches = models.ManyToManyField(Branch, blank=True, related_name="package_products")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gte=1), name="package_product_sessions_positive"),
            models.CheckConstraint(condition=Q(validity_days__gte=1), name="package_product_validity_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    USED_UP = "used_up", "Used up"
    CANCELLED = "cancelled", "Cancelled"


class CancelReason(models.TextChoices):
    UNPAID = "unpaid", "Not paid"
    INVOICE_VOID = "invoice_void", "Its invoice was voided"
    INVOICE_CREDITED = "invoice_credited", "Its invoice was credited in full"
    DESK = "desk", "Cancelled by the clinic"


class PackagePurchase(models.Model):
    """One sale of a product to a patient: the product's sessions, price and validity as they were
    when it was sold (a later change of the product changes no purchase)."""

    product = models.ForeignKey(PackageProduct, on_delete=models.PROTECT, related_name="purchases")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="package_purchases")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="package_purchases")
    name = models.CharField(max_length=120)
    sessions_total = models.PositiveIntegerField()
    used = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    price_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PurchaseStatus.choices, default=PurchaseStatus.ACTIVE)
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sold_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=20, choices=CancelReason.choices, blank=True)
    cancel_note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["expires_at", "pk"]
        indexes = [models.Index(fields=["patient", "status"]), models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0, reserved__gte=0, used__lte=F("sessions_total") - F("reserved")),
                name="package_purchase_balance",
            ),
            models.CheckConstraint(condition=Q(sessions_total__gte=1), name="package_purchase_sessions_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.patient_id})"

    @property
    def left(self) -> int:
        """Sessions neither used nor reserved."""
        return self.sessions_total - self.used - self.reserved


class SessionStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    CONSUMED = "consumed", "Consumed"
    RELEASED = "released", "Released"
    FORFEITED = "forfeited", "Forfeited"


class PackageSession(models.Model):
    """A visit booked against a purchase. One per appointment: an appointment released from its
    package is not booked against another one by itself."""

    purchase = models.ForeignKey(PackagePurchase, on_delete=models.PROTECT, related_name="package_sessions")
    appointment = models.OneToOneField(CalendarEntry, on_delete=models.PROTECT, related_name="package_session")
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.RESERVED)
    reserved_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["reserved_at", "pk"]
        indexes = [models.Index(fields=["purchase", "status"])]

    def __str__(self) -> str:
        return f"{self.get_status_display()} session of {self.purchase_id}"
