"""The nightly reconciliation of a chain's Stripe account with its ledger: each kind of mismatch is
found, what matches is not flagged, a second run adds nothing, a resolved mismatch stays resolved,
payouts list the payments they contain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import PermissionDenied
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from invoicing.models import (
    BalanceTransaction,
    Mismatch,
    MismatchKind,
    Payment,
    PaymentMethod,
    Payout,
    ReconciliationRun,
    RunStatus,
)
from invoicing.reconciliation import selectors
from invoicing.reconciliation.exceptions import (
    MismatchAlreadyResolved,
    MismatchNotRecordable,
    StripePaymentAlreadyRecorded,
)
from invoicing.reconciliation.services import (
    SETTLED_AT_STRIPE,
    SETTLED_HERE,
    day_period,
    mismatch_record_payment,
    mismatch_resolve,
    reconciliation_apply,
    reconciliation_nightly,
    reconciliation_run,
)
from tenants.org.selectors import chain_settings_get
from tests.factories import Chain
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.scheduling import Clinic, clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_out
from tests.invoicing.reconcile import (
    around_now,
    charge,
    connect_chain,
    refund_at_stripe,
    stripe_payment,
    stripe_refund,
)


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    return priced(clinic_setup(in_a, branch=in_a.branches[0], doctors=1))


@pytest.fixture
def account(in_a: Chain, stripe_fake: FakeStripe) -> str:
    return connect_chain(in_a, stripe_fake)


def _open() -> set[tuple[str, str]]:
    return set(Mismatch.objects.filter(resolved_at__isnull=True).values_list("kind", "key"))


def test_each_kind_of_mismatch_is_found_and_what_matches_is_not(clinic, account):
    # given a payment at Stripe recorded here, with a part refunded at Stripe and here
    matched_intent = charge(account, PRICE)
    matched = stripe_payment(clinic, intent=matched_intent, amount_minor=PRICE, hour=9)
    refund_at_stripe(account, matched_intent, 1000)
    refund_here = stripe_refund(matched, amount_minor=1000)
    # and a refund recorded here that Stripe never made
    lost_refund = stripe_refund(matched, amount_minor=500)
    # and a payment at Stripe the ledger never heard of
    unknown_intent = charge(account, 4200)
    # and a Stripe payment recorded here that Stripe does not have
    lost = stripe_payment(clinic, intent="pi_never_made_at_stripe", amount_minor=PRICE, hour=10)
    # and a payment whose amount differs, and one whose currency differs
    bigger_intent = charge(account, PRICE + 500)
    bigger = stripe_payment(clinic, intent=bigger_intent, amount_minor=PRICE, hour=11)
    dollar_intent = charge(account, PRICE, currency="jpy")
    dollar = stripe_payment(clinic, intent=dollar_intent, amount_minor=PRICE, hour=12)
    start, end = around_now()

    # when the period is reconciled
    run = reconciliation_run(period_start=start, period_end=end)

    # then each disagreement is found once, as its kind
    txn = {t.payment_intent: t for t in BalanceTransaction.objects.filter(type="charge")}
    refund_txns = BalanceTransaction.objects.filter(type="refund")
    assert _open() == {
        (MismatchKind.MISSING_HERE, f"missing_here:{txn[unknown_intent].stripe_id}"),
        (MismatchKind.MISSING_AT_STRIPE, f"missing_at_stripe:payment:{lost.pk}"),
        (MismatchKind.MISSING_AT_STRIPE, f"missing_at_stripe:refund:{lost_refund.pk}"),
        (MismatchKind.AMOUNT_DIFFERS, f"amount_differs:{txn[bigger_intent].stripe_id}"),
        (MismatchKind.CURRENCY_DIFFERS, f"currency_differs:{txn[dollar_intent].stripe_id}"),
    }
    differs = Mismatch.objects.get(kind=MismatchKind.AMOUNT_DIFFERS)
    assert (differs.payment, differs.stripe_amount_minor, differs.local_amount_minor) == (bigger, PRICE + 500, PRICE)
    currency = Mismatch.objects.get(kind=MismatchKind.CURRENCY_DIFFERS)
    assert (currency.payment, currency.stripe_currency, currency.local_currency) == (dollar, "JPY", dollar.currency)
    # and what agrees is matched, not flagged
    assert txn[matched_intent].payment == matched
    assert [t.refund for t in refund_txns] == [refund_here]
    assert not Mismatch.objects.filter(payment=matched).exclude(refund=lost_refund).exists()
    # and the run says what it saw
    assert run.status == RunStatus.COMPLETE
    assert (run.transactions, run.matched, run.mismatches) == (5, 4, 5)


def test_refunds_match_by_their_stripe_id_before_their_amount(clinic, account):
    # given a payment refunded twice at Stripe by the same amount, then once by 300
    intent = charge(account, PRICE)
    payment = stripe_payment(clinic, intent=intent, amount_minor=PRICE, hour=9)
    first, second, third = (refund_at_stripe(account, intent, amount) for amount in (1000, 1000, 300))
    # and the ledger's records of them, the first two recorded the other way round, the third for 400
    later = stripe_refund(payment, amount_minor=1000, stripe_refund_id=second)
    earlier = stripe_refund(payment, amount_minor=1000, stripe_refund_id=first)
    wrong = stripe_refund(payment, amount_minor=400, stripe_refund_id=third)
    start, end = around_now()
    # when the period is reconciled
    reconciliation_run(period_start=start, period_end=end)
    # then each Stripe refund is matched with its own record, and the third's amount differs
    matched = dict(BalanceTransaction.objects.filter(type="refund").values_list("source_id", "refund"))
    assert matched == {first: earlier.pk, second: later.pk, third: wrong.pk}
    differs = Mismatch.objects.get()
    assert (differs.kind, differs.refund, differs.stripe_amount_minor, differs.local_amount_minor) == (
        MismatchKind.AMOUNT_DIFFERS,
        wrong,
        -300,
        -400,
    )


def test_a_second_run_adds_nothing(clinic, account):
    # given a reconciled period with a mismatch of each side
    charge(account, 4200)
    stripe_payment(clinic, intent="pi_only_here", amount_minor=PRICE, hour=9)
    paid = charge(account, PRICE)
    stripe_payment(clinic, intent=paid, amount_minor=PRICE, hour=10)
    start, end = around_now()
    first = reconciliation_run(period_start=start, period_end=end)
    found = list(Mismatch.objects.order_by("pk").values_list("pk", "key", "found_in"))
    stored = BalanceTransaction.objects.count()
    # when the same period is reconciled again
    second = reconciliation_run(period_start=start, period_end=end)
    # then it is the same run, and nothing is added
    assert second.pk == first.pk
    assert ReconciliationRun.objects.count() == 1
    assert list(Mismatch.objects.order_by("pk").values_list("pk", "key", "found_in")) == found
    assert len(found) == 2
    assert BalanceTransaction.objects.count() == stored == 2
    assert second.mismatches == 2


def test_a_resolved_mismatch_stays_resolved_across_runs(clinic, account):
    # given a payment at Stripe missing here, found by a run
    charge(account, 4200)
    start, end = around_now()
    reconciliation_run(period_start=start, period_end=end)
    mismatch = Mismatch.objects.get()
    # when billing resolves it with a note, and the period is reconciled again
    billing_user = clinic.chain.users["billing"]
    mismatch_resolve(actor=billing_user, mismatch=mismatch, note="  Paid at the desk by card;\x00 refunded at Stripe ")
    reconciliation_run(period_start=start, period_end=end)
    # then it is still the one mismatch, resolved, with its note and who resolved it
    mismatch = Mismatch.objects.get()
    assert mismatch.resolved_at is not None
    assert mismatch.resolved_by == billing_user
    assert mismatch.resolution_note == "Paid at the desk by card; refunded at Stripe"
    assert mismatch.history.first().history_user == billing_user
    # and resolving it again is refused, the note kept
    with pytest.raises(MismatchAlreadyResolved):
        mismatch_resolve(actor=clinic.owner, mismatch=mismatch, note="Again")
    mismatch.refresh_from_db()
    assert mismatch.resolution_note == "Paid at the desk by card; refunded at Stripe"


def test_a_payout_lists_the_payments_it_contains(clinic, account, stripe_fake):
    # given two payments recorded here, then paid out by Stripe, and a third paid after the payout
    first_intent, second_intent = charge(account, PRICE), charge(account, 5000)
    first = stripe_payment(clinic, intent=first_intent, amount_minor=PRICE, hour=9)
    second = stripe_payment(clinic, intent=second_intent, amount_minor=5000, hour=10)
    at_stripe = pay_out(stripe_fake, account=account)
    later = charge(account, 3000)
    stripe_payment(clinic, intent=later, amount_minor=3000, hour=11)
    start, end = around_now()
    # when the period is reconciled
    reconciliation_run(period_start=start, period_end=end)
    # then the payout is stored as Stripe has it, with the two payments in it and not the third
    payout = Payout.objects.get()
    assert (payout.stripe_id, payout.amount_minor) == (at_stripe["id"], at_stripe["amount"])
    assert payout.currency == at_stripe["currency"].upper() == first.currency
    detail = selectors.payout_detail(actor=clinic.owner, payout_id=payout.pk)
    assert {line.payment for line in detail.lines if line.payment} == {first, second}
    assert sum(line.net_minor for line in detail.lines if line.type != "payout") == payout.amount_minor
    assert not Mismatch.objects.exists()


def test_stripe_unreachable_marks_the_run_failed(clinic, account, settings):
    # given Stripe cannot be reached
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    start, end = around_now()
    # when the period is reconciled, it fails and says so
    with pytest.raises(StripeUnavailable):
        reconciliation_run(period_start=start, period_end=end)
    run = ReconciliationRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.error
    assert not Mismatch.objects.exists()


def test_a_chain_without_stripe_has_nothing_to_reconcile(in_a, stripe_fake):
    start, end = around_now()
    with pytest.raises(StripeNotConnected):
        reconciliation_run(period_start=start, period_end=end)
    assert reconciliation_nightly() == []
    assert not ReconciliationRun.objects.exists()


def test_the_nightly_task_reconciles_each_day_due_once(clinic, account):
    # given the chain's local yesterday and the day before, never reconciled
    now = timezone.now()
    # when the nightly work runs, and runs again the same night
    first = reconciliation_nightly(now=now)
    again = reconciliation_nightly(now=now)
    # then yesterday is reconciled once, as a whole local day, and the second time finds nothing due
    assert len(first) == 1
    zone = "Europe/London"
    yesterday = now.astimezone(__import__("zoneinfo").ZoneInfo(zone)).date() - timedelta(days=1)
    assert (first[0].period_start, first[0].period_end) == day_period(yesterday, zone)
    assert again == []
    # and three nights later the missed days are caught up, each once
    later = reconciliation_nightly(now=now + timedelta(days=3))
    assert [r.period_start for r in later] == [day_period(yesterday + timedelta(days=n), zone)[0] for n in (1, 2, 3)]


def _later(end):
    """The next day's period, in which Stripe lists nothing of the first."""
    return end, end + timedelta(days=1)


