"""The local fake of Stripe answers the real SDK the way Stripe does: lists page by cursor (the
SDK's auto-pagination reads them whole), objects belong to the account named by Stripe-Account."""

from __future__ import annotations

import pytest
import stripe

from tests.fakes.stripe_server import FakeStripe, decode_form, pay_checkout_session


def _client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.url})


def test_auto_pagination_reads_every_balance_transaction_of_the_connected_account_once(stripe_fake: FakeStripe):
    # given 250 balance transactions on one connected account and one on another
    for n in range(250):
        stripe_fake.add_object("balance_transaction", account="acct_one", amount=100 + n, currency="eur", payout=None)
    stripe_fake.add_object("balance_transaction", account="acct_two", amount=1, currency="eur")
    # when the SDK lists them on the first account's behalf, 100 a page
    listed = _client(stripe_fake).v1.balance_transactions.list(
        params={"limit": 100}, options={"stripe_account": "acct_one"}
    )
    seen = [t.amount for t in listed.auto_paging_iter()]
    # then it gets each of the account's transactions once, newest first, over three pages
    assert sorted(seen) == [100 + n for n in range(250)]
    assert seen[0] == 349
    assert len(stripe_fake.calls("GET", "/v1/balance_transactions")) == 3
    assert {call[2] for call in stripe_fake.calls("GET", "/v1/balance_transactions")} == {"acct_one"}


def test_lists_filter_by_creation_time_and_payout(stripe_fake: FakeStripe):
    # given transactions in two payouts
    made = [
        stripe_fake.add_object("balance_transaction", account="acct_one", amount=n, payout="po_a" if n < 3 else "po_b")
        for n in range(5)
    ]
    client = _client(stripe_fake)
    options: stripe.RequestOptions = {"stripe_account": "acct_one"}
    # when they are listed by payout and by a creation window
    by_payout = client.v1.balance_transactions.list(params={"payout": "po_b"}, options=options)
    window = client.v1.balance_transactions.list(
        params={"created": {"gte": made[1]["created"], "lt": made[3]["created"]}}, options=options
    )
    # then each list holds exactly those
    assert [t.amount for t in by_payout.data] == [4, 3]
    assert [t.amount for t in window.data] == [2, 1]


def test_form_bodies_decode_into_stripes_nesting():
    assert decode_form("a[b][c]=1&a[d]=x&list[0]=p&list[1]=q&plain=v") == {
        "a": {"b": {"c": "1"}, "d": "x"},
        "list": ["p", "q"],
        "plain": "v",
    }


def test_a_paid_intent_and_its_partial_refund_leave_balance_transactions(stripe_fake: FakeStripe):
    # given a card payment of 50.00 confirmed on a connected account
    client = _client(stripe_fake)
    options: stripe.RequestOptions = {"stripe_account": "acct_one", "idempotency_key": "pay-1"}
    intent = client.v1.payment_intents.create(
        params={"amount": 5000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True},
        options=options,
    )
    # when 20.00 of it is refunded
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id, "amount": 2000}, options={"stripe_account": "acct_one"}
    )
    # then the account's balance shows the charge and the refund; the platform's shows nothing
    assert intent.status == "succeeded"
    assert refund.status == "succeeded"
    listed = client.v1.balance_transactions.list(options={"stripe_account": "acct_one"})
    assert sorted((t.type, t.amount) for t in listed.data) == [("charge", 5000), ("refund", -2000)]
    assert client.v1.balance_transactions.list().data == []
    # and a refund beyond what is left is refused as Stripe refuses it
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(
            params={"payment_intent": intent.id, "amount": 3001}, options={"stripe_account": "acct_one"}
        )


def test_a_checkout_session_is_paid_by_the_test(stripe_fake: FakeStripe):
    client = _client(stripe_fake)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {"currency": "eur", "unit_amount": 2500, "product_data": {"name": "Deposit"}},
                    "quantity": 1,
                }
            ],
            "success_url": "http://alpha.localhost/ok",
            "metadata": {"hold": "42"},
        },
        options={"stripe_account": "acct_one"},
    )
    assert session.url.startswith(stripe_fake.url)
    pay_checkout_session(stripe_fake, session.id, account="acct_one")
    paid = client.v1.checkout.sessions.retrieve(session.id, options={"stripe_account": "acct_one"})
    assert (paid.status, paid.payment_status, paid.amount_total) == ("complete", "paid", 2500)
    intent = client.v1.payment_intents.retrieve(paid.payment_intent, options={"stripe_account": "acct_one"})
    assert intent.status == "succeeded"
