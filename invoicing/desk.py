"""Reads behind the billing pages: the billing desk (open invoices, what they add up to, aged
receivables), one invoice with everything done to it, a patient's billing on the chart, and the
invoice of a visit the front desk takes payment for. Each asks invoicing.selectors for the branches
the user sees (tenants.org.selectors): nothing here works that out again."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, Sum, When
from django.utils import timezone

from config.errors import NotFound
from invoicing.cards import SavedCard
from invoicing.fee_selectors import KeptDeposit, deposits_kept
from invoicing.models import OPEN_STATUSES, Invoice, InvoiceStatus, Payment, PaymentStatus, Refund
from invoicing.selectors import (
    AGE_BUCKETS,
    AgedAmounts,
    Balance,
    Receivable,
    aged_receivables,
    invoice_list,
    patient_balance,
)
from invoicing.services.cards import card_on_file_get
from patients.models import Patient
from patients.selectors import patient_search
from scheduling.models import Status
from scheduling.selectors import appointment_list
from tenants.authz import Actor, authorize
from tenants.org.models import Branch
from tenants.org.selectors import branch_list

#: How many invoices a page lists at most (the filters narrow it).
PAGE_LIMIT = 200
OPEN_STATUS_CHOICES = [(s.value, s.label) for s in OPEN_STATUSES]
#: What the desk's status filter offers: open (the default), any, or one status an issued invoice has.
ANY_STATUS = "any"
STATUS_CHOICES = [
    ("", "Open (issued or partly paid)"),
    (ANY_STATUS, "Any status"),
    *((s.value, s.label) for s in InvoiceStatus if s != InvoiceStatus.DRAFT),
]
#: Invoice numbers as they are typed: "INV-000123", "inv-123", "000123" (parts of one too).
INVOICE_NUMBER = re.compile(r"^[A-Za-z]{0,4}-?\d+$")


@dataclass(frozen=True)
class DeskFilters:
    """What the billing desk is narrowed to: a branch; a status (open, any, or one of issued,
    partly paid, paid, void, refunded); an invoice number or a patient (name, MRN, date of birth or
    phone: patients.selectors.patient_search); past due only; issued on or between two days."""

    branch_id: int | None = None
    status: str = ""
    q: str = ""
    overdue: bool = False
    issued_from: date | None = None
    issued_to: date | None = None


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    owed_minor: int
    invoices: int


@dataclass(frozen=True)
class ReceivablesTotal(AgedAmounts):
    """The aged receivables' totals row of one currency: each bucket summed, and what is past due."""

    currency: str
    buckets: dict[str, int]


@dataclass(frozen=True)
class BillingDesk:
    invoices: list[Invoice]
    totals: list[CurrencyTotal]
    receivables: list[Receivable] | None  # None: this user does not see receivables (reception)
    receivables_totals: list[ReceivablesTotal]
    branches: list[Branch]
    more: bool  # more invoices match than the page lists
    now: datetime
    open_only: bool = True  # the default search: what is still owed


def _open(actor: Actor) -> QuerySet[Invoice]:
    return invoice_list(actor=actor).filter(status__in=OPEN_STATUSES)


def invoice_search(*, actor: Actor, filters: DeskFilters, now: datetime | None = None) -> QuerySet[Invoice]:
    """Invoices (issued ones: drafts ask for nothing) of the branches this user sees that match
    ``filters``; open ones unless a status or "any" is asked for. Unordered."""
    authorize(actor, "invoicing.view_invoice")
    now = now or timezone.now()
    qs = invoice_list(actor=actor).exclude(status=InvoiceStatus.DRAFT)
    if filters.status == ANY_STATUS:
        pass
    elif filters.status in InvoiceStatus.values:
        qs = qs.filter(status=filters.status)
    else:
        qs = qs.filter(status__in=OPEN_STATUSES)
    if filters.branch_id is not None:
        qs = qs.filter(branch_id=filters.branch_id)
    q = filters.q.strip()
    if q:
        patients = Q(patient_id__in=patient_search(q=q).values("pk"))
        qs = qs.filter(patients | Q(number__icontains=q) if INVOICE_NUMBER.match(q) else patients)
    if filters.overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=now)
    if filters.issued_from is not None:
        qs = qs.filter(issued_at__date__gte=filters.issued_from)
    if filters.issued_to is not None:
        qs = qs.filter(issued_at__date__lte=filters.issued_to)
    return qs