def test_a_payment_missing_here_closes_itself_once_the_ledger_records_it(clinic, account):
    # given a payment at Stripe that the ledger lacked when its day was reconciled
    intent = charge(account, PRICE)
    start, end = around_now()
    reconciliation_run(period_start=start, period_end=end)
    missing = Mismatch.objects.get(kind=MismatchKind.MISSING_HERE)
    # when its webhook arrives late (the ledger records it), and the next day is reconciled
    payment = stripe_payment(clinic, intent=intent, amount_minor=PRICE, hour=9)
    later = reconciliation_run(period_start=_later(end)[0], period_end=_later(end)[1])
    # then the mismatch closed itself, by no one, saying why, and Stripe's movement is matched
    missing.refresh_from_db()
    assert missing.resolved_at is not None
    assert missing.resolved_by is None
    assert missing.resolution_note == SETTLED_HERE.format(what=f"payment no. {payment.pk}")
    assert BalanceTransaction.objects.get(stripe_id=missing.stripe_id).payment == payment
    assert later.mismatches == 0
    assert not Mismatch.objects.filter(resolved_at__isnull=True).exists()
    # and running again adds and changes nothing
    stored = list(Mismatch.objects.values_list("pk", "key", "resolved_at", "resolution_note"))
    versions = missing.history.count()
    reconciliation_run(period_start=_later(end)[0], period_end=_later(end)[1])
    reconciliation_run(period_start=start, period_end=end)
    assert list(Mismatch.objects.values_list("pk", "key", "resolved_at", "resolution_note")) == stored
    assert missing.history.count() == versions


