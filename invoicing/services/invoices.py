"""Raising, issuing and voiding invoices. Every change locks the invoice row first: each of these
may run at the same time as itself (two clicks, a replayed event)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from config.errors import ValidationFailed
from config.events import publish
from config.fields import plain_text
from invoicing.events import InvoiceIssued, InvoiceVoided
from invoicing.exceptions import AlreadyInvoiced, InvoiceHasPayments, InvoiceNotOpen, NotInvoiceable, Overpayment
from invoicing.models import OPEN_STATUSES, Invoice, InvoiceLine, InvoiceStatus, TaxRate
from invoicing.services.amounts import line_amounts
from invoicing.services.numbering import Sequence, next_number
from packages.selectors import covering_session
from patients.models import Patient
from scheduling.models import CalendarEntry, Kind, Service, Status
from scheduling.selectors import service_price
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize, user_of
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get

#: How long after issue an invoice falls due.
PAYMENT_TERMS = timedelta(days=14)


def locked(invoice: Invoice | int) -> Invoice:
    """The invoice, re-read with its row locked until the transaction ends."""
    pk = invoice if isinstance(invoice, int) else invoice.pk
    return Invoice.objects.select_for_update().get(pk=pk)


def positive(amount_minor: int) -> int:
    """An amount of money moved (paid, refunded, credited): more than zero."""
    if amount_minor <= 0:
        raise ValidationFailed(fields={"amount_minor": ["The amount must be more than zero."]})
    return amount_minor


def reason_given(reason: str) -> str:
    """The reason a person gave, as stored; none is refused."""
    reason = plain_text(reason).strip()
    if not reason:
        raise ValidationFailed(fields={"reason": ["Give the reason."]})
    return reason


def locked_owing(invoice: Invoice, amount_minor: int) -> Invoice:
    """The invoice locked, refused unless it is issued and still asks for at least ``amount_minor``."""
    invoice = locked(invoice)
    if invoice.status not in OPEN_STATUSES:
        raise InvoiceNotOpen("Only an issued invoice that is not fully paid takes payments or credit.")
    if amount_minor > invoice.due_minor:
        raise Overpayment(f"The invoice asks for {invoice.due_minor} more (minor units).")
    return invoice


def default_tax_rate_bp() -> int:
    """The chain's default tax rate in basis points, 0 when it has none."""
    rate = TaxRate.objects.filter(is_default=True, is_active=True).values_list("rate_bp", flat=True).first()
    return rate or 0


def recompute_totals(invoice: Invoice) -> None:
    """The invoice's totals as the sum of its lines (not saved)."""
    sums = invoice.lines.aggregate(
        subtotal=Sum("subtotal_minor"), discount=Sum("discount_minor"), tax=Sum("tax_minor"), total=Sum("total_minor")
    )
    invoice.subtotal_minor = sums["subtotal"] or 0
    invoice.discount_minor = sums["discount"] or 0
    invoice.tax_minor = sums["tax"] or 0
    invoice.total_minor = sums["total"] or 0


def _issue(invoice: Invoice, *, actor: Actor | None, now: datetime) -> Invoice:
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceNotOpen("Only a draft invoice can be issued.")
    invoice.number = next_number(Sequence.INVOICE)
    invoice.status = InvoiceStatus.PAID if invoice.total_minor == 0 else InvoiceStatus.ISSUED
    invoice.issued_at = now
    invoice.due_at = now + PAYMENT_TERMS
    changed_by(invoice, actor, reason="issued").save()
    publish(InvoiceIssued(invoice.pk, getattr(user_of(actor), "pk", None)))
    return invoice


def raise_for_appointment(
    appointment: CalendarEntry, *, actor: Actor | None, issue: bool, prepaid_by: Patient | None = None
) -> Invoice:
    """The visit's invoice: one line for its service at the branch's price, with the chain's
    default tax. Raised once: a visit that has one answers it again (a replayed event, a second
    completion, the completion of a visit paid for in part at booking). A visit is invoiced when
    completed, or at booking when ``prepaid_by`` pays for it in advance (a held or booked time, a
    deposit or prepayment online). No permission check: the caller has decided (the completion's
    subscriber, online checkout, or ``invoice_raise_for_appointment``)."""
    with transaction.atomic():
        entry = (
            CalendarEntry.objects.select_for_update(of=("self",))
            .select_related("service", "branch")
            .get(pk=appointment.pk)
        )
        existing = Invoice.objects.filter(appointment_id=entry.pk).first()
        if existing is not None:
            return existing
        payer_id = entry.patient_id or (prepaid_by.pk if prepaid_by else None)
        at_booking = prepaid_by is not None and entry.status in (Status.HELD, Status.BOOKED)
        if (
            entry.kind != Kind.APPOINTMENT
            or not (entry.status == Status.COMPLETED or at_booking)
            or payer_id is None
            or entry.service is None
            or entry.branch is None
        ):
            raise NotInvoiceable()
        invoice = Invoice(
            patient_id=payer_id,
            branch=entry.branch,
            appointment=entry,
            currency=chain_settings_get().currency,
            created_by=history_user(actor),
        )
        changed_by(invoice, actor, reason="paid at booking" if at_booking else "visit completed").save()
        line = LineIn(
            description=entry.service.name,
            unit_price_minor=service_price(service=entry.service, branch=entry.branch),
            tax_rate_bp=default_tax_rate_bp(),
            service=entry.service,
        )
        covered = covering_session(appointment_id=entry.pk)
        if covered is not None:  # paid for by the package's sale invoice: this visit is invoiced at zero
            line = LineIn(
                description=f"Covered by package {covered.purchase.name}: {entry.service.name}",
                unit_price_minor=0,
                service=entry.service,
            )
        _add_line(invoice, line, 0)
        recompute_totals(invoice)
        invoice.save(update_fields=["subtotal_minor", "discount_minor", "tax_minor", "total_minor"])
        if issue:
            _issue(invoice, actor=actor, now=timezone.now())
    return invoice


