"""No-show and late-cancellation fees: the chain's policy raises a fee invoice of its own and a
charge of the card on file, once; the clinic's own cancellations and those in time carry none; the
charge is sent once however often the task runs; a decline stays visible and is retried with a new
key; staff rights are checked and a refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config import events
from config.errors import PermissionDenied
from config.events import publish, subscribe
from invoicing.connect.client import idempotency_key
from invoicing.events import FeeCharged
from invoicing.exceptions import FeeNotRetryable, FeeNotWaivable, NoCardOnFile
from invoicing.fee_selectors import fee_charge_list
from invoicing.fees import FeeCharge, FeeKind, FeeRule, FeeStatus
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentMethod
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn, fee_amount, fee_charge_retry, fee_charge_run, fee_charge_waive
from scheduling import services as sched
from scheduling.events import AppointmentNoShow
from tests.factories.cards import card_saved, connected
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe

pytestmark = pytest.mark.django_db

NO_SHOW_FEE = 2500


@pytest.fixture
def clinic(in_a, stripe_fake: FakeStripe):
    clinic = priced(clinic_setup(in_a, doctors=1))
    connected(in_a, stripe_fake)
    fees.fee_policy_update(
        actor=in_a.users["owner"],
        no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=NO_SHOW_FEE),
        late_cancellation=FeeRuleIn(FeeRule.PERCENT, percent_bp=5000),
    )
    return clinic


@pytest.fixture
def heard():
    seen: list[object] = []
    subscribe(FeeCharged, seen.append)
    yield seen
    for handlers in events._subscribers.values():
        if seen.append in handlers:
            handlers.remove(seen.append)


def missed(clinic, *, card: str | None = "pm_card_visa", stripe_fake: FakeStripe | None = None):
    """A visit the patient (with ``card`` on file, or none) did not come to, marked by reception."""
    patient = clinic.patient()
    if card is not None:
        assert stripe_fake is not None
        card_saved(patient, stripe_fake, card)
    start = clinic.at(MONDAY, 10)
    appointment = book(clinic, start, patient=patient)
    return sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=appointment, now=start + timedelta(hours=1)
    )


def cancelled(clinic, *, hours_before: int, patient_asked: bool = False, by_patient: bool = False):
    start = clinic.at(MONDAY, 10)
    appointment = book(clinic, start)
    return sched.appointment_cancel(
        actor=clinic.receptionist,
        appointment=appointment,
        reason="Cannot come",
        patient_asked=patient_asked,
        by_patient=by_patient,
        now=start - timedelta(hours=hours_before),
    )


def test_a_no_show_raises_one_fee_invoice_of_its_own_and_a_pending_charge(clinic, stripe_fake):
    # when a patient with a card on file misses the visit
    appointment = missed(clinic, stripe_fake=stripe_fake)
    # then one fee invoice, issued for the policy's amount, stands apart from any visit invoice
    charge = FeeCharge.objects.get(appointment=appointment)
    assert charge.kind == FeeKind.NO_SHOW
    assert charge.status == FeeStatus.PENDING
    assert charge.amount_minor == NO_SHOW_FEE
    invoice = charge.invoice
    assert invoice.kind == InvoiceKind.FEE
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.number
    assert invoice.appointment_id is None
    assert invoice.total_minor == NO_SHOW_FEE
    assert invoice.tax_minor == 0
    assert invoice.lines.get().description.startswith("No-show fee")
    # and nothing was charged inside the transaction
    assert not stripe_fake.calls("POST", "/v1/payment_intents")
    # when the event is replayed, then there is still one fee
    publish(AppointmentNoShow(appointment.pk, None))
    assert FeeCharge.objects.filter(appointment=appointment).count() == 1
    assert Invoice.objects.filter(patient_id=appointment.patient_id, kind=InvoiceKind.FEE).count() == 1


def test_a_late_cancellation_the_patient_asked_for_raises_the_percentage_fee(clinic):
    # when the desk records the patient's call two hours before the visit (the window is 24 hours)
    appointment = cancelled(clinic, hours_before=2, patient_asked=True)
    # then half the service's price is owed on a fee invoice; no card, so the desk collects it
    charge = FeeCharge.objects.get(appointment=appointment)
    assert charge.kind == FeeKind.LATE_CANCELLATION
    assert charge.amount_minor == PRICE // 2
    assert charge.status == FeeStatus.NO_CARD
    assert charge.invoice.due_minor == PRICE // 2


def test_the_clinics_own_late_cancellation_carries_no_fee(clinic):
    # when the clinic cancels inside the window (not at the patient's request)
    appointment = cancelled(clinic, hours_before=2)
    # then it is late, and no fee is raised
    assert appointment.late_cancellation
    assert not FeeCharge.objects.exists()
    assert not Invoice.objects.filter(kind=InvoiceKind.FEE).exists()


def test_a_cancellation_in_time_carries_no_fee(clinic):
    # when the patient cancels online three days ahead
    appointment = cancelled(clinic, hours_before=72, by_patient=True)
    # then it is not late and nothing is owed
    assert not appointment.late_cancellation
    assert not FeeCharge.objects.exists()


def test_no_fee_when_the_policy_asks_none(clinic, in_a):
    # given the owner turned fees off
    fees.fee_policy_update(actor=in_a.users["owner"], no_show=FeeRuleIn(), late_cancellation=FeeRuleIn())
    # when a patient misses a visit and another cancels late
    missed(clinic, card=None)
    cancelled(clinic, hours_before=1, patient_asked=True)
    # then no fee
    assert not FeeCharge.objects.exists()


@pytest.mark.parametrize(
    ("price", "bp", "fee"),
    [(1000, 3333, 333), (1005, 3333, 335), (7500, 5000, 3750), (1, 5000, 1), (3, 1000, 0), (999, 10_000, 999)],
)
def test_a_percentage_fee_is_whole_minor_units_rounded_half_up(price, bp, fee):
    assert fee_amount(fee=FeeRuleIn(FeeRule.PERCENT, percent_bp=bp), price_minor=price) == fee


def test_the_task_run_twice_charges_once(clinic, stripe_fake, heard):
    # given a pending no-show fee
    charge = FeeCharge.objects.get(appointment=missed(clinic, stripe_fake=stripe_fake))
    # when the task runs twice
    first = fee_charge_run(fee_charge_id=charge.pk)
    second = fee_charge_run(fee_charge_id=charge.pk)
    # then one PaymentIntent went to Stripe, off-session on the chain's account, with the charge's key
    sent = stripe_fake.calls("POST", "/v1/payment_intents")
    assert len(sent) == 1
    assert sent[0][3] == idempotency_key("fee", charge.pk, 1)
    assert first.status == second.status == FeeStatus.SUCCEEDED
    # and one Stripe payment paid the fee invoice; FeeCharged was announced once
    payment = Payment.objects.get(invoice=charge.invoice)
    assert payment.method == PaymentMethod.STRIPE
    assert payment.reference == first.payment_intent_id
    assert payment.amount_minor == NO_SHOW_FEE
    charge.invoice.refresh_from_db()
    assert charge.invoice.status == InvoiceStatus.PAID
    assert [e.fee_charge_id for e in heard] == [charge.pk]
    intent = stripe_fake.get(stripe_fake.requests[-1][2], "payment_intent", first.payment_intent_id)
    assert intent["metadata"]["fee_charge_id"] == str(charge.pk)


def test_a_worker_that_died_after_charging_is_taken_over_with_the_same_key(clinic, stripe_fake, monkeypatch):
    # given a charge whose worker reached Stripe and died before writing the result
    charge = FeeCharge.objects.get(appointment=missed(clinic, stripe_fake=stripe_fake))
    real = fees._record_success

    def dies(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(fees, "_record_success", dies)
    with pytest.raises(SystemExit):
        fee_charge_run(fee_charge_id=charge.pk)
    monkeypatch.setattr(fees, "_record_success", real)
    charge.refresh_from_db()
    assert charge.status == FeeStatus.CHARGING
    # when the sweep runs before the claim is stale, then it leaves it
    assert fees.fee_charges_due() == []
    # when it runs after, then it sends the same attempt again: Stripe answers the same intent
    later = charge.claimed_at + fees.STALE_CLAIM + timedelta(seconds=1)
    assert fees.fee_charges_due(now=later) == [charge.pk]
    done = fee_charge_run(fee_charge_id=charge.pk, now=later)
    sent = stripe_fake.calls("POST", "/v1/payment_intents")
    assert len(sent) == 2
    assert sent[0][3] == sent[1][3]
    assert done.status == FeeStatus.SUCCEEDED
    assert len(stripe_fake.objects[(sent[0][2], "payment_intent")]) == 1
    assert Payment.objects.filter(invoice=charge.invoice).count() == 1


def test_a_declined_card_stays_visible_and_a_retry_with_a_new_card_succeeds(clinic, stripe_fake, in_a):
    # given a no-show fee of a patient whose card declines
    appointment = missed(clinic, card="pm_card_chargeDeclined", stripe_fake=stripe_fake)
    charge = FeeCharge.objects.get(appointment=appointment)
    # when it is charged
    failed = fee_charge_run(fee_charge_id=charge.pk)
    # then it failed with Stripe's message, first in billing's list; nothing was paid
    assert failed.status == FeeStatus.FAILED
    assert failed.last_error == "Your card was declined."
    assert fee_charge_list(actor=in_a.users["billing"]).first() == failed
    assert not Payment.objects.filter(invoice=charge.invoice).exists()
    # and running the task again does not try again on its own
    fee_charge_run(fee_charge_id=charge.pk)
    assert len(stripe_fake.calls("POST", "/v1/payment_intents")) == 1
    # when the patient saves another card and billing retries
    card_saved(appointment.patient, stripe_fake, "pm_card_mastercard")
    retried = fee_charge_retry(actor=in_a.users["billing"], fee_charge=failed)
    assert retried.status == FeeStatus.PENDING
    done = fee_charge_run(fee_charge_id=charge.pk)
    # then the new attempt, with a new key, charged the new card
    sent = stripe_fake.calls("POST", "/v1/payment_intents")
    assert [s[3] for s in sent] == [idempotency_key("fee", charge.pk, 1), idempotency_key("fee", charge.pk, 2)]
    assert done.status == FeeStatus.SUCCEEDED
    assert done.attempts == 2
    assert done.last_error == ""
    assert done.card.brand == "mastercard"
    assert Payment.objects.filter(invoice=charge.invoice).count() == 1
    # and a charged fee is neither retried nor waived
    with pytest.raises(FeeNotRetryable):
        fee_charge_retry(actor=in_a.users["billing"], fee_charge=done)
    with pytest.raises(FeeNotWaivable):
        fee_charge_waive(actor=in_a.users["owner"], fee_charge=done, reason="Goodwill")


def test_no_card_waits_for_the_desk_and_a_retry_needs_a_card(clinic, in_a):
    # given a no-show of a patient without a card
    charge = FeeCharge.objects.get(appointment=missed(clinic, card=None))
    assert charge.status == FeeStatus.NO_CARD
    # when billing retries, then it is refused: there is nothing to charge
    with pytest.raises(NoCardOnFile):
        fee_charge_retry(actor=in_a.users["billing"], fee_charge=charge)
    charge.refresh_from_db()
    assert charge.status == FeeStatus.NO_CARD
    assert charge.invoice.status == InvoiceStatus.ISSUED


def test_refusals_change_nothing_and_billing_may_waive(clinic, in_a, stripe_fake):
    # given a failed fee
    appointment = missed(clinic, card="pm_card_chargeDeclined", stripe_fake=stripe_fake)
    charge = fee_charge_run(fee_charge_id=FeeCharge.objects.get(appointment=appointment).pk)
    before = (charge.status, charge.attempts, charge.invoice.status)
    # when reception tries to waive it or retry it, and a doctor to list fees
    with pytest.raises(PermissionDenied):
        fee_charge_waive(actor=in_a.users["receptionist"], fee_charge=charge, reason="Nice patient")
    with pytest.raises(PermissionDenied):
        fee_charge_retry(actor=in_a.users["receptionist"], fee_charge=charge)
    with pytest.raises(PermissionDenied):
        fee_charge_list(actor=in_a.users["doctor"])
    # then nothing changed
    charge.refresh_from_db()
    charge.invoice.refresh_from_db()
    assert (charge.status, charge.attempts, charge.invoice.status) == before
    assert len(stripe_fake.calls("POST", "/v1/payment_intents")) == 1
    # when billing waives it with a reason
    waived = fee_charge_waive(actor=in_a.users["billing"], fee_charge=charge, reason="Hospital stay")
    # then the fee is waived and its invoice void, with the reason
    assert waived.status == FeeStatus.WAIVED
    waived.invoice.refresh_from_db()
    assert waived.invoice.status == InvoiceStatus.VOID
    assert "Hospital stay" in waived.invoice.void_reason
    # and a waived fee is never charged
    fee_charge_run(fee_charge_id=charge.pk)
    assert len(stripe_fake.calls("POST", "/v1/payment_intents")) == 1


def test_the_policy_is_the_owners_and_keeps_its_history(clinic, in_a):
    from config.errors import ValidationFailed
    from invoicing.fees import FeePolicy

    # when billing tries to change it, then it is refused
    with pytest.raises(PermissionDenied):
        fees.fee_policy_update(actor=in_a.users["billing"], no_show=FeeRuleIn(), late_cancellation=FeeRuleIn())
    # when the owner enters a percentage over 100, then the field is named
    with pytest.raises(ValidationFailed) as refused:
        fees.fee_policy_update(
            actor=in_a.users["owner"],
            no_show=FeeRuleIn(FeeRule.PERCENT, percent_bp=10_001),
            late_cancellation=FeeRuleIn(),
        )
    assert "no_show_percent_bp" in refused.value.fields
    policy = FeePolicy.objects.get()
    assert (policy.no_show_rule, policy.no_show_amount_minor) == (FeeRule.FIXED, NO_SHOW_FEE)
    # when she changes it, then the history has each version
    fees.fee_policy_update(
        actor=in_a.users["owner"], no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=3000), late_cancellation=FeeRuleIn()
    )
    assert [h.no_show_amount_minor for h in policy.history.order_by("history_id")][-2:] == [NO_SHOW_FEE, 3000]


def test_a_merged_records_fee_follows_it_to_the_kept_record(clinic, in_a):
    from patients.services import patient_merge

    # given a no-show fee of a duplicate record, waiting for a card
    charge = FeeCharge.objects.get(appointment=missed(clinic, card=None))
    kept = clinic.patient("Kept")
    # when the duplicate is merged into the kept record
    patient_merge(actor=in_a.users["owner"], keep=kept, merge=charge.patient)
    # then the fee and its invoice are the kept record's
    charge.refresh_from_db()
    assert charge.patient_id == kept.pk
    assert Invoice.objects.get(pk=charge.invoice_id).patient_id == kept.pk
