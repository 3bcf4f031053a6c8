"""Reading fees and cards on file: the fees list billing works from (failed charges first) and the
chain's policy. Branch scoping through tenants.org.selectors only."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, QuerySet, Value, When

from invoicing.fees import FeeCharge, FeePolicy, FeeStatus
from scheduling.selectors import policy_get
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible, chain_settings_get

#: What needs someone first: failed charges, then fees waiting for a card, then those on their way.
STATUS_ORDER = [FeeStatus.FAILED, FeeStatus.NO_CARD, FeeStatus.CHARGING, FeeStatus.PENDING]


def fee_charge_list(*, actor: Actor, status: str | None = None) -> QuerySet[FeeCharge]:
    """The fees of the branches ``actor`` sees, failed first, then newest first."""
    authorize(actor, "invoicing.view_fees")
    rows = FeeCharge.objects.select_related("invoice", "patient", "appointment", "card", "appointment__service")
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        rows = rows.filter(invoice__branch_id__in=visible)
    if status:
        rows = rows.filter(status=status)
    rank = Case(
        *[When(status=s, then=Value(i)) for i, s in enumerate(STATUS_ORDER)],
        default=Value(len(STATUS_ORDER)),
        output_field=IntegerField(),
    )
    return rows.annotate(rank=rank).order_by("rank", "-created_at", "-pk")


def fee_policy_read(*, actor: Actor) -> FeePolicy:
    """The chain's fee policy as owners and billing read it."""
    authorize(actor, "invoicing.view_fee_policy")
    from invoicing.services.fees import fee_policy_get

    return fee_policy_get()


@dataclass(frozen=True)
class FeeSettings:
    """What the owners' fees page shows: the policy, the chain's currency, and the cancellation
    window that makes a cancellation late (scheduling's booking rules)."""

    policy: FeePolicy
    currency: str
    window_hours: int


def fee_settings_read(*, actor: Actor) -> FeeSettings:
    policy = fee_policy_read(actor=actor)
    return FeeSettings(policy, chain_settings_get().currency, policy_get().cancellation_window_hours)
