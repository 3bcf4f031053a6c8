"""What online checkout announces (config.events: subscribers run inside the same transaction)."""

from __future__ import annotations

from dataclasses import dataclass

from config.events import Event


@dataclass(frozen=True)
class OnlineCheckoutPaid(Event):
    """A Checkout Session was paid and its payment recorded on the invoice, once (a booking's hold
    is confirmed by then). ``purpose`` says what was bought (CheckoutPurpose): a package sale
    listens for its own."""

    checkout_id: int
    invoice_id: int
    payment_id: int
    purpose: str


@dataclass(frozen=True)
class OnlineCheckoutRefunded(Event):
    """A checkout's Stripe payment was recorded and all or part of it refunded at once, because the
    invoice no longer asked for it (paid at the desk, credited or voided meanwhile) or the held time
    was gone: ``reason`` says which ("Paid twice: …"), as billing reads it on the refund."""

    checkout_id: int
    invoice_id: int
    payment_id: int
    refund_id: int
    amount_minor: int
    reason: str
