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
