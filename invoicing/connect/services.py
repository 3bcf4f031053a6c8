"""Connect onboarding: a chain's owner connects the chain's own Stripe account (Express, see
docs/architecture.md, Money). The platform keeps the account's id and the state Stripe reports,
never a key; the state is only ever taken from a fresh read of the account, so late or repeated
webhooks cannot leave an older state behind."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from stripe.params import AccountCreateParams, AccountLinkCreateParams

from config.events import publish
from invoicing.connect.client import idempotency_key, stripe_client
from invoicing.connect.events import StripeAccountStateChanged
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from tenants.authz import Actor, authorize
from tenants.models import Clinic, StripeConnection
from tenants.selectors import current_clinic, current_clinic_url

log = logging.getLogger(__name__)

#: Where Stripe sends the owner back to (return) or when the link has expired (refresh).
SETTINGS_PATH = "/settings/payments/"


@dataclass(frozen=True)
class OnboardingLink:
    connection: StripeConnection
    url: str


@transaction.atomic
def connect_onboarding_start(*, actor: Actor) -> StripeConnection:
    """The chain's connected account, created at Stripe on first use. Two clicks at once make one:
    the chain's row is locked while the account is made, and the create call's idempotency key is
    the chain's, so even a retried request answers the same account."""
    authorize(actor, "org.manage_payments")
    clinic = Clinic.objects.select_for_update().get(pk=current_clinic().pk)
    existing = StripeConnection.objects.filter(clinic=clinic).first()
    if existing is not None:
        return existing
    kind = settings.STRIPE_CONNECT_ACCOUNT_TYPE
    params: AccountCreateParams = {
        "type": kind,
        "business_profile": {"name": clinic.name},
        "metadata": {"clinic_id": str(clinic.pk), "schema": clinic.schema_name},
    }
    if clinic.owner_email:
        params["email"] = clinic.owner_email
    if kind == "express":
        params["capabilities"] = {"card_payments": {"requested": True}, "transfers": {"requested": True}}
    try:
        account = stripe_client().v1.accounts.create(
            params=params, options={"idempotency_key": idempotency_key("account", clinic.pk, kind)}
        )
    except stripe.StripeError as error:
        log.warning("stripe account create failed for clinic %s: %s", clinic.pk, error)
        raise StripeUnavailable() from error
    connection = StripeConnection(clinic=clinic, account_id=account.id, account_type=kind)
    _apply(connection, account)
    connection.save()
    log.info("clinic %s connected stripe account %s (onboarding started)", clinic.pk, account.id)
    return connection


def connect_onboarding_link(*, actor: Actor) -> OnboardingLink:
    """Where to send the owner to fill in (or finish) Stripe's onboarding: a fresh Account Link
    (single-use, short-lived) to the chain's account, made first if it has none."""
    connection = connect_onboarding_start(actor=actor)
    base = current_clinic_url()
    params: AccountLinkCreateParams = {
        "account": connection.account_id,
        "type": "account_onboarding",
        "refresh_url": f"{base}{SETTINGS_PATH}?expired=1",
        "return_url": f"{base}{SETTINGS_PATH}?returned=1",
    }
    # A link is a new object each time the owner asks: the key names the account and the moment,
    # so the SDK's own retries of this one request reuse it.
    key = idempotency_key("account_link", connection.account_id, timezone.now().isoformat())
    try:
        link = stripe_client().v1.account_links.create(params=params, options={"idempotency_key": key})
    except stripe.StripeError as error:
        log.warning("stripe account link failed for %s: %s", connection.account_id, error)
        raise StripeUnavailable() from error
    return OnboardingLink(connection=connection, url=link.url)


def connect_status_refresh(*, actor: Actor) -> StripeConnection:
    """Re-read the chain's account from Stripe (the owner's "check again")."""
    authorize(actor, "org.manage_payments")
    existing = StripeConnection.objects.filter(clinic=current_clinic()).first()
    if existing is None:
        raise StripeNotConnected()
    return connection_sync(account_id=existing.account_id)


@transaction.atomic
def connection_sync(*, account_id: str, event_at: datetime | None = None) -> StripeConnection:
    """Take the connected account's state from a fresh read at Stripe (never from an event's
    snapshot, which may be older than what is stored). Called by the webhook (the platform acts:
    no actor) and by ``connect_status_refresh``."""
    connection = StripeConnection.objects.select_for_update().get(account_id=account_id)
    try:
        account = stripe_client().v1.accounts.retrieve(account_id)
    except stripe.StripeError as error:
        log.warning("stripe account read failed for %s: %s", account_id, error)
        raise StripeUnavailable() from error
    was_connected = connection.is_connected
    _apply(connection, account)
    if event_at is not None and (connection.last_event_at is None or event_at > connection.last_event_at):
        connection.last_event_at = event_at
    connection.save()
    if connection.is_connected != was_connected:
        log.info(
            "stripe account %s of clinic %s connected=%s", account_id, connection.clinic_id, connection.is_connected
        )
        publish(StripeAccountStateChanged(connection.clinic_id, account_id, connection.is_connected))
    return connection


def _apply(connection: StripeConnection, account: stripe.Account) -> None:
    data = account.to_dict()
    requirements = data.get("requirements") or {}
    connection.charges_enabled = bool(data.get("charges_enabled"))
    connection.payouts_enabled = bool(data.get("payouts_enabled"))
    connection.details_submitted = bool(data.get("details_submitted"))
    connection.requirements_due = sorted(
        {*(requirements.get("currently_due") or []), *(requirements.get("past_due") or [])}
    )
    connection.disabled_reason = str(requirements.get("disabled_reason") or "")[:100]
    connection.refreshed_at = timezone.now()
