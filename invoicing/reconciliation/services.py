"""The nightly reconciliation of a chain's connected Stripe account with its ledger, and resolving
what it finds.

A run reads the account's balance transactions of the period and its payouts (with the
transactions each contains) through the SDK's auto-pagination, streaming them in batches: each
batch is upserted (ON CONFLICT on Stripe's id) and matched with the ledger's Stripe payments (by
payment intent, the payment's ``reference``) and refunds (by payment and amount), in a short
transaction of its own, so memory stays flat and no row lock is held while Stripe is read. Then the
ledger's Stripe payments and refunds of the period that no balance transaction matched are missing
at Stripe.

What disagrees becomes a ``Mismatch`` keyed by what it is about, inserted with ON CONFLICT DO
NOTHING: a second run of the period, or two runs at once, add nothing, and a resolved mismatch is
never touched again by a run."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any, cast
from zoneinfo import ZoneInfo

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from stripe.params import BalanceTransactionListParams
from stripe.params._balance_transaction_list_params import BalanceTransactionListParamsCreated

from config.errors import ValidationFailed
from config.fields import plain_text
from invoicing.connect.client import on_behalf_of, stripe_client
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from invoicing.connect.selectors import connection_get
from invoicing.models import Invoice, Payment, PaymentMethod, PaymentStatus, Refund, RefundStatus
from invoicing.reconciliation.exceptions import (
    MismatchAlreadyResolved,
    MismatchNotRecordable,
    StripePaymentAlreadyRecorded,
)
from invoicing.reconciliation.models import (
    BalanceTransaction,
    Mismatch,
    MismatchKind,
    Payout,
    ReconciliationRun,
    RunStatus,
)
from invoicing.services.payments import payment_add
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize
from tenants.org.selectors import chain_settings_get

log = logging.getLogger(__name__)

#: Balance transactions streamed and matched per database transaction.
BATCH = 1000
#: Stripe's page size (its largest).
PAGE = 100
CHARGE_TYPES = frozenset({"charge", "payment"})
REFUND_TYPES = frozenset({"refund", "payment_refund"})
#: How many missed local days a nightly run catches up at most.
CATCH_UP_DAYS = 7


@dataclass
class _Txn:
    """One balance transaction as Stripe sent it, in the ledger's terms."""

    stripe_id: str
    type: str
    amount_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    created: datetime
    source_id: str
    payment_intent: str
    payout_stripe_id: str
    description: str = ""
    customer: str = ""


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _read(txn: dict[str, Any]) -> _Txn:
    source = txn.get("source")
    intent = description = customer = ""
    if isinstance(source, dict):  # expanded: the charge or refund, which names its payment intent
        intent = str(source.get("payment_intent") or "")
        source_id = str(source.get("id") or "")
        description = str(source.get("description") or txn.get("description") or "")
        customer = str(source.get("customer") or "")
    else:
        source_id = str(source or "")
    payout = txn.get("payout")
    return _Txn(
        stripe_id=str(txn["id"]),
        type=str(txn.get("type") or ""),
        amount_minor=int(txn["amount"]),
        fee_minor=int(txn.get("fee") or 0),
        net_minor=int(txn.get("net") or 0),
        currency=str(txn.get("currency") or "").upper(),
        created=_at(int(txn["created"])),
        source_id=source_id,
        payment_intent=intent,
        payout_stripe_id=str(payout.get("id") if isinstance(payout, dict) else payout or ""),
        description=plain_text(description)[:500],
        customer=customer[:64],
    )


