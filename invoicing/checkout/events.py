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
