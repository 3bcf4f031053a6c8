"""The platform's one Connect webhook endpoint (public site, POST /stripe/connect/webhook/).

The signature is verified by the SDK (``stripe.Webhook.construct_event``); the chain is found from
the event's connected account; the event's id is recorded once, in the transaction of its effect,
so a duplicate or a replay changes nothing and a failure rolls both back (Stripe retries). Modules
register what they do with an event type through ``handles``; handlers run in the chain's schema.
Types nobody handles are recorded and answered 200."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_tenants.utils import tenant_context

from invoicing.connect import selectors, services
from invoicing.connect.exceptions import StripeUnavailable
from tenants.models import Clinic, StripeEvent

log = logging.getLogger(__name__)

EventHandler = Callable[[stripe.Event, Clinic], None]
_HANDLERS: dict[str, EventHandler] = {}


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    UNHANDLED_TYPE = "unhandled_type"
    UNKNOWN_ACCOUNT = "unknown_account"


def handles(event_type: str) -> Callable[[EventHandler], EventHandler]:
    """Register ``handler(event, clinic)`` for one event type (one handler per type)."""

    def register(handler: EventHandler) -> EventHandler:
        if _HANDLERS.get(event_type, handler) is not handler:
            raise RuntimeError(f"{event_type} already has a handler")
        _HANDLERS[event_type] = handler
        return handler

    return register


@handles("account.updated")
def _account_updated(event: stripe.Event, clinic: Clinic) -> None:
    # The event's snapshot may be older than what is stored (Stripe does not keep order): the
    # account is read again from the API.
    services.connection_sync(account_id=str(event.account), event_at=_at(event.created))


def _at(created: int) -> datetime:
    return datetime.fromtimestamp(created, tz=UTC)


def event_process(event: stripe.Event) -> Outcome:
    """Record ``event`` once and run its handler, both or neither."""
    account_id = str(event.to_dict().get("account") or "")
    connection = selectors.connection_of_account(account_id) if account_id else None
    if connection is None:
        # Not recorded: an account's first events can arrive before the transaction that stores
        # its connection commits, and a later delivery of the same event must still count.
        log.warning("stripe event %s (%s) for unknown account %r ignored", event.id, event.type, account_id)
        return Outcome.UNKNOWN_ACCOUNT
    handler = _HANDLERS.get(event.type)
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event.id,
                type=event.type,
                account_id=account_id,
                clinic=connection.clinic,
                created=_at(event.created),
                handled=handler is not None,
            )
            if handler is None:
                return Outcome.UNHANDLED_TYPE
            with tenant_context(connection.clinic):
                handler(event, connection.clinic)
            return Outcome.HANDLED
    except IntegrityError:
        if StripeEvent.objects.filter(event_id=event.id).exists():
            return Outcome.DUPLICATE
        raise


def _bad_request(reason: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "invalid_webhook", "message": reason}}, status=400)


_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
_TYPE = re.compile(r"[a-z0-9_.]{1,100}")
_LATEST = 2**33  # seconds: the year 2242; a larger `created` is no time Stripe sends


def _well_formed(event: stripe.Event) -> bool:
    """What the endpoint relies on, checked before anything is stored (a payload Stripe would not
    send answers 400, never a database error)."""
    data = event.to_dict()
    event_id, kind, created, account = data.get("id"), data.get("type"), data.get("created"), data.get("account")
    return (
        isinstance(event_id, str)
        and _ID.fullmatch(event_id) is not None
        and isinstance(kind, str)
        and _TYPE.fullmatch(kind) is not None
        and type(created) is int
        and 0 < created < _LATEST
        and (account is None or (isinstance(account, str) and _ID.fullmatch(account) is not None))
    )


@csrf_exempt
@require_POST
def connect_webhook(request: HttpRequest) -> JsonResponse:
    signature = request.headers.get("Stripe-Signature")
    if not signature:
        return _bad_request("The Stripe-Signature header is missing.")
    try:
        event = stripe.Webhook.construct_event(request.body, signature, settings.STRIPE_CONNECT_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError:
        return _bad_request("The signature does not match, or is too old.")
    except (ValueError, TypeError, AttributeError, KeyError):  # not JSON, or not an object
        return _bad_request("The payload is not a Stripe event.")
    if not _well_formed(event):
        return _bad_request("The payload is not a Stripe event.")
    try:
        outcome = event_process(event)
    except StripeUnavailable:
        # Nothing was recorded: Stripe sends the event again later.
        return JsonResponse({"error": {"code": "stripe_unavailable", "message": "Try again later."}}, status=503)
    return JsonResponse({"received": True, "outcome": outcome.value})


# Handlers registered by the modules that own them (handles(...) above).
from invoicing.checkout import webhooks as _checkout_webhooks  # noqa: E402, F401