# --- the run --------------------------------------------------------------------------------------
def day_period(day: date, zone: str) -> tuple[datetime, datetime]:
    """The chain's local ``day`` as [start, end) instants (a DST day is 23 or 25 hours long)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


#: A listing as the SDK pages it: balance transactions, or payouts each with the transactions it contains.
Transactions = Iterable[dict[str, Any]]
Payouts = Iterable[tuple[dict[str, Any], Transactions]]


def reconciliation_run(*, period_start: datetime, period_end: datetime) -> ReconciliationRun:
    """Reconcile the chain's Stripe account for [period_start, period_end): the platform's work (the
    nightly task), no actor. The account's balance transactions of the period and its payouts (each
    with the transactions it contains) are read through the SDK's auto-pagination. Running a period
    again is the same run, and adds only what is new; Stripe being unreachable marks the run failed
    (the next night tries again)."""
    if period_end <= period_start:
        raise ValidationFailed(fields={"period_end": ["The period must end after it starts."]})
    connection = connection_get()
    if connection is None or not connection.is_connected:
        raise StripeNotConnected()
    client = stripe_client()
    options = on_behalf_of(connection.account_id)
    period: BalanceTransactionListParamsCreated = {
        "gte": int(period_start.timestamp()),
        "lt": int(period_end.timestamp()),
    }

    def transactions(params: BalanceTransactionListParams) -> Transactions:
        params = {**params, "limit": PAGE, "expand": ["data.source"]}
        for row in client.v1.balance_transactions.list(params=params, options=options).auto_paging_iter():
            yield row.to_dict()

    def payouts() -> Payouts:
        listed = client.v1.payouts.list(params={"created": period, "limit": PAGE}, options=options)
        for payout in listed.auto_paging_iter():
            yield payout.to_dict(), transactions({"payout": payout.id})

    try:
        return reconciliation_apply(
            period_start=period_start,
            period_end=period_end,
            transactions=transactions({"created": period}),
            payouts=payouts(),
        )
    except stripe.StripeError as error:
        log.warning("reconciliation of %s to %s failed: %s", period_start, period_end, error)
        ReconciliationRun.objects.filter(period_start=period_start, period_end=period_end).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=str(error)[:500]
        )
        raise StripeUnavailable() from error


def reconciliation_apply(
    *,
    period_start: datetime,
    period_end: datetime,
    transactions: Transactions,
    payouts: Payouts,
    demo: bool = False,
) -> ReconciliationRun:
    """The period's run over the account's listings as Stripe lists them (``reconciliation_run``
    reads them from Stripe; the demo, which has no Stripe to reach, writes them, and the run is
    marked ``demo``). Batches are read one ahead by a thread of their own, so waiting for Stripe
    overlaps writing to the database."""
    run = _run_open(period_start, period_end)
    if demo:
        ReconciliationRun.objects.filter(pk=run.pk).update(demo=True)
    for batch in _ahead(transactions, BATCH):
        _store(batch, run=run)
    for payout, contained in payouts:
        local = _payout_store(payout, run=run)
        for batch in _ahead(contained, BATCH):
            _store(batch, run=run, payout=local)
    _missing_at_stripe(run)
    _close_settled(run)
    return _run_close(run)


_DONE = object()


def _ahead(rows: Transactions, size: int) -> Iterator[list[_Txn]]:
    """Batches of ``rows``, read by a thread of their own while the caller stores the batch before
    (at most two batches in memory). An error of the reading (Stripe unreachable) is raised here."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            iterator = iter(rows)
            while not stop.is_set() and (batch := [_read(row) for row in islice(iterator, size)]):
                _hand(handoff, batch, stop)
            _hand(handoff, _DONE, stop)
        except Exception as error:
            _hand(handoff, error, stop)

    threading.Thread(target=read, name="reconciliation-read", daemon=True).start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, Exception):
                raise item
            yield cast(list[_Txn], item)
    finally:
        stop.set()


def _hand(handoff: queue.Queue[object], item: object, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            handoff.put(item, timeout=1)
            return
        except queue.Full:
            continue


def _run_open(period_start: datetime, period_end: datetime) -> ReconciliationRun:
    """The period's run (the one there is, or a new one): the unique period makes two runs at once
    share it."""
    now = timezone.now()
    try:
        with transaction.atomic():
            run, made = ReconciliationRun.objects.get_or_create(
                period_start=period_start, period_end=period_end, defaults={"started_at": now}
            )
    except IntegrityError:  # made by a run that started at the same moment
        run, made = ReconciliationRun.objects.get(period_start=period_start, period_end=period_end), False
    if not made:
        ReconciliationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=now, error="")
    return run


def _run_close(run: ReconciliationRun) -> ReconciliationRun:
    in_period = Q(created_at_stripe__gte=run.period_start, created_at_stripe__lt=run.period_end)
    txns = BalanceTransaction.objects.filter(in_period)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.COMPLETE,
        finished_at=timezone.now(),
        transactions=txns.count(),
        matched=txns.filter(Q(payment__isnull=False) | Q(refund__isnull=False)).count(),
        payouts=Payout.objects.filter(in_period).count(),
        mismatches=Mismatch.objects.filter(found_in=run).count(),
    )
    run.refresh_from_db()
    log.info(
        "reconciliation %s: %s transactions, %s matched, %s payouts, %s mismatches",
        run,
        run.transactions,
        run.matched,
        run.payouts,
        run.mismatches,
    )
    return run