def receivables_totals(rows: list[Receivable]) -> list[ReceivablesTotal]:
    """The totals row of aged receivables, one per currency."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        summed = totals.setdefault(row.currency, {name: 0 for name, _, _ in AGE_BUCKETS})
        for name, amount in row.buckets.items():
            summed[name] += amount
    return [ReceivablesTotal(currency, buckets) for currency, buckets in sorted(totals.items())]


def billing_desk(*, actor: Actor, filters: DeskFilters, now: datetime | None = None) -> BillingDesk:
    """The invoices the filters find (invoice_search: open ones by default), the earliest due
    first, with what they still owe per currency; owners, billing and branch managers also get the
    aged receivables per patient of the open invoices the same filters find, and their totals."""
    now = now or timezone.now()
    qs = invoice_search(actor=actor, filters=filters, now=now)
    open_only = filters.status in {"", *(s.value for s in OPEN_STATUSES)}
    order = ("due_at", "pk") if open_only else ("-issued_at", "-pk")
    rows = list(qs.order_by(*order)[: PAGE_LIMIT + 1])
    # what every invoice found owes, not only the page shown: the same figure as the invoices to chase
    due = F("total_minor") - F("credited_minor") - F("paid_minor")
    owed = Case(When(status__in=OPEN_STATUSES, then=due), default=0)
    totals = {
        t["currency"]: (t["owed"], t["invoices"])
        for t in qs.order_by().values("currency").annotate(owed=Sum(owed, default=0), invoices=Count("pk"))
    }
    receivables = (
        aged_receivables(actor=actor, now=now, within=qs) if actor.has_perm("invoicing.view_receivables") else None
    )
    return BillingDesk(
        invoices=rows[:PAGE_LIMIT],
        totals=[CurrencyTotal(c, owed, n) for c, (owed, n) in sorted(totals.items())],
        receivables=receivables,
        receivables_totals=receivables_totals(receivables or []),
        branches=list(branch_list(actor=actor).order_by("name")),
        more=len(rows) > PAGE_LIMIT,
        now=now,
        open_only=open_only,
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
    #: Deposits once paid on this visit's invoice that a fee kept (moved to the fee's invoice).
    kept_deposits: list[KeptDeposit] = field(default_factory=list)
    voided_by: str = ""  # who voided it ("" when not void, or by the system)


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
        kept_deposits=deposits_kept(invoice=invoice),
        voided_by=_voided_by(invoice),
    )


def _voided_by(invoice: Invoice) -> str:
    """Who voided the invoice, from its history ("" when not void, or voided by the system)."""
    if invoice.status != InvoiceStatus.VOID:
        return ""
    record = invoice.history.filter(status=InvoiceStatus.VOID).order_by("history_date").first()
    user = record.history_user if record is not None else None
    return (user.get_full_name() or user.get_username()) if user is not None else ""


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
    can_pay: bool = False  # may take one payment towards the whole balance (payments.balance_pay)


def patient_billing(*, actor: Actor, patient_id: int, recent: int = 5) -> PatientBilling:
    """What a patient owes and last paid, on invoices of the branches this user sees."""
    authorize(actor, "invoicing.view_invoice")
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise NotFound("No such patient.")
    visible = invoice_list(actor=actor).filter(patient_id=patient_id)
    card_shown = actor.has_perm("invoicing.view_card")
    balances = patient_balance(actor=actor, patient_id=patient_id)
    return PatientBilling(
        can_pay=bool(balances) and actor.has_perm("invoicing.record_payment"),
        card_shown=card_shown,
        card=card_on_file_get(patient_id) if card_shown else None,
        patient=patient,
        balances=balances,
        open_invoices=list(visible.filter(status__in=OPEN_STATUSES).order_by("due_at", "pk")),
        recent_payments=list(
            Payment.objects.filter(invoice__in=visible)
            .select_related("invoice")
            .order_by("-received_at", "-pk")[:recent]
        ),
    )


@dataclass(frozen=True)
class VisitBilling:
    """What the front desk's panel says about money for one visit: "Take payment" on a completed
    visit that still owes (``invoice``), what was paid ahead on a booked one (``paid_ahead_minor``
    of ``currency``, a deposit or the whole price: ``paid_in_full``), and what the patient owes on
    other invoices past due (``other_past_due``, per currency), with the patient to link to."""

    patient_id: int | None
    invoice: Invoice | None
    paid_ahead_minor: int
    paid_in_full: bool
    currency: str
    other_past_due: list[Balance]

    @property
    def says_anything(self) -> bool:
        return bool(self.invoice or self.paid_ahead_minor or self.other_past_due)


def visit_billing(*, actor: Actor, appointment_id: int, now: datetime | None = None) -> VisitBilling:
    """The panel's money for a visit of a branch this user sees, for those who take payments
    there (nothing is said to others)."""
    now = now or timezone.now()
    nothing = VisitBilling(None, None, 0, False, "", [])
    appointment = appointment_list(actor=actor).filter(pk=appointment_id).first()
    if appointment is None or appointment.patient_id is None:
        return nothing
    if not actor.has_perm("invoicing.record_payment", appointment.branch):
        return nothing
    visits = invoice_list(actor=actor).filter(appointment_id=appointment_id)
    own = visits.exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID]).first()
    completed = appointment.status == Status.COMPLETED
    paid_ahead = 0
    if own is not None and not completed:
        paid_ahead = max(own.paid_minor - own.refunded_minor, 0)
    others = (
        invoice_list(actor=actor)
        .filter(patient_id=appointment.patient_id, status__in=OPEN_STATUSES, due_at__lt=now)
        .exclude(appointment_id=appointment_id)
    )
    past_due: dict[str, list[int]] = {}
    for invoice in others:
        row = past_due.setdefault(invoice.currency, [0, 0])
        row[0] += invoice.due_minor
        row[1] += 1
    return VisitBilling(
        patient_id=appointment.patient_id,
        invoice=own if own is not None and own.status in OPEN_STATUSES and completed else None,
        paid_ahead_minor=paid_ahead,
        paid_in_full=own is not None and paid_ahead > 0 and own.due_minor == 0,
        currency=own.currency if own is not None else "",
        other_past_due=[Balance(c, owed, n) for c, (owed, n) in sorted(past_due.items()) if owed],
    )
