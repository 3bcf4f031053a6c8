"""Error codes of Stripe Connect onboarding."""

from enum import StrEnum


class ConnectErrorCode(StrEnum):
    # The platform has no Stripe key configured (STRIPE_SECRET_KEY): nothing can be connected.
    STRIPE_NOT_CONFIGURED = "stripe_not_configured"
    # The chain has not started connecting its Stripe account yet.
    STRIPE_NOT_CONNECTED = "stripe_not_connected"
    # Stripe could not be reached or refused the platform's request; try again later.
    STRIPE_UNAVAILABLE = "stripe_unavailable"
