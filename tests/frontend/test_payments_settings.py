"""The owners' payments settings page: not connected, onboarding incomplete, connected; the button
sends the owner to Stripe's form for the chain's own account."""

from __future__ import annotations

from typing import Any

from tenants.models import StripeConnection
from tests.factories import Chain
from tests.fakes.stripe_server import FakeStripe
from tests.helpers import sign_in

PAGE = "/settings/payments/"


def test_the_owner_connects_the_chains_stripe_from_the_page(in_a: Chain, client: Any, stripe_fake: FakeStripe):
    # given the owner signed in, nothing connected
    sign_in(client, in_a.users["owner"])
    page = client.get(PAGE, HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"Not connected" in page.content
    assert b"Connect with Stripe" in page.content
    # when she presses "Connect with Stripe"
    sent = client.post(PAGE, {"action": "connect"}, HTTP_HOST=in_a.host)
    # then she is sent to Stripe's form for the chain's new account
    assert sent.status_code == 302
    assert sent["Location"].startswith(stripe_fake.url)
    connection = StripeConnection.objects.get(clinic=in_a.clinic)
    # and back on the page the onboarding is incomplete, with what Stripe still asks for
    back = client.get(f"{PAGE}?returned=1", HTTP_HOST=in_a.host)
    assert b"Onboarding incomplete" in back.content
    assert b"Continue onboarding with Stripe" in back.content
    assert b"external_account" in back.content
    # when Stripe has her details and she checks again
    stripe_fake.complete_onboarding(connection.account_id)
    checked = client.post(PAGE, {"action": "refresh"}, HTTP_HOST=in_a.host, follow=True)
    # then the page says connected and offers no second connection
    assert b"Connected" in checked.content
    assert connection.account_id.encode() in checked.content
    assert b"Connect with Stripe" not in checked.content


def test_without_a_platform_key_the_page_says_why(in_a: Chain, client: Any, settings: Any):
    settings.STRIPE_SECRET_KEY = ""
    sign_in(client, in_a.users["owner"])
    page = client.get(PAGE, HTTP_HOST=in_a.host)
    assert b"Not connected" in page.content
    assert b"not set up on this server" in page.content
    assert b"Connect with Stripe" not in page.content


def test_stripe_out_of_reach_is_said_on_the_page(in_a: Chain, client: Any, settings: Any):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    sign_in(client, in_a.users["owner"])
    sent = client.post(PAGE, {"action": "connect"}, HTTP_HOST=in_a.host, follow=True)
    assert b"Stripe could not be reached" in sent.content
    assert not StripeConnection.objects.filter(clinic=in_a.clinic).exists()


def test_billing_staff_are_refused_the_page(in_a: Chain, client: Any, stripe_fake: FakeStripe):
    sign_in(client, in_a.users["billing"])
    assert client.get(PAGE, HTTP_HOST=in_a.host).status_code == 403
    assert client.post(PAGE, {"action": "connect"}, HTTP_HOST=in_a.host).status_code == 403
    assert not StripeConnection.objects.filter(clinic=in_a.clinic).exists()
    assert not stripe_fake.requests


def test_the_chain_settings_page_leads_owners_to_payments(in_a: Chain, client: Any):
    sign_in(client, in_a.users["owner"])
    assert b'href="/settings/payments/"' in client.get("/settings/", HTTP_HOST=in_a.host).content
