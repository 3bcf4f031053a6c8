"""What the Connect webhook does with checkout and payment events. Each re-reads the session from
Stripe (``checkout_settle``): the event's snapshot only names which checkout to look at, so events
arriving twice, late or out of order converge on what Stripe says now."""

from __future__ import annotations

import re
from collections.abc import Callable

import stripe

from invoicing.checkout.models import OnlineCheckout
from invoicing.checkout.refunds import refund_send
from invoicing.checkout.services import after_commit, checkout_settle
from invoicing.connect.webhooks import handles
from invoicing.models import Refund, RefundStatus
from tenants.models import Clinic


def _object(event: stripe.Event) -> dict[str, object]:
    data = event.to_dict().get("data") or {}
    found = data.get("object") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _settle(checkout: OnlineCheckout | None) -> None:
    if checkout is not None:
        checkout_settle(checkout_id=checkout.pk)


@handles("checkout.session.completed")
@handles("checkout.session.async_payment_succeeded")
@handles("checkout.session.async_payment_failed")
@handles("checkout.session.expired")
def checkout_session_changed(event: stripe.Event, clinic: Clinic) -> None:
    session_id = str(_object(event).get("id") or "")
    _settle(OnlineCheckout.objects.filter(session_id=session_id).first() if session_id else None)


@handles("payment_intent.succeeded")
@handles("payment_intent.payment_failed")
def payment_intent_changed(event: stripe.Event, clinic: Clinic) -> None:
    """A checkout's payment intent (its metadata names the checkout); other payment intents are not
    a checkout's and are left to whoever made them."""
    metadata = _object(event).get("metadata")
    checkout_id = str(metadata.get("checkout_id") or "") if isinstance(metadata, dict) else ""
    # ASCII digits that fit a row id only ("²" passes str.isdigit and fails int(); metadata is anyone's)
    ours = re.fullmatch(r"[0-9]{1,18}", checkout_id) is not None
    _settle(OnlineCheckout.objects.filter(pk=int(checkout_id)).first() if ours else None)


@handles("charge.refunded")
def charge_refunded(event: stripe.Event, clinic: Clinic) -> None:
    """A refund made at Stripe: our pending refunds of that payment are made (or confirmed) now,
    each with its own idempotency key, so this never makes a second one."""
    intent = str(_object(event).get("payment_intent") or "")
    if not intent:
        return
    pending = Refund.objects.filter(
        status=RefundStatus.PENDING, payment__method="stripe", payment__reference=intent
    ).values_list("pk", flat=True)
    for refund_id in list(pending):
        after_commit(_sender(refund_id))


def _sender(refund_id: int) -> Callable[[], object]:
    return lambda: refund_send(refund_id=refund_id)
