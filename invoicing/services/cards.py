"""Cards on file: the patient's Customer on the chain's connected Stripe account, and the one card
saved to it that no-show and late-cancellation fees are charged to (invoicing.services.fees).

Card details never pass through here: the patient enters them on Stripe's page (a Checkout session
in setup mode, or with ``setup_future_usage``); what comes back is a payment method id, and this
module re-reads the payment method from Stripe for what staff may see (brand, last four, expiry)."""

from __future__ import annotations

import logging

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.fields import plain_text
from invoicing.cards import SavedCard, StripeCustomer
from invoicing.connect.client import idempotency_key, on_behalf_of, stripe_client
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from invoicing.connect.selectors import connection_get
from invoicing.exceptions import CardNotUsable, NoCardOnFile
from patients.models import Patient
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize

log = logging.getLogger(__name__)


def connected_account_id() -> str:
    """The chain's connected Stripe account that can take charges (stripe_not_connected otherwise)."""
    connection = connection_get()
    if connection is None or not connection.is_connected:
        raise StripeNotConnected()
    return connection.account_id


def stripe_customer_for(patient: Patient) -> StripeCustomer:
    """The patient's Customer on the chain's connected account, made at Stripe on first use.

    No lock is held across the Stripe call: the create call's idempotency key names the patient's
    row and the account, so two callers at once get the same Customer back from Stripe, and the
    unique patient column keeps one row here (the loser re-reads the winner's)."""
    existing = StripeCustomer.objects.filter(patient_id=patient.pk).first()
    if existing is not None:
        return existing
    account = connected_account_id()
    try:
        customer = stripe_client().v1.customers.create(
            params={
                "name": f"{patient.first_name} {patient.last_name}".strip(),
                "metadata": {"patient_id": str(patient.pk)},
            },
            options={**on_behalf_of(account), "idempotency_key": idempotency_key("customer", account, patient.pk)},
        )
    except stripe.StripeError as error:
        log.warning("stripe customer create failed for patient %s: %s", patient.pk, error)
        raise StripeUnavailable() from error
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(patient_id=patient.pk, account_id=account, customer_id=customer.id)
    except IntegrityError:
        return StripeCustomer.objects.get(patient_id=patient.pk)


def card_on_file_get(patient_id: int) -> SavedCard | None:
    """The patient's live card, if any (no permission check: callers decide; see card_on_file)."""
    return SavedCard.objects.filter(patient_id=patient_id, removed_at__isnull=True).first()


def card_on_file(*, actor: Actor, patient: Patient) -> SavedCard | None:
    """The patient's live card as staff may see it (brand, last four, expiry)."""
    authorize(actor, "invoicing.view_card")
    return card_on_file_get(patient.pk)


def card_on_file_save(*, actor: Actor | None, patient: Patient, payment_method_id: str) -> SavedCard:
    """Save ``payment_method_id`` (a card the patient entered on Stripe's page) as the patient's card
    on file, replacing the one before (kept as history, ``removed_at`` stamped).

    ``actor`` is the staff member doing it, or None when Stripe's signed word is the authority (the
    Connect webhook of a completed setup, checkout12). The payment method is re-read from Stripe on
    the chain's account: brand, last four and expiry come from there, never from the caller; it is
    attached to the patient's Customer if it is not yet. Saving the live card again answers it."""
    if actor is not None:
        authorize(actor, "invoicing.remove_card")
    payment_method_id = plain_text(payment_method_id).strip()
    if not payment_method_id:
        raise CardNotUsable()
    customer = stripe_customer_for(patient)
    client, options = stripe_client(), on_behalf_of(customer.account_id)
    try:
        method = client.v1.payment_methods.retrieve(payment_method_id, options=options)
        if method.type != "card" or method.card is None:
            raise CardNotUsable()
        attached_to = method.customer if isinstance(method.customer, str | None) else method.customer.id
        if attached_to not in (None, customer.customer_id):
            raise CardNotUsable()
        if attached_to is None:
            method = client.v1.payment_methods.attach(
                payment_method_id, params={"customer": customer.customer_id}, options=options
            )
    except stripe.InvalidRequestError as error:
        raise CardNotUsable() from error
    except stripe.StripeError as error:
        log.warning("stripe payment method read failed for patient %s: %s", patient.pk, error)
        raise StripeUnavailable() from error
    # Attaching one of Stripe's test cards (or a card token) makes a new payment method: keep its id.
    payment_method_id, card = method.id, method.card
    if card is None:
        raise CardNotUsable()
    return card_on_file_record(
        actor=actor,
        patient=patient,
        customer_id=customer.customer_id,
        payment_method_id=payment_method_id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def card_on_file_record(
    *,
    actor: Actor | None,
    patient: Patient,
    customer_id: str,
    payment_method_id: str,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
) -> SavedCard:
    """Keep a card Stripe has confirmed (card_on_file_save read it from Stripe; the demo, which has
    no Stripe to reach, writes what the webhook would): the patient's live card, the one before it
    marked replaced. No permission check: the callers have decided."""
    now = timezone.now()
    with transaction.atomic():
        # The patient row is the lock that orders two saves for one patient (the live-card
        # constraint would refuse the loser of a race otherwise).
        Patient.objects.select_for_update().get(pk=patient.pk)
        live = card_on_file_get(patient.pk)
        if live is not None and live.payment_method_id == payment_method_id:
            return live
        if live is not None:
            live.removed_at, live.removed_reason = now, "replaced"
            changed_by(live, actor, reason="card replaced").save(update_fields=["removed_at", "removed_reason"])
        saved = SavedCard(
            patient_id=patient.pk,
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            brand=brand,
            last4=last4,
            exp_month=exp_month,
            exp_year=exp_year,
            saved_at=now,
            saved_by=history_user(actor),
        )
        changed_by(saved, actor, reason="card saved").save()
    return saved


def card_on_file_remove(*, actor: Actor, patient: Patient, reason: str = "") -> SavedCard:
    """The patient's card is no longer charged (it stays in the history). Detaching it at Stripe is
    not needed for that: fees only ever charge the live card here."""
    authorize(actor, "invoicing.remove_card")
    with transaction.atomic():
        Patient.objects.select_for_update().get(pk=patient.pk)
        live = card_on_file_get(patient.pk)
        if live is None:
            raise NoCardOnFile()
        live.removed_at = timezone.now()
        live.removed_reason = plain_text(reason).strip()[:200] or "removed"
        changed_by(live, actor, reason="card removed").save(update_fields=["removed_at", "removed_reason"])
    return live
