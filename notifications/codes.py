"""Secrets a person is waiting for: a portal sign-in code, an online booking's code, the link staff
send a patient to save a card. Each is an outbox row like every message (so it is logged, retried
and its failures visible), written in the transaction that issued it and kicked to the dispatcher
on commit (notifications.outbox: due now, it leaves within seconds). The secret travels in the
row's context, named in ``context["secret"]``: masked in the text kept for the log, and cleared
from the row once sent. Consent and quiet hours do not hold these back (notifications.policy:
the person asked for them a moment ago)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from invoicing.checkout.models import OnlineCheckout
from invoicing.events import CardLinkIssued
from notifications.models import Channel, Kind
from notifications.outbox import message_enqueue
from notifications.policy import language_of
from patients.events import CodePurpose, PortalCodeIssued
from patients.models import Patient


def portal_code_send(event: PortalCodeIssued) -> None:
    """A sign-in or booking code, to the address it was asked for."""
    message_enqueue(
        kind=Kind.BOOKING_CODE if event.purpose == CodePurpose.BOOKING else Kind.SIGN_IN_CODE,
        channel=Channel.EMAIL if event.channel == "email" else Channel.SMS,
        recipient=event.destination,
        due_at=timezone.now(),
        language=language_of(None),
        context={"code": event.code, "minutes": event.minutes, "secret": ["code"]},
    )


def card_link_send(event: CardLinkIssued) -> None:
    """The link to save a card for the clinic's fees, by e-mail, once per checkout; it says until
    when the link works (Stripe's page closes then)."""
    now = timezone.now()
    patient = Patient.objects.filter(pk=event.patient_id).first()
    closes = OnlineCheckout.objects.filter(pk=event.checkout_id).values_list("expires_at", flat=True).first()
    message_enqueue(
        kind=Kind.CARD_LINK,
        channel=Channel.EMAIL,
        recipient=event.destination,
        due_at=now,
        language=language_of(patient),
        patient_id=event.patient_id,
        context={
            "link": event.url,
            "hours": event.hours,
            "until": (closes or now + timedelta(hours=event.hours)).isoformat(),
            "secret": ["link"],
        },
        key=f"card_link:{event.checkout_id}",
    )