def _payout_store(payout: dict[str, Any], *, run: ReconciliationRun) -> Payout:
    arrival = payout.get("arrival_date")
    row = Payout(
        stripe_id=str(payout["id"]),
        amount_minor=int(payout["amount"]),
        currency=str(payout.get("currency") or "").upper(),
        arrival_date=_at(int(arrival)).date() if arrival else None,
        status=str(payout.get("status") or ""),
        created_at_stripe=_at(int(payout["created"])),
        run=run,
    )
    Payout.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["stripe_id"],
        update_fields=["amount_minor", "currency", "arrival_date", "status"],
    )
    return Payout.objects.get(stripe_id=row.stripe_id)


# --- matching -------------------------------------------------------------------------------------
@dataclass
class _Match:
    payment: Payment | None = None
    refund: Refund | None = None
    mismatch: Mismatch | None = None


def _store(batch: list[_Txn], *, run: ReconciliationRun, payout: Payout | None = None, recheck: bool = False) -> None:
    """Upsert one batch of balance transactions with what each matched, and its mismatches
    (``recheck``: stored rows matched again, see ``_close_settled``)."""
    batch.sort(key=lambda t: t.stripe_id)  # two runs at once take the rows' locks in one order
    intents = {t.payment_intent for t in batch if t.payment_intent}
    with transaction.atomic():
        # Served by the partial unique index on a Stripe payment's reference (method stripe, reference given).
        stripe_payments = Payment.objects.filter(method=PaymentMethod.STRIPE, reference__in=intents)
        payments = {p.reference: p for p in stripe_payments.exclude(reference="")}
        refunds: dict[int, list[Refund]] = {}
        refund_txns = [t for t in batch if t.type in REFUND_TYPES]
        if refund_txns:
            owners = [p.pk for t in refund_txns if (p := payments.get(t.payment_intent))]
            for refund in Refund.objects.filter(payment_id__in=owners).order_by("at", "pk"):
                refunds.setdefault(refund.payment_id, []).append(refund)
            # A refund another balance transaction matched is not this one's.
            taken = set(
                BalanceTransaction.objects.filter(refund__payment_id__in=owners)
                .exclude(stripe_id__in=[t.stripe_id for t in refund_txns])
                .values_list("refund_id", flat=True)
            )
        else:
            taken = set()
        payouts = _payouts_named(batch) if payout is None else {}
        rows: list[BalanceTransaction] = []
        mismatches: list[Mismatch] = []
        for txn in batch:
            match = _match(txn, payments, refunds, taken, run)
            if match.refund is not None:
                taken.add(match.refund.pk)
            if match.mismatch is not None:
                mismatches.append(match.mismatch)
            rows.append(
                BalanceTransaction(
                    stripe_id=txn.stripe_id,
                    type=txn.type,
                    amount_minor=txn.amount_minor,
                    fee_minor=txn.fee_minor,
                    net_minor=txn.net_minor,
                    currency=txn.currency,
                    created_at_stripe=txn.created,
                    source_id=txn.source_id,
                    payment_intent=txn.payment_intent,
                    description=txn.description,
                    customer=txn.customer,
                    payout=payout or payouts.get(txn.payout_stripe_id),
                    payment=match.payment,
                    refund=match.refund,
                    run=run,
                )
            )
        fields = ["type", "amount_minor", "fee_minor", "net_minor", "currency", "source_id", "payment_intent"]
        fields += ["payment", "refund"]
        if not recheck:  # a listing from Stripe says what the charge is; a recheck of stored rows keeps it
            fields += ["description", "customer"]
        if payout is not None or payouts:
            fields.append("payout")
        BalanceTransaction.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["stripe_id"], update_fields=fields
        )
        Mismatch.objects.bulk_create(mismatches, ignore_conflicts=True)


