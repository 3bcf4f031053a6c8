from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from tenants.models import StripeConnection
from tenants.selectors import current_clinic


def connection_get() -> StripeConnection | None:
    """The current chain's connected Stripe account, if it has started connecting one."""
    return StripeConnection.objects.filter(clinic=current_clinic()).first()


def connection_of_account(account_id: str) -> StripeConnection | None:
    """The chain a connected account belongs to (a webhook event's ``account``)."""
    return StripeConnection.objects.select_related("clinic").filter(account_id=account_id).first()


class ConnectState(StrEnum):
    CONNECTED = "connected"
    INCOMPLETE = "onboarding_incomplete"
    NOT_CONNECTED = "not_connected"


def connect_state(connection: StripeConnection | None) -> ConnectState:
    if connection is None:
        return ConnectState.NOT_CONNECTED
    return ConnectState.CONNECTED if connection.is_connected else ConnectState.INCOMPLETE


def payments_configured() -> bool:
    """Whether the platform has a Stripe key (without one, nothing can be connected)."""
    return bool(settings.STRIPE_SECRET_KEY)


@dataclass(frozen=True)
class PaymentsOverview:
    """What the owners' payments settings page shows."""

    configured: bool
    connection: StripeConnection | None
    state: ConnectState


def payments_overview() -> PaymentsOverview:
    connection = connection_get()
    return PaymentsOverview(payments_configured(), connection, connect_state(connection))