def test_a_late_record_of_another_amount_closes_missing_here_as_amount_differs(clinic, account):
    # given a payment at Stripe missing here, then recorded here for less
    intent = charge(account, PRICE)
    start, end = around_now()
    reconciliation_run(period_start=start, period_end=end)
    stripe_payment(clinic, intent=intent, amount_minor=PRICE - 500, hour=9)
    # when the next day is reconciled
    reconciliation_run(period_start=_later(end)[0], period_end=_later(end)[1])
    # then the missing one closed and the difference is open instead
    assert _open() == {(MismatchKind.AMOUNT_DIFFERS, f"amount_differs:{Mismatch.objects.first().stripe_id}")}


def test_a_payment_missing_at_stripe_closes_itself_once_stripe_lists_it(clinic, account):
    # given a Stripe payment recorded here that Stripe did not list on its day
    payment = stripe_payment(clinic, intent="pi_listed_late", amount_minor=PRICE, hour=9)
    start, end = around_now()
    reconciliation_run(period_start=start, period_end=end)
    missing = Mismatch.objects.get()
    assert missing.kind == MismatchKind.MISSING_AT_STRIPE
    # when Stripe lists its charge the next day
    created = int((end + timedelta(minutes=5)).timestamp())
    listed = {
        "id": "txn_listed_late",
        "type": "charge",
        "amount": PRICE,
        "fee": 0,
        "net": PRICE,
        "currency": payment.currency.lower(),
        "created": created,
        "source": {"id": "ch_listed_late", "payment_intent": "pi_listed_late"},
    }
    for _ in range(2):  # and again: the second run adds nothing
        reconciliation_apply(period_start=_later(end)[0], period_end=_later(end)[1], transactions=[listed], payouts=[])
    # then it closed itself, once, naming Stripe's movement
    missing.refresh_from_db()
    assert (missing.resolved_by, missing.resolution_note) == (None, SETTLED_AT_STRIPE.format(what="txn_listed_late"))
    assert Mismatch.objects.count() == 1
    assert missing.history.count() == 1


