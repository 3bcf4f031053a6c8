"""Reads behind the billing pages: the billing desk (open invoices, what they add up to, aged
receivables), one invoice with everything done to it, a patient's billing on the chart, and the
invoice of a visit the front desk takes payment for. Each asks invoicing.selectors for the branches
the user sees (tenants.org.selectors): nothing here works that out again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from config.errors import NotFound
from invoicing.cards import SavedCard
from invoicing.models import OPEN_STATUSES, Invoice, InvoiceStatus, Payment, PaymentStatus, Refund
from invoicing.selectors import Balance, Receivable, aged_receivables, invoice_list, patient_balance
from invoicing.services.cards import card_on_file_get
from patients.models import Patient
from patients.selectors import patient_search
from tenants.authz import Actor, authorize
from tenants.org.models import Branch
from tenants.org.selectors import branch_list

#: How many invoices a page lists at most (the filters narrow it).
PAGE_LIMIT = 200
OPEN_STATUS_CHOICES = [(s.value, s.label) for s in OPEN_STATUSES]


@dataclass(frozen=True)
class DeskFilters:
    """What the billing desk is narrowed to: a branch, a status (issued or partly paid), a patient
    search (name, MRN, date of birth or phone: patients.selectors.patient_search), past due only."""

    branch_id: int | None = None
    status: str = ""
    q: str = ""
    overdue: bool = False


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    owed_minor: int
    invoices: int


@dataclass(frozen=True)
class BillingDesk:
    invoices: list[Invoice]
    totals: list[CurrencyTotal]
    receivables: list[Receivable] | None  # None: this user does not see receivables (reception)
    branches: list[Branch]
    more: bool  # more invoices match than the page lists
    now: datetime


def _open(actor: Actor) -> QuerySet[Invoice]:
    return invoice_list(actor=actor).filter(status__in=OPEN_STATUSES)


def billing_desk(*, actor: Actor, filters: DeskFilters, now: datetime | None = None) -> BillingDesk:
    """Open invoices (issued, partly paid) of the branches this user sees, oldest first, with what
    they add up to per currency; owners and billing also get the aged receivables per patient."""
    authorize(actor, "invoicing.view_invoice")
    now = now or timezone.now()
    qs = _open(actor)
    if filters.branch_id is not None:
        qs = qs.filter(branch_id=filters.branch_id)
    if filters.status in {s.value for s in OPEN_STATUSES}:
        qs = qs.filter(status=filters.status)
    if filters.q.strip():
        qs = qs.filter(patient_id__in=patient_search(q=filters.q).values("pk"))
    if filters.overdue:
        qs = qs.filter(due_at__lt=now)
    rows = list(qs.order_by("due_at", "pk")[: PAGE_LIMIT + 1])
    totals: dict[str, list[int]] = {}
    for invoice in rows[:PAGE_LIMIT]:
        total = totals.setdefault(invoice.currency, [0, 0])
        total[0] += invoice.due_minor
        total[1] += 1
    receivables = aged_receivables(actor=actor, now=now) if actor.has_perm("invoicing.view_receivables") else None
    return BillingDesk(
        invoices=rows[:PAGE_LIMIT],
        totals=[CurrencyTotal(c, owed, n) for c, (owed, n) in sorted(totals.items())],
        receivables=receivables,
        branches=list(branch_list(actor=actor).order_by("name")),
        more=len(rows) > PAGE_LIMIT,
        now=now,
    )


@dataclass(frozen=True)
class InvoicePage:
    """One invoice with its lines, payments (each with its refunds), credit notes, and what this
    user may do to it."""

    invoice: Invoice
    refunds: list[Refund]
    refundable: list[Payment]  # payments taken, with money left to give back (a Stripe one at Stripe)
    can_pay: bool
    can_manage: bool
    overdue: bool
    status_words: str = field(default="")


STATUS_WORDS = {
    InvoiceStatus.DRAFT: "Draft: not yet issued, asks for nothing.",
    InvoiceStatus.ISSUED: "Issued: nothing paid yet.",
    InvoiceStatus.PARTLY_PAID: "Partly paid: some of it is still owed.",
    InvoiceStatus.PAID: "Paid: nothing is owed.",
    InvoiceStatus.VOID: "Void: cancelled, asks for nothing (its number stays used).",
    InvoiceStatus.REFUNDED: "Refunded: everything paid was given back.",
}


def invoice_get(*, actor: Actor, invoice_id: int) -> Invoice:
    """An invoice of a branch this user sees, with its lines, payments and credit notes; any other
    (another branch's, another chain's, none) is not found."""
    authorize(actor, "invoicing.view_invoice")
    payments = Payment.objects.prefetch_related("refunds").order_by("received_at", "pk")
    invoice = (
        invoice_list(actor=actor)
        .select_related("branch", "patient", "appointment")
        .prefetch_related("lines", Prefetch("payments", queryset=payments), "credit_notes")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def invoice_page(*, actor: Actor, invoice_id: int, now: datetime | None = None) -> InvoicePage:
    """An invoice as its page shows it (invoice_get), with the refunds given and the actions allowed."""
    invoice = invoice_get(actor=actor, invoice_id=invoice_id)
    now = now or timezone.now()
    payments = list(invoice.payments.all())
    open_ = invoice.status in OPEN_STATUSES
    return InvoicePage(
        invoice=invoice,
        refunds=[r for p in payments for r in p.refunds.all()],
        refundable=[p for p in payments if p.status == PaymentStatus.SUCCEEDED and p.amount_minor > p.refunded_minor],
        can_pay=open_ and actor.has_perm("invoicing.record_payment", invoice),
        can_manage=actor.has_perm("invoicing.manage_invoice", invoice),
        overdue=open_ and invoice.due_at is not None and invoice.due_at < now,
        status_words=STATUS_WORDS.get(InvoiceStatus(invoice.status), invoice.get_status_display()),
    )


@dataclass(frozen=True)
class PatientBilling:
    """A patient's billing as the chart shows it: the balance per currency, the open invoices,
    the last payments, and the card on file for those who may see it (``card_shown``)."""

    patient: Patient
    balances: list[Balance]
    open_invoices: list[Invoice]
    recent_payments: list[Payment]
    card_shown: bool
    card: SavedCard | None


def patient_billing(*, actor: Actor, patient_id: int, recent: int = 5) -> PatientBilling:
    """What a patient owes and last paid, on invoices of the branches this user sees."""
    authorize(actor, "invoicing.view_invoice")
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise NotFound("No such patient.")
    visible = invoice_list(actor=actor).filter(patient_id=patient_id)
    card_shown = actor.has_perm("invoicing.view_card")
    return PatientBilling(
        card_shown=card_shown,
        card=card_on_file_get(patient_id) if card_shown else None,
        patient=patient,
        balances=patient_balance(actor=actor, patient_id=patient_id),
        open_invoices=list(visible.filter(status__in=OPEN_STATUSES).order_by("due_at", "pk")),
        recent_payments=list(
            Payment.objects.filter(invoice__in=visible)
            .select_related("invoice")
            .order_by("-received_at", "-pk")[:recent]
        ),
    )


def visit_invoice(*, actor: Actor, appointment_id: int) -> Invoice | None:
    """A visit's invoice, when this user may take payments on it and it still asks for money
    (the front desk's "Take payment"); None otherwise."""
    invoice = invoice_list(actor=actor).filter(Q(appointment_id=appointment_id), status__in=OPEN_STATUSES).first()
    if invoice is None or not actor.has_perm("invoicing.record_payment", invoice):
        return None
    return invoice
