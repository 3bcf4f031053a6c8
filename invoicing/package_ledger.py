"""A package sale and its invoice move together (the ledger's events drive it):

- a payment recorded on the sale's invoice, by any means (the desk, Stripe Checkout, a reconciled
  transfer), makes a purchase still waiting for its payment active, once (``purchase_activate`` locks
  the purchase and answers a second call unchanged);
- voiding the sale's invoice, or crediting all of it, cancels the purchase: no session of it can be
  booked any more, and visits booked against it stay booked but leave the package (each invoiced as
  usual when it takes place);
- billing or an owner cancels a purchase at the desk (``package_cancel``), with the reason and an
  explicit choice: the unused sessions given back pro rata, or nothing given back. What is given
  back is first credited against what the sale's invoice still asks for (a credit note), and the rest
  refunded from its payments, newest first (a Stripe payment through Stripe).

Locks: the invoice row first, then the purchase (the order the payment path takes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.db import transaction

from config.events import subscribe
from invoicing.events import CreditNoteIssued, InvoiceVoided, PaymentRecorded
from invoicing.models import OPEN_STATUSES, CreditNote, Invoice, InvoiceStatus, PackageSale, Refund
from invoicing.services.credit_notes import credit_note_issue
from invoicing.services.invoices import locked, reason_given
from invoicing.services.payments import refund_add
from packages.exceptions import PurchaseNotCancellable
from packages.models import CancelReason, PackagePurchase, PurchaseStatus
from packages.selectors import AppointmentPackage, appointment_package, purchase_list, usable_purchase
from packages.services import purchase_activate, purchase_cancel
from scheduling.models import CalendarEntry
from tenants.accounts.models import User
from tenants.authz import Actor, authorize


class GiveBack(StrEnum):
    """What a cancelled package gives back: the unused sessions pro rata, or nothing."""

    PRO_RATA = "pro_rata"
    NONE = "none"


@dataclass(frozen=True)
class CancelQuote:
    """What cancelling a purchase now would give back (minor units of ``currency``): ``credit_minor``
    off what its invoice still asks for, ``refund_minor`` back from what was paid."""

    unused: int
    sessions_total: int
    value_minor: int
    credit_minor: int
    refund_minor: int
    currency: str


@dataclass
class PackageCancelled:
    purchase: PackagePurchase
    credit_note: CreditNote | None = None
    refunds: list[Refund] = field(default_factory=list)


def sale_invoice(*, purchase: PackagePurchase) -> Invoice | None:
    """The invoice of a purchase's sale (None for a sale that was never invoiced)."""
    sale = PackageSale.objects.select_related("invoice").filter(purchase_id=purchase.pk).first()
    return sale.invoice if sale is not None else None


def _quote(purchase: PackagePurchase, invoice: Invoice | None, give_back: GiveBack) -> CancelQuote:
    unused = purchase.sessions_total - purchase.used
    value = 0
    if invoice is not None and invoice.status != InvoiceStatus.VOID and give_back == GiveBack.PRO_RATA:
        # Pro rata of what the package finally cost (earlier credit notes and refunds already gave
        # part of it back), rounded down: never more than the unused sessions were paid for.
        cost = max(invoice.total_minor - invoice.credited_minor - invoice.refunded_minor, 0)
        value = cost * unused // purchase.sessions_total
    credit = min(value, invoice.due_minor) if invoice is not None and invoice.status in OPEN_STATUSES else 0
    refundable = invoice.paid_minor - invoice.refunded_minor if invoice is not None else 0
    refund = min(value - credit, refundable)
    currency = invoice.currency if invoice is not None else purchase.currency
    return CancelQuote(unused, purchase.sessions_total, credit + refund, credit, refund, currency)


def package_cancel_quote(*, purchase: PackagePurchase, give_back: GiveBack = GiveBack.PRO_RATA) -> CancelQuote:
    """What cancelling ``purchase`` would give back now, its balance read again (the form shows it)."""
    purchase = PackagePurchase.objects.get(pk=purchase.pk)
    return _quote(purchase, sale_invoice(purchase=purchase), give_back)