def _payouts_named(batch: list[_Txn]) -> dict[str, Payout]:
    named = {t.payout_stripe_id for t in batch if t.payout_stripe_id}
    return {p.stripe_id: p for p in Payout.objects.filter(stripe_id__in=named)} if named else {}


def _match(
    txn: _Txn, payments: dict[str, Payment], refunds: dict[int, list[Refund]], taken: set[int], run: ReconciliationRun
) -> _Match:
    if txn.type in CHARGE_TYPES:
        payment = payments.get(txn.payment_intent) if txn.payment_intent else None
        if payment is None:
            return _Match(mismatch=_txn_mismatch(MismatchKind.MISSING_HERE, txn, run))
        if payment.currency.upper() != txn.currency:
            return _Match(payment, mismatch=_txn_mismatch(MismatchKind.CURRENCY_DIFFERS, txn, run, payment=payment))
        if payment.amount_minor != txn.amount_minor:
            return _Match(payment, mismatch=_txn_mismatch(MismatchKind.AMOUNT_DIFFERS, txn, run, payment=payment))
        return _Match(payment)
    if txn.type in REFUND_TYPES:
        payment = payments.get(txn.payment_intent) if txn.payment_intent else None
        # A refund made at Stripe knows its Stripe id; one without (recorded before Stripe answered)
        # matches by amount. A refund naming another Stripe refund is never this one.
        free = [
            r
            for r in (refunds.get(payment.pk, []) if payment else [])
            if r.pk not in taken and r.stripe_refund_id in ("", txn.source_id)
        ]
        if payment is None or not free:
            return _Match(mismatch=_txn_mismatch(MismatchKind.MISSING_HERE, txn, run, payment=payment))
        same = next((r for r in free if r.stripe_refund_id == txn.source_id), None) or next(
            (r for r in free if r.amount_minor == -txn.amount_minor), None
        )
        if same is None or same.amount_minor != -txn.amount_minor:
            refund = same or free[0]
            return _Match(
                refund=refund,
                mismatch=_txn_mismatch(MismatchKind.AMOUNT_DIFFERS, txn, run, payment=payment, refund=refund),
            )
        if payment.currency.upper() != txn.currency:
            return _Match(
                refund=same,
                mismatch=_txn_mismatch(MismatchKind.CURRENCY_DIFFERS, txn, run, payment=payment, refund=same),
            )
        return _Match(refund=same)
    return _Match()  # a payout, Stripe's own fees, an adjustment: nothing of the ledger's to match


def _txn_mismatch(
    kind: MismatchKind,
    txn: _Txn,
    run: ReconciliationRun,
    *,
    payment: Payment | None = None,
    refund: Refund | None = None,
) -> Mismatch:
    if refund is not None:
        local_amount: int | None = -refund.amount_minor
    elif payment is not None and kind != MismatchKind.MISSING_HERE:
        local_amount = payment.amount_minor
    else:
        local_amount = None
    return Mismatch(
        key=f"{kind}:{txn.stripe_id}",
        kind=kind,
        stripe_id=txn.stripe_id,
        transaction_type=txn.type,
        payment=payment,
        refund=refund,
        stripe_amount_minor=txn.amount_minor,
        stripe_currency=txn.currency,
        local_amount_minor=local_amount,
        local_currency=payment.currency.upper() if payment is not None and local_amount is not None else "",
        found_in=run,
    )


def _missing_at_stripe(run: ReconciliationRun) -> None:
    """The ledger's Stripe payments and refunds of the period that no balance transaction matched. A
    refund still pending at night was never confirmed by Stripe: it is flagged too."""
    payments = Payment.objects.filter(
        method=PaymentMethod.STRIPE,
        status=PaymentStatus.SUCCEEDED,
        received_at__gte=run.period_start,
        received_at__lt=run.period_end,
        balance_transactions__isnull=True,
    )
    refunds = Refund.objects.filter(
        payment__method=PaymentMethod.STRIPE,
        status__in=[RefundStatus.SUCCEEDED, RefundStatus.PENDING],
        at__gte=run.period_start,
        at__lt=run.period_end,
        balance_transactions__isnull=True,
    ).select_related("payment")
    found = [
        Mismatch(
            key=f"{MismatchKind.MISSING_AT_STRIPE}:payment:{p.pk}",
            kind=MismatchKind.MISSING_AT_STRIPE,
            stripe_id=p.reference,
            transaction_type="charge",
            payment=p,
            local_amount_minor=p.amount_minor,
            local_currency=p.currency.upper(),
            found_in=run,
        )
        for p in payments.iterator(chunk_size=BATCH)
    ]
    found += [
        Mismatch(
            key=f"{MismatchKind.MISSING_AT_STRIPE}:refund:{r.pk}",
            kind=MismatchKind.MISSING_AT_STRIPE,
            stripe_id=r.payment.reference,
            transaction_type="refund",
            payment=r.payment,
            refund=r,
            local_amount_minor=-r.amount_minor,
            local_currency=r.payment.currency.upper(),
            found_in=run,
        )
        for r in refunds.iterator(chunk_size=BATCH)
    ]
    Mismatch.objects.bulk_create(found, ignore_conflicts=True, batch_size=BATCH)


