"""A clinic chain's own organisation (tenant schema): its profile, branches, staff and invitations."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    BRANCH_MANAGER = "branch_manager", "Branch manager"
    DOCTOR = "doctor", "Doctor"
    RECEPTIONIST = "receptionist", "Receptionist"
    BILLING = "billing", "Billing"
    PATIENT = "patient", "Patient"


STAFF_ROLES = [r for r in Role if r != Role.PATIENT]
# Roles that see every branch of the chain. Everyone else sees the branches they are assigned to,
# and none when they have none (tenants.org.selectors.branch_ids_visible).
CHAIN_WIDE_ROLES = {Role.OWNER}
# Roles a branch manager may hand out, and only within the branches they manage.
BRANCH_ROLES = {Role.DOCTOR, Role.RECEPTIONIST, Role.BILLING}


class ChainSettings(models.Model):
    """The chain's profile and defaults. Exactly one row per schema (id = 1)."""

    name = models.CharField(max_length=200)
    default_timezone = models.CharField(max_length=64, default="UTC")
    currency = models.CharField(max_length=3, default="EUR")
    locale = models.CharField(max_length=16, default="en")
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    # Staff roles that must sign in with a second factor, besides owners (who always must).
    two_factor_roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "chain settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="chain_settings_singleton")]

    def __str__(self) -> str:
        return self.name


class Branch(models.Model):
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    timezone = models.CharField(max_length=64)
    phone = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "branches"
        constraints = [models.UniqueConstraint(Lower("name"), name="branch_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class StaffMember(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff")
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    branches = models.ManyToManyField(Branch, related_name="staff", blank=True)
    job_title = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[branches])

    class Meta:
        ordering = ["user__last_name", "user__first_name", "user__email"]

    def __str__(self) -> str:
        return str(self.user)

    def has_role(self, role: str) -> bool:
        return self.is_active and role in self.roles

    def role_labels(self) -> list[str]:
        return [Role(r).label for r in self.roles]


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    email = models.EmailField()
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices))
    branches = models.ManyToManyField(Branch, related_name="invitations", blank=True)
    # Only a hash is stored: the link itself is shown once, in the e-mail.
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="invitations_sent"
    )
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one open invitation per address: a second invite revokes or reuses the first.
            models.UniqueConstraint(
                Lower("email"), condition=models.Q(status="pending"), name="invitation_one_pending_per_email"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"

    def role_labels(self) -> list[str]:
        return [Role(r).label for r in self.roles]
