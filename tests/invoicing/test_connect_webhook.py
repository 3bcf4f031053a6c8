"""The Connect webhook: the SDK verifies each delivery's signature; each event counts once, in the
transaction of its effect; the account's state is always re-read from Stripe."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from config.events import subscribe
from invoicing.connect import services
from invoicing.connect.events import StripeAccountStateChanged
from invoicing.connect.webhooks import Outcome
from tenants.models import StripeConnection, StripeEvent
from tests.factories import Chain
from tests.fakes.stripe_server import FakeStripe
from tests.helpers import committed, race

URL = "/stripe/connect/webhook/"


@pytest.fixture
def connected(chain_a: Chain, stripe_fake: FakeStripe) -> Iterator[StripeConnection]:
    """Chain A has started onboarding: its account exists at Stripe, not yet able to take payments."""
    with schema_context(chain_a.schema):
        connection = services.connect_onboarding_start(actor=chain_a.users["owner"])
    return connection


def deliver(
    body: bytes | dict[str, Any], *, secret: str | None = None, timestamp: int | None = None, signed: bool = True
) -> Any:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signed:
        secret = secret or settings.STRIPE_CONNECT_WEBHOOK_SECRET
        headers["HTTP_STRIPE_SIGNATURE"] = FakeStripe.sign(payload, secret, timestamp=timestamp)
    return Client(HTTP_HOST="localhost").post(URL, data=payload, content_type="application/json", **headers)


def account_at_stripe(fake: FakeStripe, connection: StripeConnection) -> dict[str, Any]:
    return fake.get(None, "account", connection.account_id)


def test_an_account_update_connects_the_chain(connected: StripeConnection, stripe_fake: FakeStripe):
    # given the owner finished Stripe's form, and Stripe says so; someone listens for the change
    heard: list[StripeAccountStateChanged] = []
    subscribe(StripeAccountStateChanged, heard.append)
    event = stripe_fake.event(
        "account.updated", stripe_fake.complete_onboarding(connected.account_id), account=connected.account_id
    )
    # when the event arrives
    response = deliver(event)
    # then it is handled once and the chain is connected, as read from Stripe
    assert response.status_code == 200
    assert response.json()["outcome"] == Outcome.HANDLED
    connected.refresh_from_db()
    assert connected.is_connected
    assert connected.payouts_enabled
    assert connected.requirements_due == []
    assert connected.last_event_at is not None
    recorded = StripeEvent.objects.get(event_id=event["id"])
    assert recorded.handled
    assert recorded.clinic_id == connected.clinic_id
    assert stripe_fake.calls("GET", f"/v1/accounts/{connected.account_id}")
    # and the change is announced once
    assert heard == [StripeAccountStateChanged(connected.clinic_id, connected.account_id, connected=True)]


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({"secret": "whsec_someone_else"}, id="bad-signature"),
        pytest.param({"timestamp": int(time.time()) - 3600}, id="stale-timestamp"),
        pytest.param({"signed": False}, id="missing-header"),
    ],
)
def test_an_unverified_delivery_is_refused_and_changes_nothing(
    connected: StripeConnection, stripe_fake: FakeStripe, how: dict[str, Any]
):
    # given an event that would connect the chain
    event = stripe_fake.event(
        "account.updated", stripe_fake.complete_onboarding(connected.account_id), account=connected.account_id
    )
    # when it arrives without a valid, fresh signature
    response = deliver(event, **how)
    # then it is refused, not recorded, and the chain is as it was
    assert response.status_code == 400
    assert not StripeEvent.objects.filter(event_id=event["id"]).exists()
    connected.refresh_from_db()
    assert not connected.charges_enabled


def test_a_duplicate_delivery_changes_nothing(connected: StripeConnection, stripe_fake: FakeStripe):
    # given an event handled once
    event = stripe_fake.event(
        "account.updated", account_at_stripe(stripe_fake, connected), account=connected.account_id
    )
    assert deliver(event).json()["outcome"] == Outcome.HANDLED
    reads = len(stripe_fake.calls("GET", "/v1/accounts/"))
    # and the account changed at Stripe since
    stripe_fake.complete_onboarding(connected.account_id)
    # when the very same delivery arrives again
    response = deliver(event)
    # then it is acknowledged and nothing happens: no read, no change, one record
    assert response.status_code == 200
    assert response.json()["outcome"] == Outcome.DUPLICATE
    assert len(stripe_fake.calls("GET", "/v1/accounts/")) == reads
    connected.refresh_from_db()
    assert not connected.charges_enabled
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_a_replay_signed_later_changes_nothing(connected: StripeConnection, stripe_fake: FakeStripe):
    # given an event processed a minute ago
    event = stripe_fake.event(
        "account.updated", account_at_stripe(stripe_fake, connected), account=connected.account_id
    )
    assert deliver(event, timestamp=int(time.time()) - 60).status_code == 200
    stripe_fake.complete_onboarding(connected.account_id)
    # when Stripe (or anyone holding a valid signature) sends it again, freshly signed
    response = deliver(event)
    # then it is a duplicate: the stored state is untouched
    assert response.json()["outcome"] == Outcome.DUPLICATE
    connected.refresh_from_db()
    assert not connected.charges_enabled


def test_an_older_event_arriving_late_leaves_the_newer_state(connected: StripeConnection, stripe_fake: FakeStripe):
    # given an older snapshot (onboarding incomplete) and a newer one (complete)
    older = stripe_fake.event(
        "account.updated", account_at_stripe(stripe_fake, connected), account=connected.account_id
    )
    newer = stripe_fake.event(
        "account.updated", stripe_fake.complete_onboarding(connected.account_id), account=connected.account_id
    )
    assert older["created"] < newer["created"]
    # when the newer arrives first, then the older
    assert deliver(newer).json()["outcome"] == Outcome.HANDLED
    assert deliver(older).json()["outcome"] == Outcome.HANDLED
    # then the chain keeps the newer state (each was re-read from Stripe), and the latest event time
    connected.refresh_from_db()
    assert connected.is_connected
    assert connected.last_event_at.timestamp() == newer["created"]


def test_an_unknown_type_is_recorded_and_acknowledged(connected: StripeConnection, stripe_fake: FakeStripe):
    # given an event type no module handles
    event = stripe_fake.event(
        "capability.updated", {"id": "card_payments", "object": "capability"}, account=connected.account_id
    )
    # when it arrives
    response = deliver(event)
    # then it is acknowledged and recorded as not handled; the connection is not touched
    assert response.status_code == 200
    assert response.json()["outcome"] == Outcome.UNHANDLED_TYPE
    assert not StripeEvent.objects.get(event_id=event["id"]).handled
    assert not stripe_fake.calls("GET", "/v1/accounts/")


def test_an_unknown_account_is_acknowledged_and_ignored(connected: StripeConnection, stripe_fake: FakeStripe):
    # given an event of an account no chain has connected
    event = stripe_fake.event("account.updated", {"id": "acct_nobody", "object": "account"}, account="acct_nobody")
    # when it arrives
    response = deliver(event)
    # then it is answered 200 and nothing is read or changed
    assert response.status_code == 200
    assert response.json()["outcome"] == Outcome.UNKNOWN_ACCOUNT
    assert not stripe_fake.calls("GET", "/v1/accounts/")
    assert not StripeEvent.objects.filter(event_id=event["id"]).exists()


def test_an_event_that_came_before_its_account_was_stored_counts_when_sent_again(
    chain_a: Chain, stripe_fake: FakeStripe
):
    # given an account Stripe made, whose first event arrives before the chain's connection is stored
    with schema_context(chain_a.schema):
        account = stripe_fake.complete_onboarding(
            stripe_fake.add_object("account", type="express", requirements={})["id"]
        )
        early = stripe_fake.event("account.updated", account, account=account["id"])
        assert deliver(early).json()["outcome"] == Outcome.UNKNOWN_ACCOUNT
        StripeConnection.objects.create(clinic=chain_a.clinic, account_id=account["id"], account_type="express")
    # when Stripe sends the event again
    response = deliver(early)
    # then it is handled now
    assert response.json()["outcome"] == Outcome.HANDLED
    assert StripeConnection.objects.get(account_id=account["id"]).is_connected


def _raw(**fields: Any) -> bytes:
    """An event's JSON with some fields as Stripe would never send them."""
    return json.dumps({"id": "evt_1", "object": "event", "type": "account.updated", "created": 1, **fields}).encode()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[1, 2]", id="a-list"),
        pytest.param(b'"event"', id="a-string"),
        pytest.param(json.dumps({"object": "event", "type": "account.updated"}).encode(), id="no-id"),
        pytest.param(json.dumps({"id": "evt_1", "type": 5, "created": 1}).encode(), id="type-not-text"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(
            json.dumps({"id": "evt_" + "x" * 80, "type": "account.updated", "created": 1}).encode(), id="long-id"
        ),
        pytest.param(
            json.dumps({"id": "evt_\u0000", "type": "account.updated", "created": 1}).encode(), id="nul-in-id"
        ),
        pytest.param(json.dumps({"id": "evt_1", "type": "account.updated", "created": 10**20}).encode(), id="no-time"),
        pytest.param(
            json.dumps({"id": "evt_1", "type": "account.updated", "created": True}).encode(), id="created-bool"
        ),
        pytest.param(
            json.dumps({"id": "evt_1", "type": "account.updated", "created": 1, "account": ["a"]}).encode(),
            id="account-not-text",
        ),
    ],
)
def test_a_malformed_but_signed_payload_is_refused_without_harm(db: None, payload: bytes):
    # when a signed payload that is not a Stripe event arrives
    before = StripeEvent.objects.count()  # (the platform schema may hold events of journeys run before)
    response = deliver(payload)
    # then it is a 400, never a 500, and nothing is recorded
    assert response.status_code == 400
    assert StripeEvent.objects.count() == before


