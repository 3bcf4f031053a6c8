"""A payment Stripe took is always recorded, once, even when its invoice no longer asks for it (the
desk paid, voided or credited it while the patient was at Stripe's page) or its held time is gone:
what is not owed is refunded at Stripe at once, with a reason billing reads, and the webhook answers
200. The sweep goes on past a checkout it cannot settle."""

from __future__ import annotations

from typing import Any

import pytest

from config.events import subscribe
from invoicing import services as billing
from invoicing.checkout import refunds
from invoicing.checkout import services as checkout
from invoicing.checkout.events import OnlineCheckoutRefunded
from invoicing.checkout.models import CheckoutStatus, OnlineCheckout
from invoicing.connect.client import idempotency_key
from invoicing.exceptions import InvoiceHasPayments
from invoicing.models import Invoice, InvoiceStatus, Payment, PaymentMethod, Refund, RefundStatus
from invoicing.services import invoices
from invoicing.services.payments import payment_add
from scheduling.models import Appointment, Status
from scheduling.services import appointment_hold_lapse
from tests.factories.invoicing import PRICE
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.invoicing.checkout_world import deposit_shop
from tests.invoicing.test_checkout import DEPOSIT, _event, _started, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(in_a, stripe_fake: FakeStripe) -> Any:
    return deposit_shop(in_a, stripe_fake, amount_minor=DEPOSIT)


def _pay_and_deliver(shop: Any, fake: FakeStripe, started: OnlineCheckout, capture: Any) -> Any:
    session = pay_checkout_session(fake, started.session_id, account=shop.account)
    with capture(execute=True):
        return deliver(_event(fake, shop, "checkout.session.completed", session)), session


def _refunded_events() -> list[OnlineCheckoutRefunded]:
    seen: list[OnlineCheckoutRefunded] = []
    subscribe(OnlineCheckoutRefunded, seen.append)
    return seen


