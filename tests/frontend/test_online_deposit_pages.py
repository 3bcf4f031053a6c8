"""The online booking's pay step, the page back from Stripe, the booking page's "Deposit paid",
and the owners' online payment policy page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from invoicing.checkout.models import DepositKind
from invoicing.checkout.policy import online_payment_policy_get
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.helpers import sign_in
from tests.invoicing.checkout_world import book, connect_stripe, deposit_policy, visitor


@pytest.fixture
def started(in_a, stripe_fake: FakeStripe, django_capture_on_commit_callbacks) -> Any:
    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)
    deposit_policy(clinic, amount_minor=2000)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = book(visitor(clinic, django_capture_on_commit_callbacks))
    return clinic, outcome.checkout


def test_the_pay_step_says_what_is_due_now_and_at_the_visit(in_a, started):
    # given a checkout waiting for the deposit
    _, checkout = started
    # when the visitor opens the pay step
    page = Client(HTTP_HOST=in_a.host).get(f"/book/pay/{checkout.return_token}/")
    # then it shows the deposit, the rest due at the visit, the deadline and Stripe's page
    html = page.content.decode()
    assert page.status_code == 200
    assert "Due now, online" in html
    assert "20.00" in html
    assert "55.00" in html
    assert "the time is released and nothing is charged" in html
    assert f"{checkout.hold.branch.timezone}." in html  # the deadline in the branch's zone
    assert checkout.session_url in html
    # and another token finds nothing
    assert Client(HTTP_HOST=in_a.host).get("/book/pay/nothing-here/").status_code == 404


def test_back_from_stripe_the_booking_is_confirmed_and_its_page_says_deposit_paid(in_a, started, stripe_fake):
    # given the visitor paid on Stripe's page
    clinic, checkout = started
    pay_checkout_session(stripe_fake, checkout.session_id, account=clinic.account)
    browser = Client(HTTP_HOST=in_a.host)
    # when they come back to the clinic's site
    back = browser.get(f"/book/paid/{checkout.return_token}/")
    # then the payment is received and the booking confirmed, with a link to it
    html = back.content.decode()
    assert "Payment received, booking confirmed" in html
    manage = html.split('href="/book/manage/')[1].split('"')[0]
    # and the booking's page says the deposit is paid
    booking = browser.get(f"/book/manage/{manage}")
    assert "Deposit paid" in booking.content.decode()
    assert "20.00" in booking.content.decode()


def test_before_the_payment_arrives_the_page_says_it_waits(in_a, started):
    _, checkout = started
    back = Client(HTTP_HOST=in_a.host).get(f"/book/paid/{checkout.return_token}/")
    assert "Waiting for the payment" in back.content.decode()


def test_the_owner_sets_a_deposit_and_reception_may_not(in_a, client, stripe_fake):
    # given the owner signed in
    sign_in(client, in_a.users["owner"])
    page = client.get("/settings/payments/online/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"until it can, patients book online without paying anything" in page.content
    # when she asks a 25% deposit
    saved = client.post(
        "/settings/payments/online/", {"kind": "percent", "percent": "25"}, HTTP_HOST=in_a.host, follow=True
    )
    # then it is the chain's policy
    assert b"Online payment policy saved." in saved.content
    policy = online_payment_policy_get()
    assert (policy.kind, policy.percent_bp) == (DepositKind.PERCENT, 2500)
    # and a fixed deposit without an amount is refused beside its field
    refused = client.post("/settings/payments/online/", {"kind": "fixed"}, HTTP_HOST=in_a.host)
    assert b"Give the deposit" in refused.content
    assert online_payment_policy_get().kind == DepositKind.PERCENT
    # and the receptionist may not change it: nothing changes
    other = Client()
    sign_in(other, in_a.users["receptionist"])
    denied = other.post("/settings/payments/online/", {"kind": "full"}, HTTP_HOST=in_a.host)
    assert denied.status_code == 403
    assert online_payment_policy_get().kind == DepositKind.PERCENT