def invoice_raise_for_appointment(*, actor: Actor, appointment: CalendarEntry, issue: bool = True) -> Invoice:
    """Billing raises a completed visit's invoice by hand (issued unless told otherwise); a visit
    already invoiced is refused (already_invoiced)."""
    authorize(actor, "invoicing.manage_invoice", appointment.branch)
    with transaction.atomic():
        if Invoice.objects.filter(appointment_id=appointment.pk).exists():
            raise AlreadyInvoiced()
        try:
            with transaction.atomic():
                return raise_for_appointment(appointment, actor=actor, issue=issue)
        except IntegrityError as exc:  # raised at the same moment by someone else
            raise AlreadyInvoiced() from exc


def invoice_issue(*, actor: Actor, invoice: Invoice) -> Invoice:
    """A draft becomes an issued invoice with the chain's next number."""
    authorize(actor, "invoicing.manage_invoice", invoice)
    with transaction.atomic():
        return _issue(locked(invoice), actor=actor, now=timezone.now())


#: checkout14: run before an invoice is voided, outside any transaction, with its id: online checkout
#: expires the invoice's open Checkout Sessions at Stripe first (one already paid is recorded, and the
#: void is then refused: the invoice has a payment).
BEFORE_VOID: list[Callable[[int], None]] = []


def invoice_void(*, actor: Actor, invoice: Invoice, reason: str) -> Invoice:
    """A draft or issued invoice with no payment made void (its number stays used)."""
    authorize(actor, "invoicing.manage_invoice", invoice)
    for before in BEFORE_VOID:
        before(invoice.pk)
    with transaction.atomic():
        return void_unpaid(locked(invoice), actor=actor, reason=reason)


def void_unpaid(invoice: Invoice, *, actor: Actor | None, reason: str) -> Invoice:
    """Void a locked draft or issued invoice with no payment (no permission check: the caller has
    decided, e.g. an online payment that was never made)."""
    if invoice.status not in (InvoiceStatus.DRAFT, *OPEN_STATUSES):
        raise InvoiceNotOpen("Only a draft or an unpaid issued invoice can be voided.")
    if invoice.paid_minor or invoice.payments.exists():
        raise InvoiceHasPayments()
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason_given(reason)
    changed_by(invoice, actor, reason="voided").save()
    publish(InvoiceVoided(invoice.pk, getattr(user_of(actor), "pk", None)))
    return invoice


@dataclass(frozen=True)
class LineIn:
    """A line of a draft: what, how many, at what unit price and discount (minor units), at what tax."""

    description: str
    unit_price_minor: int
    quantity: int = 1
    discount_minor: int = 0
    tax_rate_bp: int = 0
    service: Service | None = None


def _fits(description: str) -> str:
    """A line's description within its column: a line the system writes (a package's and a
    service's names) can be longer than either name alone."""
    longest = InvoiceLine._meta.get_field("description").max_length or 200
    return description if len(description) <= longest else description[: longest - 1] + "…"


def _add_line(invoice: Invoice, line: LineIn, position: int) -> None:
    if line.quantity < 1 or line.unit_price_minor < 0 or line.discount_minor < 0 or line.tax_rate_bp < 0:
        raise ValidationFailed(fields={f"lines.{position}": ["Quantities, prices and discounts cannot be negative."]})
    amounts = line_amounts(
        quantity=line.quantity,
        unit_price_minor=line.unit_price_minor,
        discount_minor=line.discount_minor,
        tax_rate_bp=line.tax_rate_bp,
    )
    if line.discount_minor > amounts.subtotal_minor:
        raise ValidationFailed(fields={f"lines.{position}": ["The discount is more than the line."]})
    InvoiceLine.objects.create(
        invoice=invoice,
        position=position,
        description=_fits(plain_text(line.description).strip() or "Item"),
        service=line.service,
        quantity=line.quantity,
        unit_price_minor=line.unit_price_minor,
        discount_minor=line.discount_minor,
        tax_rate_bp=line.tax_rate_bp,
        subtotal_minor=amounts.subtotal_minor,
        tax_minor=amounts.tax_minor,
        total_minor=amounts.total_minor,
    )


def invoice_draft_create(*, actor: Actor, patient: Patient, branch: Branch, lines: Seq[LineIn]) -> Invoice:
    """A draft invoice of the given lines, in the chain's currency, not yet numbered (invoice_issue)."""
    authorize(actor, "invoicing.manage_invoice", branch)
    if not lines:
        raise ValidationFailed(fields={"lines": ["An invoice has at least one line."]})
    with transaction.atomic():
        invoice = Invoice(
            patient=patient, branch=branch, currency=chain_settings_get().currency, created_by=history_user(actor)
        )
        changed_by(invoice, actor, reason="draft").save()
        for position, line in enumerate(lines):
            _add_line(invoice, line, position)
        recompute_totals(invoice)
        invoice.save(update_fields=["subtotal_minor", "discount_minor", "tax_minor", "total_minor"])
    return invoice
