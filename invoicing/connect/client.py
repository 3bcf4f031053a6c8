"""The one place that makes a Stripe client. Every call on a chain's behalf passes that chain's
``stripe_account`` (direct charges on its connected account: no chain's secret key is stored), and
every create call an idempotency key derived from what it creates (``idempotency_key``)."""

from __future__ import annotations

import hashlib

import stripe
from django.conf import settings

from invoicing.connect.exceptions import StripeNotConfigured


def stripe_client() -> stripe.StripeClient:
    """The platform's client (settings.STRIPE_SECRET_KEY), sent to STRIPE_API_BASE when one is set
    (the local fake in tests and the demo; None is Stripe itself)."""
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise StripeNotConfigured()
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        key,
        base_addresses={"api": base} if base else None,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def idempotency_key(kind: str, *parts: object) -> str:
    """A key that names what a create call makes (e.g. ``account``, the chain's id): a retry or a
    second click sends the same key, so Stripe makes the object once. Stripe keeps keys 24 hours
    at least; a later call with the same key and other parameters is refused by Stripe."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"clinicflow-{kind}-{digest}"


def on_behalf_of(account_id: str) -> stripe.RequestOptions:
    """Request options of a call made on a connected account's behalf (the Stripe-Account header)."""
    return {"stripe_account": account_id}