def _missing_here(clinic, *, amount=PRICE, description="Physio, paid by phone", customer="cus_phone"):
    """A run that found a Stripe payment missing here, listed with its description and Customer."""
    start, end = around_now()
    listed = {
        "id": "txn_by_phone",
        "type": "charge",
        "amount": amount,
        "fee": 250,
        "net": amount - 250,
        "currency": chain_settings_get().currency.lower(),
        "created": int(timezone.now().timestamp()),
        "source": {
            "id": "ch_by_phone",
            "payment_intent": "pi_by_phone",
            "description": description,
            "customer": customer,
        },
    }
    reconciliation_apply(period_start=start, period_end=end, transactions=[listed], payouts=[])
    return Mismatch.objects.get(kind=MismatchKind.MISSING_HERE)


def test_a_payment_missing_here_is_recorded_against_its_invoice_once(clinic, account):
    # given a Stripe payment missing here, with what Stripe says of it, and the visit's open invoice
    invoice = completed_visit(clinic, hour=9)
    mismatch = _missing_here(clinic)
    txn = BalanceTransaction.objects.get(stripe_id=mismatch.stripe_id)
    assert (txn.description, txn.customer, txn.source_id) == ("Physio, paid by phone", "cus_phone", "ch_by_phone")
    # and it is offered against the invoice asking for that amount
    row = selectors.reconciliation_overview(actor=clinic.chain.users["billing"]).rows[0]
    assert row.recordable
    assert invoice in row.candidates
    # when billing records it against the invoice
    billing_user = clinic.chain.users["billing"]
    payment = mismatch_record_payment(actor=billing_user, mismatch=mismatch, invoice=invoice)
    # then the ledger has a Stripe payment of Stripe's amount, the intent its reference, on Stripe's day
    assert (payment.method, payment.amount_minor, payment.reference) == (PaymentMethod.STRIPE, PRICE, "pi_by_phone")
    assert payment.received_at == txn.created_at_stripe
    invoice.refresh_from_db()
    assert invoice.due_minor == 0
    # and Stripe's movement is matched, the mismatch resolved by billing, saying so
    txn.refresh_from_db()
    assert txn.payment == payment
    mismatch.refresh_from_db()
    assert (mismatch.resolved_by, mismatch.payment) == (billing_user, payment)
    assert mismatch.resolution_note == f"Recorded against invoice {invoice.number} as payment no. {payment.pk}."
    # and a second try, or a run, records nothing more
    with pytest.raises(MismatchAlreadyResolved):
        mismatch_record_payment(actor=clinic.owner, mismatch=mismatch, invoice=invoice)
    reconciliation_run(period_start=around_now()[0], period_end=around_now()[1])
    assert Payment.objects.filter(reference="pi_by_phone").count() == 1
    assert not Mismatch.objects.filter(resolved_at__isnull=True).exists()