def test_only_post_is_served(db: None):
    assert Client(HTTP_HOST="localhost").get(URL).status_code == 405


def test_when_stripe_cannot_be_read_nothing_is_recorded_and_stripe_retries(
    connected: StripeConnection, stripe_fake: FakeStripe, settings: Any
):
    # given an event, and Stripe's API out of reach
    event = stripe_fake.event(
        "account.updated", stripe_fake.complete_onboarding(connected.account_id), account=connected.account_id
    )
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    # when it arrives
    response = deliver(event)
    # then it is refused for a retry and not recorded
    assert response.status_code == 503
    assert not StripeEvent.objects.filter(event_id=event["id"]).exists()
    # and when Stripe retries once the API answers, it is handled
    settings.STRIPE_API_BASE = stripe_fake.url
    assert deliver(event).json()["outcome"] == Outcome.HANDLED
    connected.refresh_from_db()
    assert connected.is_connected


def test_the_same_event_delivered_twice_at_once_is_handled_once(chain_a: Chain, stripe_fake: FakeStripe):
    # given a chain with an account (committed: each delivery runs on a connection of its own)
    with committed(), schema_context(chain_a.schema):
        connection = services.connect_onboarding_start(actor=chain_a.users["owner"])
    try:
        event = stripe_fake.event(
            "account.updated", stripe_fake.complete_onboarding(connection.account_id), account=connection.account_id
        )
        outcomes: list[str] = []
        # when Stripe delivers it twice at the same moment
        race(2, lambda _: outcomes.append(deliver(event).json()["outcome"]), chain_a.schema)
        # then one delivery handled it and the other found it done; it is recorded once
        assert sorted(outcomes) == [Outcome.DUPLICATE, Outcome.HANDLED]
        with committed():
            assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
            assert StripeConnection.objects.get(pk=connection.pk).is_connected
    finally:
        with committed():
            StripeEvent.objects.filter(account_id=connection.account_id).delete()
            StripeConnection.objects.filter(pk=connection.pk).delete()