def package_cancel(*, actor: Actor, purchase: PackagePurchase, reason: str, give_back: GiveBack) -> PackageCancelled:
    """Billing or an owner cancels a purchase: it is cancelled (no more bookings; visits booked on it
    stay booked and are invoiced as usual), and with ``give_back`` pro rata the unused sessions' share
    of what the sale finally cost (its total less earlier credit notes and refunds, rounded down) is
    credited (a credit note) and, beyond what is still owed, refunded.
    Refused (package_not_cancellable) for a purchase already cancelled."""
    authorize(actor, "packages.cancel_purchase", purchase)
    reason = reason_given(reason)
    with transaction.atomic():
        sale = PackageSale.objects.filter(purchase_id=purchase.pk).first()
        invoice = locked(sale.invoice_id) if sale is not None else None
        purchase = PackagePurchase.objects.select_for_update().get(pk=purchase.pk)
        if purchase.status == PurchaseStatus.CANCELLED:
            raise PurchaseNotCancellable()
        quote = _quote(purchase, invoice, give_back)
        done = PackageCancelled(
            purchase_cancel(purchase_id=purchase.pk, reason=CancelReason.DESK, actor=actor, note=reason)
        )
        if invoice is None:
            return done
        why = f"Package cancelled: {reason}"
        if quote.credit_minor:
            done.credit_note = credit_note_issue(
                actor=actor, invoice=invoice, amount_minor=quote.credit_minor, reason=why
            )
        left = quote.refund_minor
        for payment in invoice.payments.order_by("-received_at", "-pk"):
            part = min(left, payment.amount_minor - payment.refunded_minor)
            if part > 0:
                done.refunds.append(refund_add(payment, actor=actor, amount_minor=part, reason=why))
                left -= part
    return done


@dataclass(frozen=True)
class PurchaseRow:
    """A purchase as the desk reads it: its sale invoice, and whether it is still waiting for money."""

    purchase: PackagePurchase
    invoice: Invoice | None

    @property
    def awaiting_payment(self) -> bool:
        """Sold (pending or active) and its invoice still asks for money: it reads "Awaiting payment"."""
        live = self.purchase.status in (PurchaseStatus.PENDING, PurchaseStatus.ACTIVE)
        return live and self.invoice is not None and self.invoice.due_minor > 0

    @property
    def state_label(self) -> str:
        if self.awaiting_payment:
            return "Awaiting payment"
        return str(self.purchase.get_status_display())


def purchase_rows(*, actor: Actor, patient_id: int) -> list[PurchaseRow]:
    """A patient's purchases at the branches the user sees (packages.selectors.purchase_list), each
    with its sale invoice."""
    purchases = list(purchase_list(actor=actor, patient_id=patient_id))
    sales = PackageSale.objects.select_related("invoice").filter(purchase__in=purchases)
    invoices = {sale.purchase_id: sale.invoice for sale in sales}
    return [PurchaseRow(p, invoices.get(p.pk)) for p in purchases]


@dataclass(frozen=True)
class VisitPackage:
    """The desk panel's package line of a booked visit: the package it uses (or None), the purchase
    it could use instead ("Use the package"), and the package's sale invoice when still owed."""

    package: AppointmentPackage | None
    usable: PackagePurchase | None
    unpaid: Invoice | None


def visit_package(*, appointment: CalendarEntry) -> VisitPackage:
    """No branch check: the caller shows it on an appointment it has already been allowed to see."""
    package = appointment_package(appointment_id=appointment.pk)
    usable = None if package is not None else usable_purchase(appointment=appointment)
    purchase_id = package.purchase_id if package is not None else (usable.pk if usable is not None else None)
    sale = PackageSale.objects.select_related("invoice").filter(purchase_id=purchase_id).first()
    unpaid = sale.invoice if sale is not None and sale.invoice.due_minor > 0 else None
    return VisitPackage(package, usable, unpaid)


def _actor(actor_id: int | None) -> User | None:
    return User.objects.filter(pk=actor_id).first() if actor_id else None


def _purchase_of(invoice_id: int) -> int | None:
    return PackageSale.objects.filter(invoice_id=invoice_id).values_list("purchase_id", flat=True).first()


def activate_on_payment(event: PaymentRecorded) -> None:
    """Any payment on a sale's invoice: the purchase waiting for it is active."""
    purchase_id = _purchase_of(event.invoice_id)
    if purchase_id is not None:
        purchase_activate(purchase_id=purchase_id, how="paid")


def cancel_on_void(event: InvoiceVoided) -> None:
    purchase_id = _purchase_of(event.invoice_id)
    if purchase_id is not None:
        purchase_cancel(purchase_id=purchase_id, reason=CancelReason.INVOICE_VOID, actor=_actor(event.actor_id))


def cancel_on_full_credit(event: CreditNoteIssued) -> None:
    """Crediting everything a sale's invoice asked for takes the package back."""
    purchase_id = _purchase_of(event.invoice_id)
    if purchase_id is None:
        return
    invoice = Invoice.objects.get(pk=event.invoice_id)
    # Nothing charged any more (a credit note that freed a payment refunds it: refunded counts).
    if invoice.total_minor - invoice.credited_minor - invoice.refunded_minor <= 0:
        purchase_cancel(purchase_id=purchase_id, reason=CancelReason.INVOICE_CREDITED, actor=_actor(event.actor_id))


def connect() -> None:
    subscribe(PaymentRecorded, activate_on_payment)
    subscribe(InvoiceVoided, cancel_on_void)
    subscribe(CreditNoteIssued, cancel_on_full_credit)