def test_recording_a_payment_the_ledger_has_or_one_not_missing_is_refused(clinic, account):
    # given a Stripe payment missing here, that a webhook then records on another invoice
    invoice = completed_visit(clinic, hour=9)
    mismatch = _missing_here(clinic)
    stripe_payment(clinic, intent="pi_by_phone", amount_minor=PRICE, hour=11)
    # when billing records it by hand, it is refused and nothing is added
    with pytest.raises(StripePaymentAlreadyRecorded):
        mismatch_record_payment(actor=clinic.chain.users["billing"], mismatch=mismatch, invoice=invoice)
    assert Payment.objects.filter(reference="pi_by_phone").count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_minor == 0
    # and a mismatch of another kind cannot be recorded
    lost = stripe_payment(clinic, intent="pi_never_at_stripe", amount_minor=PRICE, hour=12)
    reconciliation_run(period_start=around_now()[0], period_end=around_now()[1])
    at_stripe = Mismatch.objects.get(payment=lost)
    with pytest.raises(MismatchNotRecordable):
        mismatch_record_payment(actor=clinic.owner, mismatch=at_stripe, invoice=invoice)


@pytest.mark.parametrize("role", ["receptionist", "doctor"])
def test_reception_and_doctors_cannot_record_a_payment_from_reconciliation(clinic, account, role):
    invoice = completed_visit(clinic, hour=9)
    mismatch = _missing_here(clinic)
    with pytest.raises(PermissionDenied):
        mismatch_record_payment(actor=clinic.chain.users[role], mismatch=mismatch, invoice=invoice)
    mismatch.refresh_from_db()
    assert mismatch.is_open
    assert not Payment.objects.exists()
