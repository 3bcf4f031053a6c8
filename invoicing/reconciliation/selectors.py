"""What the reconciliation report shows: runs, open mismatches by kind, payouts and the payments
each contains. Owners and billing only (the connected account is the chain's)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from invoicing.models import OPEN_STATUSES, Invoice, Payment
from invoicing.reconciliation.models import BalanceTransaction, Mismatch, MismatchKind, Payout, ReconciliationRun
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
    open invoices of the actor's branches it could be recorded against (those owing exactly Stripe's
    amount first)."""

    mismatch: Mismatch
    txn: BalanceTransaction | None
    invoice: Invoice | None
    candidates: list[Invoice]

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
            row.candidates.extend(invoices_to_record_against(actor=actor, txn=txn))
        rows.append(row)
    return rows


def invoices_to_record_against(*, actor: Actor, txn: BalanceTransaction) -> list[Invoice]:
    """The open invoices, in Stripe's currency and of the branches the actor sees, that still ask
    for at least the movement's amount: those asking for exactly it first, then the oldest."""
    open_invoices = (
        Invoice.objects.filter(status__in=OPEN_STATUSES, currency__iexact=txn.currency)
        .annotate(owing=F("total_minor") - F("credited_minor") - F("paid_minor"))
        .filter(owing__gte=txn.amount_minor)
    )
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        open_invoices = open_invoices.filter(branch_id__in=visible)
    exact: list[Invoice] = list(open_invoices.filter(owing=txn.amount_minor).order_by("issued_at", "pk")[:CANDIDATES])
    rest = open_invoices.exclude(pk__in=[i.pk for i in exact]).order_by("issued_at", "pk")
    return exact + list(rest[: CANDIDATES - len(exact)])  # each annotated with what it still owes (``owing``)


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
        .select_related("payment", "refund__payment")
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