#: What a mismatch that closed itself says (the note a resolution needs).
SETTLED_HERE = "Closed by reconciliation: the ledger recorded it later ({what})."
SETTLED_AT_STRIPE = "Closed by reconciliation: Stripe listed it later ({what})."


def _close_settled(run: ReconciliationRun) -> None:
    """Open mismatches that have since come right close themselves: a payment or refund missing here
    that the ledger has recorded since (a webhook that arrived late, a payment recorded by hand) is
    matched now, whatever period its balance transaction was in; one missing at Stripe that a
    balance transaction has matched since (Stripe listed it in a later period) likewise. Each is
    closed once, by no one, with a note saying so; a disagreement the late match shows (another
    amount) is found as its own kind."""
    still_missing = Mismatch.objects.filter(kind=MismatchKind.MISSING_HERE, resolved_at__isnull=True)
    stored = BalanceTransaction.objects.filter(stripe_id__in=still_missing.values("stripe_id")).order_by("stripe_id")
    rows = [
        _Txn(
            stripe_id=t.stripe_id,
            type=t.type,
            amount_minor=t.amount_minor,
            fee_minor=t.fee_minor,
            net_minor=t.net_minor,
            currency=t.currency,
            created=t.created_at_stripe,
            source_id=t.source_id,
            payment_intent=t.payment_intent,
            payout_stripe_id="",
        )
        for t in stored.iterator(chunk_size=BATCH)
    ]
    for start in range(0, len(rows), BATCH):
        _store(rows[start : start + BATCH], run=run, recheck=True)
    now = timezone.now()
    with transaction.atomic():
        here = (
            Mismatch.objects.select_for_update()
            .filter(kind=MismatchKind.MISSING_HERE, resolved_at__isnull=True)
            .filter(
                Q(stripe_id__in=BalanceTransaction.objects.filter(payment__isnull=False).values("stripe_id"))
                | Q(stripe_id__in=BalanceTransaction.objects.filter(refund__isnull=False).values("stripe_id"))
            )
        )
        for mismatch in here:
            txn = BalanceTransaction.objects.get(stripe_id=mismatch.stripe_id)
            what = f"refund no. {txn.refund_id}" if txn.refund_id else f"payment no. {txn.payment_id}"
            _close(mismatch, SETTLED_HERE.format(what=what), now)
        listed = Mismatch.objects.filter(kind=MismatchKind.MISSING_AT_STRIPE, resolved_at__isnull=True).filter(
            Q(refund__isnull=True, payment__balance_transactions__isnull=False)
            | Q(refund__isnull=False, refund__balance_transactions__isnull=False)
        )
        for mismatch in Mismatch.objects.select_for_update().filter(pk__in=listed.values("pk")).order_by("pk"):
            found = BalanceTransaction.objects.filter(
                Q(refund=mismatch.refund) if mismatch.refund_id else Q(payment=mismatch.payment)
            ).first()
            _close(mismatch, SETTLED_AT_STRIPE.format(what=found.stripe_id if found else "its movement"), now)


def _close(mismatch: Mismatch, note: str, now: datetime) -> None:
    mismatch.resolved_at = now
    mismatch.resolved_by = None
    mismatch.resolution_note = note
    mismatch.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])


