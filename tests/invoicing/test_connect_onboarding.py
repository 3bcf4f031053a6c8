"""Connect onboarding: a chain's owner connects the chain's own Stripe account (Express) through
the real SDK against the local fake; the platform keeps the account id, never a key."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from invoicing.connect import services
from tenants.models import StripeConnection
from tests.factories import Chain
from tests.fakes.stripe_server import FakeStripe
from tests.helpers import assert_error, committed, race


def test_the_owner_starts_onboarding_and_gets_a_link_back_to_the_chains_site(in_a: Chain, stripe_fake: FakeStripe):
    # when the owner asks to connect
    link = services.connect_onboarding_link(actor=in_a.users["owner"])
    # then one Express account is made at Stripe, with an idempotency key, and kept by its id only
    creates = stripe_fake.calls("POST", "/v1/accounts")
    assert len(creates) == 1
    assert creates[0][3]
    account = stripe_fake.get(None, "account", link.connection.account_id)
    assert account["type"] == "express"
    assert account["metadata"]["schema"] == in_a.schema
    connection = StripeConnection.objects.get(clinic=in_a.clinic)
    assert connection.account_id == account["id"]
    assert not connection.is_connected
    assert connection.requirements_due
    # and the owner is sent to Stripe's form, which sends her back to her chain's settings page
    assert link.url.startswith(stripe_fake.url)
    sent = stripe_fake.link_params[-1]
    assert sent["return_url"].startswith(f"http://{in_a.host}")
    assert "/settings/payments/" in sent["return_url"]
    assert sent["refresh_url"].startswith(f"http://{in_a.host}")


def test_asking_again_reuses_the_chains_account(in_a: Chain, stripe_fake: FakeStripe):
    # given onboarding started
    first = services.connect_onboarding_link(actor=in_a.users["owner"])
    # when the owner asks again (she left Stripe's form half-way)
    second = services.connect_onboarding_link(actor=in_a.users["owner"])
    # then the same account gets a new link; no second account
    assert second.connection.account_id == first.connection.account_id
    assert len(stripe_fake.calls("POST", "/v1/accounts")) == 1
    assert len(stripe_fake.calls("POST", "/v1/account_links")) == 2


def test_two_clicks_at_once_make_one_account(chain_a: Chain, stripe_fake: FakeStripe):
    # when the owner's two clicks arrive together, each on its own connection
    owner = chain_a.users["owner"]
    try:
        outcomes = race(2, lambda _: services.connect_onboarding_start(actor=owner), chain_a.schema)
        # then both succeed with one account at Stripe and one connection here
        assert outcomes == ["ok", "ok"]
        with committed():
            assert StripeConnection.objects.filter(clinic=chain_a.clinic).count() == 1
        assert len(stripe_fake.objects[("platform", "account")]) == 1
    finally:
        with committed():
            StripeConnection.objects.filter(clinic=chain_a.clinic).delete()


def test_the_same_idempotency_key_answers_the_same_account(stripe_fake: FakeStripe):
    # given the platform's client pointed at the fake
    import stripe

    client = stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_fake.url})
    options: Any = {"idempotency_key": "clinicflow-account-1"}
    # when the same create is sent twice with one key
    first = client.v1.accounts.create(params={"type": "express"}, options=options)
    again = client.v1.accounts.create(params={"type": "express"}, options=options)
    # then Stripe (the fake) makes one account; other parameters with that key are refused
    assert first.id == again.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.accounts.create(params={"type": "standard"}, options=options)


@pytest.mark.parametrize("role", ["billing", "branch_manager", "receptionist", "doctor"])
def test_only_owners_connect_the_chains_stripe(in_a: Chain, stripe_fake: FakeStripe, role: str):
    # when anyone but an owner asks to connect
    from config.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.connect_onboarding_link(actor=in_a.users[role])
    # then nothing was made, here or at Stripe
    assert not StripeConnection.objects.filter(clinic=in_a.clinic).exists()
    assert not stripe_fake.requests


def test_refreshing_reads_the_account_again(in_a: Chain, stripe_fake: FakeStripe):
    # given onboarding started and finished at Stripe
    connection = services.connect_onboarding_start(actor=in_a.users["owner"])
    stripe_fake.complete_onboarding(connection.account_id)
    # when the owner checks the status
    refreshed = services.connect_status_refresh(actor=in_a.users["owner"])
    # then the chain is connected
    assert refreshed.is_connected
    assert refreshed.payouts_enabled


def test_without_a_platform_key_nothing_is_connected(in_a: Chain, stripe_fake: FakeStripe, settings: Any):
    from invoicing.connect.exceptions import StripeNotConfigured

    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(StripeNotConfigured):
        services.connect_onboarding_start(actor=in_a.users["owner"])
    assert not StripeConnection.objects.filter(clinic=in_a.clinic).exists()


def test_the_owner_connects_through_the_api(chain_a: Chain, api: Any, stripe_fake: FakeStripe):
    owner = api(chain_a, "owner")
    # given nothing connected
    assert owner.call("GET", "/api/v1/payments/stripe/").json()["state"] == "not_connected"
    # when the owner asks for the onboarding link
    started = owner.call("POST", "/api/v1/payments/stripe/onboarding/")
    # then she gets Stripe's form and the account waits for her details
    assert started.status_code == 200, started.content
    body = started.json()
    assert body["url"].startswith(stripe_fake.url)
    assert body["connection"]["state"] == "onboarding_incomplete"
    # and once Stripe has her details, a refresh says connected
    stripe_fake.complete_onboarding(body["connection"]["account_id"])
    refreshed = owner.call("POST", "/api/v1/payments/stripe/refresh/")
    assert refreshed.json()["state"] == "connected"


def test_refresh_before_connecting_is_a_documented_error(chain_a: Chain, api: Any, stripe_fake: FakeStripe):
    assert_error(api(chain_a, "owner").call("POST", "/api/v1/payments/stripe/refresh/"), 409, "stripe_not_connected")


def test_billing_staff_cannot_read_or_start_the_connection(chain_a: Chain, api: Any, stripe_fake: FakeStripe):
    billing = api(chain_a, "billing")
    assert_error(billing.call("GET", "/api/v1/payments/stripe/"), 403)
    assert_error(billing.call("POST", "/api/v1/payments/stripe/onboarding/"), 403)
    with schema_context("public"):
        assert not StripeConnection.objects.filter(clinic=chain_a.clinic).exists()
    assert not stripe_fake.requests
