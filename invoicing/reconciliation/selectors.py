"""What the reconciliation report shows: runs, open mismatches by kind, payouts and the payments
each contains. Owners and billing only (the connected account is the chain's)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from invoicing.cards import StripeCustomer
from invoicing.models import OPEN_STATUSES, Invoice, Payment
from invoicing.reconciliation.models import BalanceTransaction, Mismatch, MismatchKind, Payout, ReconciliationRun
from patients.models import Patient
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible

RECENT_RUNS = 14
RECENT_PAYOUTS = 20
OPEN_SHOWN = 200
#: Invoices offered to record a Stripe payment missing here against.
CANDIDATES = 20


@dataclass(frozen=True)
class KindCount:
    kind: MismatchKind
    open: int


@dataclass(frozen=True)
class MismatchRow:
    """An open mismatch with what staff need to act on it: Stripe's movement (its description,
    Customer and charge), the ledger's invoice it concerns, and, for a payment missing here, the
    open invoices of the actor's branches it could be recorded against, each with its patient (the
    invoices of the patient Stripe's Customer is, when known, first; then those owing exactly Stripe's
    amount). ``customer_patient``: our patient the movement's Stripe Customer is, if we made it."""

    mismatch: Mismatch
    txn: BalanceTransaction | None
    invoice: Invoice | None
    candidates: list[Invoice]
    customer_patient: Patient | None = None

    @property
    def recordable(self) -> bool:
        return (
            self.mismatch.kind == MismatchKind.MISSING_HERE
            and self.txn is not None
            and self.txn.type in ("charge", "payment")
            and bool(self.txn.payment_intent)
        )


@dataclass(frozen=True)
class ReconciliationOverview:
    runs: list[ReconciliationRun]
    open_by_kind: list[KindCount]
    open_mismatches: list[Mismatch]
    open_total: int
    resolved_recently: list[Mismatch]
    payouts: list[Payout]
    rows: list[MismatchRow]

    @property
    def last_run(self) -> ReconciliationRun | None:
        return self.runs[0] if self.runs else None


def mismatch_list(*, actor: Actor, open_only: bool = True, kind: str | None = None) -> QuerySet[Mismatch]:
    authorize(actor, "invoicing.view_reconciliation")
    # What Stripe says of the movement (the API answers it with each mismatch).
    movement = BalanceTransaction.objects.filter(stripe_id=OuterRef("stripe_id"))
    found = Mismatch.objects.select_related("found_in", "resolved_by").annotate(
        **{
            name: Coalesce(Subquery(movement.values(field)[:1]), Value(""))
            for name, field in (
                ("stripe_description", "description"),
                ("stripe_customer", "customer"),
                ("stripe_charge", "source_id"),
            )
        }
    )
    if open_only:
        found = found.filter(resolved_at__isnull=True)
    if kind:
        found = found.filter(kind=kind)
    return found.order_by("-found_at", "-pk")


