"""An invoice's money as its page, the printed invoice and the PDF say it: a status in words that
tells the whole story ("Paid · £25.00 refunded"), and the totals as lines that add up, one to the
next, to the balance due.

The ledger's arithmetic (invoicing/models.py): what is owed is ``total - credited - paid``, and a
refund gives back money the invoice no longer asks for. So the lines are: the total; less credit
notes (their full amounts, whether they lowered the debt or freed money refunded with them); less
refunds given on their own (no longer charged); what that leaves charged; less what was paid; plus
what was given back; the balance due. Pure reads of a loaded invoice (invoicing.desk.invoice_get
prefetches what it needs): no query of its own beyond them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from config.money import money_format
from invoicing.models import Invoice, InvoiceStatus, RefundStatus


@dataclass(frozen=True)
class StatementLine:
    label: str
    amount_minor: int  # signed: what this line adds to the running amount (the first: the total)
    total: bool = False  # a running result (charged, balance due), shown in bold

    @property
    def magnitude(self) -> int:
        return abs(self.amount_minor)

    @property
    def sign(self) -> str:
        """How the line reads beside the one before: taken off (minus), added (+), or a result ("")."""
        if self.total or self.label == "Total":
            return ""
        return "\u2212" if self.amount_minor < 0 else "+"


@dataclass(frozen=True)
class Statement:
    lines: list[StatementLine]
    summary: str  # the status in words: "Paid · £25.00 refunded"
    credit_notes_minor: int
    refunds_alone_minor: int

    @property
    def balance_minor(self) -> int:
        return self.lines[-1].amount_minor

    @property
    def adds_up(self) -> bool:
        """Each line (not the running results) added to the total gives the balance due."""
        return sum(line.amount_minor for line in self.lines[:-1] if not line.total) == self.balance_minor


def _given(refund_status: str) -> bool:
    return refund_status != RefundStatus.FAILED


def statement(invoice: Invoice, *, locale: str | None = None) -> Statement:
    """The invoice's totals as lines that add up, and its status in words (amounts in ``locale``)."""

    def money(amount: int) -> str:
        return money_format(amount, invoice.currency, locale=locale)

    notes = list(invoice.credit_notes.all())
    noted = sum(n.amount_minor for n in notes)
    refunds = [r for p in invoice.payments.all() for r in p.refunds.all() if _given(r.status)]
    alone = invoice.refunded_minor - sum(r.amount_minor for r in refunds if r.credit_note_id)
    lines = [StatementLine("Total", invoice.total_minor)]
    if invoice.status == InvoiceStatus.VOID:
        lines.append(StatementLine("Void: no longer asked for", -invoice.total_minor))
    elif invoice.status == InvoiceStatus.DRAFT:
        lines.append(StatementLine("Draft: not asked for until issued", -invoice.total_minor))
    if noted:
        numbers = ", ".join(n.number for n in notes)
        lines.append(StatementLine(f"Credit notes ({numbers})", -noted))
    if alone:
        lines.append(StatementLine("Refunded, no longer charged", -alone))
    if noted or alone:
        lines.append(StatementLine("Charged", invoice.total_minor - noted - alone, total=True))
    if invoice.paid_minor:
        lines.append(StatementLine("Paid", -invoice.paid_minor))
    if invoice.refunded_minor:
        lines.append(StatementLine("Refunded to the patient", invoice.refunded_minor))
    lines.append(StatementLine("Balance due", invoice.due_minor, total=True))
    return Statement(lines=lines, summary=_summary(invoice, money), credit_notes_minor=noted, refunds_alone_minor=alone)


def _summary(invoice: Invoice, say: Callable[[int], str]) -> str:
    status = InvoiceStatus(invoice.status)
    words = [str(status.label)]
    if status in (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID):
        words.append(f"{say(invoice.due_minor)} owed")
    if status != InvoiceStatus.REFUNDED and invoice.refunded_minor:
        words.append(f"{say(invoice.refunded_minor)} refunded")
    return " · ".join(words)