def test_a_deposit_paid_online_after_the_desk_took_the_whole_invoice_is_recorded_and_refunded(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given an open online checkout of the deposit, and the desk takes the whole invoice in cash
    started = _started(shop, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    billing.payment_record(actor=shop.owner, invoice=invoice, method="cash", amount_minor=PRICE)
    seen = _refunded_events()
    # when the visitor pays the deposit at Stripe and the webhook arrives
    answer, session = _pay_and_deliver(shop, stripe_fake, started, django_capture_on_commit_callbacks)
    # then the webhook answers 200 and the Stripe payment is recorded once, refunded in full at Stripe
    assert answer.status_code == 200, answer.content
    stripe_payment = Payment.objects.get(invoice_id=invoice.pk, method=PaymentMethod.STRIPE)
    assert (stripe_payment.amount_minor, stripe_payment.refunded_minor) == (DEPOSIT, DEPOSIT)
    assert stripe_payment.reference == session["payment_intent"]
    [refund] = Refund.objects.all()
    assert (refund.amount_minor, refund.status) == (DEPOSIT, RefundStatus.SUCCEEDED)
    assert refund.reason.startswith("Paid twice: ")
    assert invoice.number in refund.reason
    [(_, _, account, key)] = stripe_fake.calls("POST", "/v1/refunds")
    assert account == shop.account
    assert key == idempotency_key("refund", shop.chain.schema, refund.pk)
    assert stripe_fake.get(shop.account, "refund", refund.stripe_refund_id)["amount"] == DEPOSIT
    # and the invoice stays paid (the desk's cash), the booking stands, the checkout is settled
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_minor - invoice.refunded_minor) == (InvoiceStatus.PAID, PRICE)
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.PAID
    assert Appointment.objects.get(pk=started.hold_id).status == Status.BOOKED
    assert [(e.checkout_id, e.amount_minor) for e in seen] == [(started.pk, DEPOSIT)]
    # and a second delivery changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        again = deliver(_event(stripe_fake, shop, "checkout.session.completed", session))
    assert again.status_code == 200
    assert Payment.objects.filter(method=PaymentMethod.STRIPE).count() == 1
    assert Refund.objects.count() == 1
    assert len(stripe_fake.calls("POST", "/v1/refunds")) == 1


def test_a_deposit_paid_online_after_the_desk_took_part_refunds_only_what_is_not_owed(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given the desk took all but 500 of the invoice while the deposit's checkout was open
    started = _started(shop, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    billing.payment_record(actor=shop.owner, invoice=invoice, method="cash", amount_minor=PRICE - 500)
    # when the deposit is paid online
    answer, _ = _pay_and_deliver(shop, stripe_fake, started, django_capture_on_commit_callbacks)
    # then it is recorded in full and the excess over the 500 owed is refunded
    assert answer.status_code == 200
    [refund] = Refund.objects.all()
    assert refund.amount_minor == DEPOSIT - 500
    assert refund.reason.startswith("Paid twice: ")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (
        InvoiceStatus.PAID,
        PRICE - 500 + DEPOSIT,
        DEPOSIT - 500,
    )
    assert invoice.paid_minor - invoice.refunded_minor == PRICE


def test_a_deposit_paid_online_after_billing_voided_the_invoice_is_refunded_and_the_time_given_back(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks, monkeypatch
):
    # given billing voided the invoice while the deposit's checkout was open, and Stripe could not
    # be asked to expire its session then
    started = _started(shop, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    monkeypatch.setattr(invoices, "BEFORE_VOID", [])
    billing.invoice_void(actor=shop.owner, invoice=invoice, reason="raised by mistake")
    # when the visitor pays anyway and the webhook arrives
    answer, _ = _pay_and_deliver(shop, stripe_fake, started, django_capture_on_commit_callbacks)
    # then 200, the payment is recorded and refunded in full, the invoice stays void
    assert answer.status_code == 200, answer.content
    [payment] = Payment.objects.filter(invoice_id=invoice.pk)
    [refund] = Refund.objects.filter(payment=payment)
    assert (refund.amount_minor, refund.status) == (DEPOSIT, RefundStatus.SUCCEEDED)
    assert "voided" in refund.reason
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (InvoiceStatus.VOID, DEPOSIT, DEPOSIT)
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.REFUNDED
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED


def test_voiding_an_invoice_expires_its_open_checkout_at_stripe_first(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given a deposit's checkout the patient has not paid yet
    started = _started(shop, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    # when billing voids the invoice
    billing.invoice_void(actor=shop.owner, invoice=invoice, reason="raised by mistake")
    # then the session is expired at Stripe (it can no longer be paid), the time given back, the invoice void
    assert stripe_fake.get(shop.account, "checkout.session", started.session_id)["status"] == "expired"
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.EXPIRED
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID
    assert invoice.void_reason == "raised by mistake"


def test_voiding_an_invoice_whose_checkout_was_just_paid_records_the_payment_and_refuses_the_void(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given the patient completed Stripe's page a moment ago; its webhook has not arrived
    started = _started(shop, django_capture_on_commit_callbacks)
    session = pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    # when billing voids the invoice: Stripe refuses to expire a completed session
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvoiceHasPayments):
        billing.invoice_void(actor=shop.owner, invoice=invoice, reason="raised by mistake")
    # then the payment is recorded and the booking confirmed: the desk learns it was paid
    [payment] = Payment.objects.filter(invoice_id=invoice.pk)
    assert (payment.amount_minor, payment.reference) == (DEPOSIT, session["payment_intent"])
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.PAID
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PARTLY_PAID
    assert Appointment.objects.get(pk=started.hold_id).status == Status.BOOKED


def test_a_deposit_paid_online_after_billing_credited_the_whole_invoice_is_refunded(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    started = _started(shop, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    billing.credit_note_issue(actor=shop.owner, invoice=invoice, amount_minor=PRICE, reason="goodwill")
    answer, _ = _pay_and_deliver(shop, stripe_fake, started, django_capture_on_commit_callbacks)
    assert answer.status_code == 200, answer.content
    [refund] = Refund.objects.all()
    assert (refund.amount_minor, refund.status) == (DEPOSIT, RefundStatus.SUCCEEDED)
    assert refund.reason.startswith("Paid twice: ")


def test_a_deposit_paid_for_a_hold_given_back_meanwhile_is_refunded_not_lost(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given the held time was given back (expired or cancelled) before the webhook came
    started = _started(shop, django_capture_on_commit_callbacks)
    hold = Appointment.objects.get(pk=started.hold_id)
    appointment_hold_lapse(hold_id=hold.pk, hold_token=hold.hold_token)
    # when the payment's webhook arrives
    answer, _ = _pay_and_deliver(shop, stripe_fake, started, django_capture_on_commit_callbacks)
    # then the payment is recorded and refunded in full, and the checkout says so
    assert answer.status_code == 200
    [refund] = Refund.objects.all()
    assert (refund.amount_minor, refund.status) == (DEPOSIT, RefundStatus.SUCCEEDED)
    assert refund.reason == checkout.LATE_REFUND_REASON
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.REFUNDED
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED


def test_a_refund_of_money_paid_twice_that_stripe_refuses_stays_owed_back_and_says_so(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given the desk took the whole invoice, then the deposit was paid online and its charge was
    # already refunded at Stripe's dashboard (so Stripe refuses our refund)
    started = _started(shop, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    billing.payment_record(actor=shop.owner, invoice=invoice, method="cash", amount_minor=PRICE)
    session = pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    intent = stripe_fake.get(shop.account, "payment_intent", session["payment_intent"])
    charge = stripe_fake.get(shop.account, "charge", intent["latest_charge"])
    charge["amount_refunded"] = charge["amount"]
    # when the webhook records it and asks Stripe for the refund
    with django_capture_on_commit_callbacks(execute=True):
        answer = deliver(_event(stripe_fake, shop, "checkout.session.completed", session))
    # then the refund is failed with Stripe's reason and what billing must do; the ledger still adds up
    assert answer.status_code == 200
    [refund] = Refund.objects.all()
    assert refund.status == RefundStatus.FAILED
    assert refund.failure_message.startswith(refunds.NOT_OWED_NOTE)
    invoice.refresh_from_db()
    assert invoice.paid_minor - invoice.refunded_minor == PRICE
    assert invoice.status == InvoiceStatus.PAID


def test_one_checkout_the_sweep_cannot_settle_does_not_stop_the_others(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks, monkeypatch
):
    # given two checkouts paid at Stripe without a webhook, the first of which fails to settle
    first = _started(shop, django_capture_on_commit_callbacks, hour=10)
    second = _started(shop, django_capture_on_commit_callbacks, hour=12)
    pay_checkout_session(stripe_fake, first.session_id, account=shop.account)
    pay_checkout_session(stripe_fake, second.session_id, account=shop.account)
    settle = checkout.checkout_settle

    def poisoned(*, checkout_id: int) -> OnlineCheckout:
        if checkout_id == first.pk:
            raise RuntimeError("stuck")
        return settle(checkout_id=checkout_id)

    monkeypatch.setattr(checkout, "checkout_settle", poisoned)
    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        looked = checkout.checkouts_sweep()
    # then the second is settled all the same, the first waits for the next sweep
    assert looked == 2
    assert OnlineCheckout.objects.get(pk=second.pk).status == CheckoutStatus.PAID
    assert OnlineCheckout.objects.get(pk=first.pk).status == CheckoutStatus.OPEN


def test_a_payment_billing_recorded_by_hand_before_its_checkout_settles_is_not_recorded_twice(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given an open online checkout the patient paid at Stripe, whose webhook is late
    started = _started(shop, django_capture_on_commit_callbacks)
    session = pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    invoice = Invoice.objects.get(pk=started.invoice_id)
    # and billing records that Stripe payment by hand (reconciliation's "record against invoice")
    by_hand = payment_add(
        invoice,
        actor=shop.owner,
        method=PaymentMethod.STRIPE,
        amount_minor=DEPOSIT,
        reference=session["payment_intent"],
    )
    # when the webhook arrives at last
    with django_capture_on_commit_callbacks(execute=True):
        answer = deliver(_event(stripe_fake, shop, "checkout.session.completed", session))
    # then it answers 200, the payment stands once, nothing is refunded, and the booking is confirmed
    assert answer.status_code == 200, answer.content
    assert list(Payment.objects.filter(method=PaymentMethod.STRIPE).values_list("pk", flat=True)) == [by_hand.pk]
    assert not Refund.objects.exists()
    settled = OnlineCheckout.objects.get(pk=started.pk)
    assert (settled.status, settled.payment_id) == (CheckoutStatus.PAID, by_hand.pk)
    assert Appointment.objects.get(pk=started.hold_id).status == Status.BOOKED
