"""Deposits and prepayment in online booking through Stripe Checkout on the chain's connected
account (the local fake, the real SDK, the real Connect webhook): a paid session records one
payment and confirms the hold once, whatever arrives and in whatever order; an unpaid one gives the
time back; a payment whose time was taken is refunded at Stripe."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from config.events import subscribe
from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.models import Invoice, InvoiceStatus, Payment, PaymentMethod, Refund, RefundStatus
from scheduling.events import AppointmentBooked
from scheduling.models import Appointment, Status
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import MONDAY, book
from tests.fakes.stripe_server import FakeStripe, expire_checkout_session, pay_checkout_session
from tests.invoicing.checkout_world import book as book_online
from tests.invoicing.checkout_world import (
    connect_stripe,
    deposit_policy,
    deposit_shop,
    opened_once_on_the_chains_account,
    visitor,
)
from tests.invoicing.test_connect_webhook import deliver as deliver_to_webhook

DEPOSIT = 2000


@pytest.fixture
def shop(in_a, stripe_fake: FakeStripe) -> Any:
    """Chain A: a priced service, its Stripe account connected, a fixed deposit asked online."""
    return deposit_shop(in_a, stripe_fake, amount_minor=DEPOSIT)


def _started(shop: Any, capture: Any, hour: int = 10) -> OnlineCheckout:
    with capture(execute=True):
        started = book_online(visitor(shop, capture, hour=hour))
    assert started.booking is None
    assert started.checkout is not None
    return started.checkout


def deliver(event: dict[str, Any]) -> Any:
    """Post the event to the Connect webhook (the platform's site), then come back to chain A."""
    schema = connection.schema_name
    try:
        return deliver_to_webhook(event)
    finally:
        connection.set_schema(schema)


def _event(fake: FakeStripe, shop: Any, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return fake.event(kind, obj, account=shop.account)


def test_no_deposit_books_at_once_as_before(in_a, stripe_fake, django_capture_on_commit_callbacks):
    # given a connected chain that asks nothing online
    from tests.factories.scheduling import clinic_setup

    clinic = priced(clinic_setup(in_a))
    connect_stripe(clinic, stripe_fake)
    # when a visitor confirms with their code
    with django_capture_on_commit_callbacks(execute=True):
        outcome = book_online(visitor(clinic, django_capture_on_commit_callbacks))
    # then the time is booked with a link, and nothing is invoiced or asked of Stripe
    assert outcome.checkout is None
    assert outcome.booking is not None
    assert Appointment.objects.get(pk=outcome.booking.appointment.pk).status == Status.BOOKED
    assert not Invoice.objects.exists()
    assert not stripe_fake.calls("POST", "/v1/checkout/sessions")


def test_a_deposit_raises_the_visit_invoice_and_opens_a_session_tied_to_the_hold(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # when a visitor confirms their details and code
    started = _started(shop, django_capture_on_commit_callbacks)
    # then the visit's invoice is issued at the full price, nothing paid yet
    invoice = Invoice.objects.get(appointment_id=started.hold_id)
    assert (invoice.status, invoice.total_minor, invoice.paid_minor) == (InvoiceStatus.ISSUED, PRICE, 0)
    assert invoice.number
    # and a session for the deposit is open on the chain's account, keyed by our row
    session = stripe_fake.get(shop.account, "checkout.session", started.session_id)
    assert session["amount_total"] == DEPOSIT
    assert session["metadata"]["hold_id"] == str(started.hold_id)
    assert session["success_url"].startswith("http://")
    assert f"/book/paid/{started.return_token}/" in session["success_url"]
    assert started.purpose == CheckoutPurpose.BOOKING_DEPOSIT
    # and the hold is kept until the session expires, still a hold
    hold = Appointment.objects.get(pk=started.hold_id)
    assert hold.status == Status.HELD
    assert hold.hold_expires_at == started.expires_at
    assert session["expires_at"] == int(started.expires_at.timestamp())
    # and a retry opens nothing new
    opened_once_on_the_chains_account(stripe_fake, shop, started)


def test_a_paid_session_is_one_payment_and_one_booking_whatever_arrives_in_any_order(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a started checkout the visitor paid at Stripe; someone listens for bookings
    started = _started(shop, django_capture_on_commit_callbacks)
    booked: list[AppointmentBooked] = []
    subscribe(AppointmentBooked, booked.append)
    session = pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    intent = stripe_fake.get(shop.account, "payment_intent", session["payment_intent"])
    completed = _event(stripe_fake, shop, "checkout.session.completed", session)
    # when payment_intent.succeeded arrives first, then completed, completed again (a duplicate),
    # a replay of the first, the visitor's return page, and a stale "open" snapshot
    outcomes = []
    with django_capture_on_commit_callbacks(execute=True):
        first = _event(stripe_fake, shop, "payment_intent.succeeded", intent)
        outcomes.append(deliver(first).json()["outcome"])
        outcomes.append(deliver(completed).json()["outcome"])
        outcomes.append(deliver(completed).json()["outcome"])
        outcomes.append(deliver(first).json()["outcome"])
        back = checkout.checkout_return(token=started.return_token)
        stale = dict(session, status="open", payment_status="unpaid")
        outcomes.append(deliver(_event(stripe_fake, shop, "checkout.session.completed", stale)).json()["outcome"])
    # then one Stripe payment of the deposit is on the invoice, which is partly paid
    assert outcomes == ["handled", "handled", "duplicate", "duplicate", "handled"]
    [payment] = Payment.objects.all()
    assert (payment.method, payment.amount_minor, payment.reference) == (
        PaymentMethod.STRIPE,
        DEPOSIT,
        session["payment_intent"],
    )
    invoice = Invoice.objects.get(pk=started.invoice_id)
    assert (invoice.status, invoice.paid_minor, invoice.due_minor) == (
        InvoiceStatus.PARTLY_PAID,
        DEPOSIT,
        PRICE - DEPOSIT,
    )
    # and the hold became the visitor's booking once, and the return page has its link
    hold = Appointment.objects.get(pk=started.hold_id)
    assert hold.status == Status.BOOKED
    assert hold.patient.email == "dora@example.com"
    assert [b.appointment_id for b in booked] == [hold.pk]
    assert back.checkout.status == CheckoutStatus.PAID
    assert back.manage_token
    # and the visit's completion later finds the same invoice
    from invoicing.services.invoices import raise_for_appointment

    assert raise_for_appointment(hold, actor=None, issue=True).pk == invoice.pk


def test_the_return_page_settles_when_the_webhook_is_late(shop, stripe_fake, django_capture_on_commit_callbacks):
    # given the visitor paid, and no webhook has come yet
    started = _started(shop, django_capture_on_commit_callbacks)
    pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    # when the visitor lands on the return page
    back = checkout.checkout_return(token=started.return_token)
    # then the session was read again from Stripe: paid and booked
    assert back.checkout.status == CheckoutStatus.PAID
    assert Appointment.objects.get(pk=started.hold_id).status == Status.BOOKED
    assert Payment.objects.count() == 1
    assert stripe_fake.calls("GET", f"/v1/checkout/sessions/{started.session_id}")


def test_an_unpaid_session_that_expires_gives_the_time_back_and_voids_the_invoice(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a started checkout the visitor left unpaid
    started = _started(shop, django_capture_on_commit_callbacks)
    # while it is open, an event about it changes nothing
    open_session = stripe_fake.get(shop.account, "checkout.session", started.session_id)
    deliver(_event(stripe_fake, shop, "checkout.session.expired", open_session))
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.OPEN
    # when Stripe expires it and says so
    session = expire_checkout_session(stripe_fake, started.session_id, account=shop.account)
    response = deliver(_event(stripe_fake, shop, "checkout.session.expired", session))
    # then the hold is given back, the invoice void, no payment
    assert response.json()["outcome"] == "handled"
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED
    assert Invoice.objects.get(pk=started.invoice_id).status == InvoiceStatus.VOID
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.EXPIRED
    assert not Payment.objects.exists()
    # and the time can be booked again
    assert book(shop, shop.at(MONDAY, 10)).status == Status.BOOKED


def test_a_payment_arriving_after_its_time_was_taken_is_refunded_at_stripe(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a checkout paid at Stripe, whose webhook is late; meanwhile the hold ran out and the
    # desk booked someone else at that time
    started = _started(shop, django_capture_on_commit_callbacks)
    session = pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    with time_machine.travel(started.expires_at + timedelta(minutes=1), tick=False):
        other = book(shop, shop.at(MONDAY, 10))
        # when the webhook arrives
        with django_capture_on_commit_callbacks(execute=True):
            deliver(_event(stripe_fake, shop, "checkout.session.completed", session))
    # then the payment is recorded and refunded in full through Stripe, once, with our row's key
    [payment] = Payment.objects.all()
    [refund] = Refund.objects.all()
    assert (refund.amount_minor, refund.status) == (DEPOSIT, RefundStatus.SUCCEEDED)
    assert refund.stripe_refund_id.startswith("re_")
    [(_, _, account, key)] = stripe_fake.calls("POST", "/v1/refunds")
    assert account == shop.account
    assert key
    assert stripe_fake.get(shop.account, "refund", refund.stripe_refund_id)["payment_intent"] == payment.reference
    # and the booking is the desk's, the checkout says refunded, the invoice refunded
    assert Appointment.objects.get(pk=other.pk).status == Status.BOOKED
    assert Appointment.objects.get(pk=started.hold_id).status != Status.BOOKED
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.REFUNDED
    # and the invoice of a visit that will not happen asks for nothing: void, paid and refunded
    invoice = Invoice.objects.get(pk=started.invoice_id)
    assert (invoice.status, invoice.paid_minor, invoice.refunded_minor) == (InvoiceStatus.VOID, DEPOSIT, DEPOSIT)
    # and the visitor's return page says so (no booking link)
    back = checkout.checkout_return(token=started.return_token)
    assert back.checkout.status == CheckoutStatus.REFUNDED
    assert not back.manage_token


def test_the_sweep_settles_a_paid_session_whose_webhook_never_came(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given two checkouts: one paid at Stripe without a webhook, one still open
    paid = _started(shop, django_capture_on_commit_callbacks, hour=10)
    waiting = _started(shop, django_capture_on_commit_callbacks, hour=11)
    pay_checkout_session(stripe_fake, paid.session_id, account=shop.account)
    # when the periodic sweep runs, twice
    assert checkout.checkouts_sweep() == 2
    checkout.checkouts_sweep()
    # then the paid one is booked with one payment; the open one still waits
    assert OnlineCheckout.objects.get(pk=paid.pk).status == CheckoutStatus.PAID
    assert Appointment.objects.get(pk=paid.hold_id).status == Status.BOOKED
    assert Payment.objects.count() == 1
    assert OnlineCheckout.objects.get(pk=waiting.pk).status == CheckoutStatus.OPEN


def test_a_refund_of_a_stripe_payment_is_made_at_stripe_in_part_with_its_reason(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a paid deposit
    started = _started(shop, django_capture_on_commit_callbacks)
    pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    checkout.checkout_settle(checkout_id=started.pk)
    payment = Payment.objects.get()
    # when billing refunds part of it, with a reason
    from invoicing.services import refund_record

    with django_capture_on_commit_callbacks(execute=False) as pending:
        refund = refund_record(actor=shop.owner, payment=payment, amount_minor=500, reason="Goodwill")
    # then it is pending until after commit, then made at Stripe with that amount
    assert refund.status == RefundStatus.PENDING
    assert not stripe_fake.calls("POST", "/v1/refunds")
    for callback in pending:
        callback()
    refund.refresh_from_db()
    assert (refund.status, refund.reason, refund.amount_minor) == (RefundStatus.SUCCEEDED, "Goodwill", 500)
    assert stripe_fake.get(shop.account, "refund", refund.stripe_refund_id)["amount"] == 500
    # and sending it again (a retry) makes nothing more at Stripe
    from invoicing.checkout.refunds import refund_send

    refund_send(refund_id=refund.pk)
    assert len(stripe_fake.calls("POST", "/v1/refunds")) == 1
    payment.refresh_from_db()
    assert payment.refunded_minor == 500


def test_a_refund_stripe_refuses_is_marked_failed_and_the_amount_is_refundable_again(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a paid deposit that was refunded at Stripe's dashboard already
    started = _started(shop, django_capture_on_commit_callbacks)
    session = pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    checkout.checkout_settle(checkout_id=started.pk)
    charge = stripe_fake.get(
        shop.account,
        "charge",
        stripe_fake.get(shop.account, "payment_intent", session["payment_intent"])["latest_charge"],
    )
    charge["amount_refunded"] = charge["amount"]
    payment = Payment.objects.get()
    # when billing refunds it here
    from invoicing.services import refund_record

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_record(actor=shop.owner, payment=payment, amount_minor=DEPOSIT, reason="Cancelled")
    # then the refund is failed, with Stripe's reason, and nothing is taken from the payment
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert "greater than" in refund.failure_message
    assert payment.refunded_minor == 0
    assert Invoice.objects.get(pk=payment.invoice_id).status == InvoiceStatus.PARTLY_PAID


def test_percentage_and_full_prepayment_ask_their_share(shop, stripe_fake, django_capture_on_commit_callbacks):
    from invoicing.checkout.policy import deposit_for

    # given a percentage deposit of 25%
    deposit_policy(shop, kind="percent", percent_bp=2500)
    assert deposit_for(service=shop.service, branch=shop.branch).now_minor == PRICE // 4
    # and a service asking the full price
    from invoicing.checkout.policy import online_payment_policy_set

    online_payment_policy_set(actor=shop.owner, kind="full", service=shop.service)
    started = _started(shop, django_capture_on_commit_callbacks)
    assert (started.amount_minor, started.purpose) == (PRICE, CheckoutPurpose.BOOKING_PREPAYMENT)


def test_nothing_is_asked_while_the_chain_cannot_take_payments(in_a, stripe_fake):
    from invoicing.checkout.policy import deposit_for
    from tests.factories.scheduling import clinic_setup

    # given a deposit policy but a Stripe account that is not connected
    clinic = priced(clinic_setup(in_a))
    deposit_policy(clinic, amount_minor=DEPOSIT)
    # then online booking asks nothing
    assert deposit_for(service=clinic.service, branch=clinic.branch).now_minor == 0
    assert timezone.now()


def test_when_the_chain_asks_for_a_card_the_card_that_pays_the_deposit_is_kept_for_fees(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    from invoicing.checkout.policy import online_payment_policy_set
    from invoicing.services.cards import card_on_file_get

    # given a deposit policy that also asks for a card
    online_payment_policy_set(actor=shop.owner, kind="fixed", amount_minor=DEPOSIT, ask_for_card=True)
    started = _started(shop, django_capture_on_commit_callbacks)
    # then the session pays on the patient's Customer and saves the card for later
    session = stripe_fake.get(shop.account, "checkout.session", started.session_id)
    assert session["customer"].startswith("cus_")
    assert session["_setup_future_usage"] == "off_session"
    # when the visitor pays and the payment is settled
    pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    with django_capture_on_commit_callbacks(execute=True):
        checkout.checkout_settle(checkout_id=started.pk)
    # then the card is the patient's card on file, read from Stripe
    card = card_on_file_get(started.patient_id)
    assert card is not None
    assert (card.brand, card.last4) == ("visa", "4242")


@pytest.mark.parametrize("refund_on_cancel", [False, True], ids=["policy-keeps-it", "policy-refunds-it"])
def test_a_patient_cancelling_in_time_is_refunded_only_when_the_policy_says_so(
    shop, stripe_fake, django_capture_on_commit_callbacks, refund_on_cancel
):
    from invoicing.checkout.policy import online_payment_policy_set
    from scheduling import services as sched

    # given a paid deposit and the chain's choice about refunds on cancellation
    online_payment_policy_set(
        actor=shop.owner, kind="fixed", amount_minor=DEPOSIT, refund_deposit_on_timely_cancel=refund_on_cancel
    )
    sched.policy_update(actor=shop.owner, cancellation_window_hours=0)
    started = _started(shop, django_capture_on_commit_callbacks)
    pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    link = checkout.checkout_return(token=started.return_token).manage_token
    # when the patient cancels from the booking link, in time
    with django_capture_on_commit_callbacks(execute=True):
        sched.manage_link_cancel(token=link)
    # then the deposit is refunded at Stripe only if the policy says so
    refunds = list(Refund.objects.all())
    if refund_on_cancel:
        assert [(r.amount_minor, r.status) for r in refunds] == [(DEPOSIT, RefundStatus.SUCCEEDED)]
        assert len(stripe_fake.calls("POST", "/v1/refunds")) == 1
    else:
        assert refunds == []
        assert not stripe_fake.calls("POST", "/v1/refunds")


def test_a_delayed_payment_that_fails_gives_the_time_back(shop, stripe_fake, django_capture_on_commit_callbacks):
    from tests.fakes.stripe_server import fail_checkout_payment

    # given a checkout completed by a delayed payment method that then failed
    started = _started(shop, django_capture_on_commit_callbacks)
    session = fail_checkout_payment(stripe_fake, started.session_id, account=shop.account)
    # when Stripe says so
    deliver(_event(stripe_fake, shop, "checkout.session.async_payment_failed", session))
    # then nothing is recorded, the time is given back and the invoice voided
    assert not Payment.objects.exists()
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED
    assert Invoice.objects.get(pk=started.invoice_id).status == InvoiceStatus.VOID


@pytest.mark.parametrize("named", ["\u00b2", "\u0661", "9" * 30, "-1", "1 "])
def test_a_payment_intent_naming_no_checkout_of_ours_is_answered_and_ignored(shop, stripe_fake, named):
    # given a payment intent of the chain's account whose metadata names something that is no row id
    # of ours (anyone with the account can set metadata: a superscript two, an Arabic-Indic one, too long)
    intent = {"id": "pi_other", "object": "payment_intent", "metadata": {"checkout_id": named}}
    # when its event arrives, then it is answered (never a server error) and nothing is settled
    answer = deliver(_event(stripe_fake, shop, "payment_intent.succeeded", intent))
    assert answer.status_code == 200, answer.content
    assert not Payment.objects.filter(reference="pi_other").exists()