def reconciliation_overview(*, actor: Actor) -> ReconciliationOverview:
    authorize(actor, "invoicing.view_reconciliation")
    counts = dict(
        Mismatch.objects.filter(resolved_at__isnull=True)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    open_found = list(mismatch_list(actor=actor).select_related("payment__invoice", "refund")[:OPEN_SHOWN])
    return ReconciliationOverview(
        runs=list(ReconciliationRun.objects.order_by("-period_start", "-pk")[:RECENT_RUNS]),
        open_by_kind=[KindCount(MismatchKind(k), counts.get(k, 0)) for k in MismatchKind.values],
        open_mismatches=open_found,
        open_total=sum(counts.values()),
        resolved_recently=list(
            mismatch_list(actor=actor, open_only=False).filter(resolved_at__isnull=False).order_by("-resolved_at")[:10]
        ),
        payouts=list(
            Payout.objects.annotate(
                payments=Count("transactions", filter=Q(transactions__payment__isnull=False))
            ).order_by("-created_at_stripe", "-pk")[:RECENT_PAYOUTS]
        ),
        rows=_rows(actor, open_found),
    )


def _rows(actor: Actor, mismatches: list[Mismatch]) -> list[MismatchRow]:
    txns = {t.stripe_id: t for t in BalanceTransaction.objects.filter(stripe_id__in=[m.stripe_id for m in mismatches])}
    rows = []
    for m in mismatches:
        txn = txns.get(m.stripe_id)
        row = MismatchRow(m, txn, m.payment.invoice if m.payment else None, [])
        if row.recordable and txn is not None:
            row = MismatchRow(
                m, txn, row.invoice, invoices_to_record_against(actor=actor, txn=txn), customer_patient(txn)
            )
        rows.append(row)
    return rows


def customer_patient(txn: BalanceTransaction) -> Patient | None:
    """Our patient the movement's Stripe Customer is (a Customer this chain made for a card or a
    deposit, invoicing.cards.StripeCustomer); None for a Customer made elsewhere, or none."""
    if not txn.customer:
        return None
    known = StripeCustomer.objects.select_related("patient").filter(customer_id=txn.customer).first()
    return known.patient if known is not None else None


@dataclass(frozen=True)
class RecordQuestion:
    """What recording a Stripe payment missing here against an invoice would do, asked before it is
    done: Stripe's movement, the invoice and its patient, and our patient Stripe's Customer is (if
    known: when it is not the invoice's patient, the page says so)."""

    mismatch: Mismatch
    txn: BalanceTransaction | None
    invoice: Invoice
    customer_patient: Patient | None

    @property
    def other_patient(self) -> bool:
        return self.customer_patient is not None and self.customer_patient.pk != self.invoice.patient_id


def record_question(*, actor: Actor, mismatch: Mismatch, invoice_id: int) -> RecordQuestion:
    """The confirmation asked before recording ``mismatch`` against invoice ``invoice_id`` (one of
    the actor's branches, open; Invoice.DoesNotExist otherwise)."""
    authorize(actor, "invoicing.resolve_mismatch")
    invoices = Invoice.objects.select_related("patient").annotate(
        owing=F("total_minor") - F("credited_minor") - F("paid_minor")
    )
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        invoices = invoices.filter(branch_id__in=visible)
    invoice = invoices.get(pk=invoice_id)
    txn = BalanceTransaction.objects.filter(stripe_id=mismatch.stripe_id).first() if mismatch.stripe_id else None
    return RecordQuestion(mismatch, txn, invoice, customer_patient(txn) if txn is not None else None)


def invoices_to_record_against(*, actor: Actor, txn: BalanceTransaction) -> list[Invoice]:
    """The open invoices, in Stripe's currency and of the branches the actor sees, that still ask
    for at least the movement's amount, each with its patient: those of the patient Stripe's Customer
    is first (when we know it), then those asking for exactly the amount, then the oldest."""
    open_invoices = (
        Invoice.objects.filter(status__in=OPEN_STATUSES, currency__iexact=txn.currency)
        .select_related("patient")
        .annotate(owing=F("total_minor") - F("credited_minor") - F("paid_minor"))
        .filter(owing__gte=txn.amount_minor)
    )
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        open_invoices = open_invoices.filter(branch_id__in=visible)
    patient = customer_patient(txn)
    picked: list[Invoice] = []
    if patient is not None:
        exact_first = ExpressionWrapper(Q(owing=txn.amount_minor), output_field=BooleanField())
        theirs = open_invoices.filter(patient=patient).annotate(exact=exact_first)
        picked.extend(theirs.order_by("-exact", "issued_at", "pk")[:CANDIDATES])
    exact = open_invoices.exclude(pk__in=[i.pk for i in picked]).filter(owing=txn.amount_minor)
    picked.extend(exact.order_by("issued_at", "pk")[: CANDIDATES - len(picked)])
    rest = open_invoices.exclude(pk__in=[i.pk for i in picked]).order_by("issued_at", "pk")
    return picked + list(rest[: max(0, CANDIDATES - len(picked))])  # each annotated with ``owing``


@dataclass(frozen=True)
class PayoutLine:
    """One balance transaction of a payout, with the ledger's payment it matched (if any)."""

    stripe_id: str
    type: str
    amount_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    payment: Payment | None
    payment_intent: str

    @property
    def invoice(self) -> Invoice | None:
        """The invoice the matched payment (or the refunded one) is on, with its patient."""
        return self.payment.invoice if self.payment is not None else None


@dataclass(frozen=True)
class PayoutDetail:
    payout: Payout
    lines: list[PayoutLine]
    payments_minor: int
    fees_minor: int


def payout_detail(*, actor: Actor, payout_id: int) -> PayoutDetail:
    """A payout with the balance transactions it contains: the payments (and refunds) it pays out."""
    authorize(actor, "invoicing.view_reconciliation")
    payout = Payout.objects.get(pk=payout_id)
    txns = (
        BalanceTransaction.objects.filter(payout=payout)
        .select_related("payment__invoice__patient", "refund__payment__invoice__patient")
        .order_by("created_at_stripe", "pk")
    )
    lines = []
    for txn in txns:
        payment = txn.payment or (txn.refund.payment if txn.refund else None)
        lines.append(
            PayoutLine(
                stripe_id=txn.stripe_id,
                type=txn.type,
                amount_minor=txn.amount_minor,
                fee_minor=txn.fee_minor,
                net_minor=txn.net_minor,
                currency=txn.currency,
                payment=payment,
                payment_intent=txn.payment_intent,
            )
        )
    return PayoutDetail(
        payout=payout,
        lines=lines,
        payments_minor=sum(line.amount_minor for line in lines if line.type != "payout"),
        fees_minor=sum(line.fee_minor for line in lines),
    )
