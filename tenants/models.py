"""Public-schema models: clinic chains (tenants), their domains, and plans."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Plan(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    max_branches = models.PositiveIntegerField(default=5)
    max_staff = models.PositiveIntegerField(default=50)
    monthly_price_minor = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")

    def __str__(self) -> str:
        return self.name


class Clinic(TenantMixin):
    """A clinic chain. Its data lives in its own PostgreSQL schema, named after its slug."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        # A migrated, empty schema kept ready, so that provisioning a chain is a rename.
        SPARE = "spare", "Spare"
        # The migrated schema every new schema is copied from (tenants.schema_template); never a chain.
        TEMPLATE = "template", "Template"

    # Schemas kept for making chains, never listed or served as one.
    NOT_CHAINS = (Status.SPARE, Status.TEMPLATE)

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=40, unique=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="clinics")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    owner_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    # Deleting a chain's row never drops its schema: patient data is removed only by an explicit,
    # separate purge, never as a side effect of a delete.
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """A chain's (or a spare's) schema is a copy of the template (tenants.schema_template); only
        the template itself is migrated from nothing."""
        if self.status == self.Status.TEMPLATE or not sync_schema:
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        from django.db import connection
        from django_tenants.utils import schema_exists

        from tenants.schema_template import schema_copy, template_schema

        if check_if_exists and schema_exists(self.schema_name):
            return False
        schema_copy(template=template_schema(), schema=self.schema_name)
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        return True

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class Domain(DomainMixin):
    pass


class StripeConnection(models.Model):
    """A chain's connected Stripe account (Connect). Public schema: a webhook finds the chain from the
    event's account before it knows any chain schema. Only the account id is kept, never a key."""

    clinic = models.OneToOneField(Clinic, on_delete=models.PROTECT, related_name="stripe_connection")
    account_id = models.CharField(max_length=64, unique=True)
    account_type = models.CharField(max_length=16)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.account_id} ({self.clinic_id})"

    @property
    def is_connected(self) -> bool:
        return self.charges_enabled and self.details_submitted


class StripeEvent(models.Model):
    """Each Connect webhook event, recorded once, in the transaction of its effect."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=100)
    account_id = models.CharField(max_length=64, blank=True)
    clinic = models.ForeignKey(Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    handled = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.event_id


class MessagingService(models.Model):
    """Which chain texts through which Twilio Messaging Service (its number, its inbound webhook).
    Public schema, so one service belongs to one chain: the database refuses a second chain naming a
    service already named (written by the chain's messaging settings service)."""

    sid = models.CharField(max_length=34, unique=True)
    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="messaging_service")
    claimed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.sid} ({self.clinic_id})"