def reconciliation_days_due(*, today: date, zone: str) -> list[date]:
    """The chain's local days before ``today`` still to reconcile: each day after the last complete
    run, at most CATCH_UP_DAYS back; yesterday when nothing ran yet."""
    yesterday = today - timedelta(days=1)
    first = yesterday - timedelta(days=CATCH_UP_DAYS - 1)
    last = (
        ReconciliationRun.objects.filter(status=RunStatus.COMPLETE)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
    ).first()
    start = yesterday if last is None else max(first, last.astimezone(ZoneInfo(zone)).date())
    return [start + timedelta(days=n) for n in range((yesterday - start).days + 1)]


def reconciliation_nightly(*, now: datetime | None = None) -> list[ReconciliationRun]:
    """The chain's days due, each reconciled (the periodic task's work; a chain without a connected
    Stripe account has nothing to reconcile)."""
    connection = connection_get()
    if connection is None or not connection.is_connected:
        return []
    zone = chain_settings_get().default_timezone
    today = (now or timezone.now()).astimezone(ZoneInfo(zone)).date()
    done = []
    for day in reconciliation_days_due(today=today, zone=zone):
        start, end = day_period(day, zone)
        done.append(reconciliation_run(period_start=start, period_end=end))
    return done


# --- resolving ------------------------------------------------------------------------------------
def mismatch_resolve(*, actor: Actor, mismatch: Mismatch, note: str) -> Mismatch:
    """An owner or billing marks a mismatch resolved, saying how (a refund made by hand at Stripe, a
    payment recorded late…). A resolved one stays resolved; resolving it again is refused."""
    authorize(actor, "invoicing.resolve_mismatch")
    note = plain_text(note).strip()
    if not note:
        raise ValidationFailed(fields={"note": ["Say how it was resolved."]})
    with transaction.atomic():
        locked = Mismatch.objects.select_for_update().get(pk=mismatch.pk)
        if locked.resolved_at is not None:
            raise MismatchAlreadyResolved()
        locked.resolved_at = timezone.now()
        locked.resolved_by = history_user(actor)
        locked.resolution_note = note
        changed_by(locked, actor, reason="resolved").save(
            update_fields=["resolved_at", "resolved_by", "resolution_note"]
        )
    return locked


def mismatch_record_payment(*, actor: Actor, mismatch: Mismatch, invoice: Invoice) -> Payment:
    """A payment at Stripe the ledger lacks (taken on Stripe's dashboard, a webhook that never came),
    recorded against the invoice it pays: a Stripe payment of Stripe's amount, on the day Stripe
    took it, with its payment intent as the reference, through the ledger's payment service (the
    invoice must still ask for that much). The balance transaction is matched with it and the
    mismatch resolved by the actor, saying so. Once: the mismatch is locked, a resolved one is
    refused, and a payment intent the ledger has already is never recorded again."""
    authorize(actor, "invoicing.resolve_mismatch")
    authorize(actor, "invoicing.record_payment", invoice)
    with transaction.atomic():
        locked = Mismatch.objects.select_for_update().get(pk=mismatch.pk)
        if locked.resolved_at is not None:
            raise MismatchAlreadyResolved()
        txn = BalanceTransaction.objects.filter(stripe_id=locked.stripe_id).first()
        if (
            locked.kind != MismatchKind.MISSING_HERE
            or txn is None
            or txn.type not in CHARGE_TYPES
            or not txn.payment_intent
        ):
            raise MismatchNotRecordable()
        if txn.currency != invoice.currency.upper():
            raise ValidationFailed(fields={"invoice": [f"Stripe took this payment in {txn.currency}."]})
        if Payment.objects.filter(method=PaymentMethod.STRIPE, reference=txn.payment_intent).exists():
            raise StripePaymentAlreadyRecorded()
        payment = payment_add(
            invoice,
            actor=actor,
            method=PaymentMethod.STRIPE,
            amount_minor=txn.amount_minor,
            reference=txn.payment_intent,
            received_at=txn.created_at_stripe,
        )
        BalanceTransaction.objects.filter(pk=txn.pk).update(payment=payment)
        locked.resolved_at = timezone.now()
        locked.resolved_by = history_user(actor)
        locked.payment = payment
        locked.resolution_note = f"Recorded against invoice {invoice.number or invoice.pk} as payment no. {payment.pk}."
        changed_by(locked, actor, reason="recorded against an invoice").save(
            update_fields=["resolved_at", "resolved_by", "payment", "resolution_note"]
        )
    return payment
