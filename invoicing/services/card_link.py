"""A link staff send a patient to save a card for the clinic's no-show and late-cancellation fees,
outside any booking (the card page's "Send the patient a link to save a card", and the API).

Stripe's setup-mode Checkout is opened by ``invoicing.checkout.services.card_setup_link``; this
module sends it: it refuses a patient without an e-mail address before anything is opened at
Stripe, then announces ``CardLinkIssued`` (notifications e-mails the link after commit). The card is
kept on file when the patient completes the page (the checkout's webhook, return page or sweep)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from config.events import publish
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.checkout.services import CARD_LINK_LIFETIME, card_setup_link
from invoicing.connect.selectors import connection_get
from invoicing.events import CardLinkIssued
from invoicing.exceptions import PatientHasNoEmail
from invoicing.services.cards import connected_account_id
from patients.models import Patient
from tenants.authz import Actor, authorize

LINK_HOURS = int(CARD_LINK_LIFETIME.total_seconds() // 3600)


def card_link_send(*, actor: Actor, patient: Patient) -> OnlineCheckout:
    """Open a card-saving page at Stripe for ``patient`` and e-mail its link to the patient's
    e-mail address; the link (``session_url``) is also returned for staff to give another way
    (SMS, read out on the phone). Refused: stripe_not_connected, patient_has_no_email (nothing
    opened at Stripe), stripe_unavailable. Call it outside any transaction (Stripe is called)."""
    authorize(actor, "invoicing.remove_card")
    connected_account_id()  # stripe_not_connected says more than "no e-mail" when both hold
    destination = patient.email.strip()
    if not destination:
        raise PatientHasNoEmail()
    link = card_setup_link(actor=actor, patient=patient)
    with transaction.atomic():
        publish(
            CardLinkIssued(
                patient_id=patient.pk,
                checkout_id=link.pk,
                destination=destination,
                url=link.session_url,
                hours=LINK_HOURS,
            )
        )
    return link


@dataclass(frozen=True)
class CardLinkState:
    """What the card page offers: whether a link can be sent (the chain's Stripe account takes
    payments), where it goes (the patient's e-mail, or ""), and the newest link still open."""

    can_send: bool
    email: str
    link: OnlineCheckout | None


def card_link_state(*, actor: Actor, patient: Patient) -> CardLinkState:
    """The card page's "Send the patient a link to save a card" section, read for ``actor``."""
    authorize(actor, "invoicing.view_card")
    connection = connection_get()
    return CardLinkState(
        can_send=connection is not None and connection.is_connected,
        email=patient.email.strip(),
        link=_open_link(patient),
    )


def _open_link(patient: Patient) -> OnlineCheckout | None:
    """The patient's newest card-saving link of no booking still open (to show and copy), or None."""
    return (
        OnlineCheckout.objects.filter(
            patient_id=patient.pk,
            purpose=CheckoutPurpose.CARD_SETUP,
            hold__isnull=True,
            status=CheckoutStatus.OPEN,
            expires_at__gt=timezone.now(),
        )
        .exclude(session_url="")
        .order_by("-created_at", "-pk")
        .first()
    )
