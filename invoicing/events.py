"""What the ledger announces (config.events): notifications sends receipts from these later."""

from __future__ import annotations

from dataclasses import dataclass

from config.events import Event


@dataclass(frozen=True)
class InvoiceIssued(Event):
    invoice_id: int
    actor_id: int | None


@dataclass(frozen=True)
class PaymentRecorded(Event):
    invoice_id: int
    payment_id: int
    amount_minor: int
    actor_id: int | None


@dataclass(frozen=True)
class RefundRecorded(Event):
    invoice_id: int
    refund_id: int
    amount_minor: int
    actor_id: int | None


@dataclass(frozen=True)
class InvoiceVoided(Event):
    """An invoice was voided: what it sold is no longer sold (packages: the purchase is cancelled)."""

    invoice_id: int
    actor_id: int | None


@dataclass(frozen=True)
class CreditNoteIssued(Event):
    """Part or all of an invoice was credited (``credit_note_id``); crediting a package sale in full
    cancels the purchase."""

    invoice_id: int
    credit_note_id: int
    amount_minor: int
    actor_id: int | None


# --- fees12
@dataclass(frozen=True)
class FeeCharged(Event):
    """A no-show or late-cancellation fee was charged to the patient's card on file (the Stripe
    payment is on the fee invoice: PaymentRecorded was announced with it)."""

    fee_charge_id: int
    invoice_id: int
    appointment_id: int
    amount_minor: int
    kind: str


# --- walk14c
@dataclass(frozen=True)
class CardLinkIssued(Event):
    """Staff sent a patient a link to save a card for the clinic's fees (invoicing.services.card_link):
    notifications e-mails ``url`` to ``destination`` once the transaction commits. The link is
    Stripe's page; nothing is charged on it."""

    patient_id: int
    checkout_id: int
    destination: str
    url: str
    hours: int
