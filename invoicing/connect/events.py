"""What Connect onboarding announces (config.events: subscribers run inside the same transaction)."""

from __future__ import annotations

from dataclasses import dataclass

from config.events import Event


@dataclass(frozen=True)
class StripeAccountStateChanged(Event):
    """The chain's connected account can now take payments (``connected``), or no longer can: a
    fresh read from Stripe found it different from what was stored. Public-schema ids: the chain
    and its account."""

    clinic_id: int
    account_id: str
    connected: bool
