"""Online checkout test data, through the real services: a chain whose Stripe account is connected
(at the fake), a deposit policy, a held online time and a visitor with a booking code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core import mail
from django.core.cache import cache

from invoicing.checkout import services as checkout
from invoicing.checkout.policy import online_payment_policy_set
from invoicing.connect import services as connect
from patients import portal
from scheduling.models import Appointment
from scheduling.services.online import online_hold
from tests.factories.scheduling import MONDAY, Clinic
from tests.fakes.stripe_server import FakeStripe

IP = "198.51.100.9"


def connect_stripe(clinic: Clinic, fake: FakeStripe) -> str:
    """The chain's Stripe account, connected and able to take payments: its id."""
    connection = connect.connect_onboarding_start(actor=clinic.owner)
    fake.complete_onboarding(connection.account_id)
    connect.connection_sync(account_id=connection.account_id)
    return connection.account_id


def deposit_shop(chain: Any, fake: FakeStripe, *, amount_minor: int = 2000) -> Clinic:
    """A chain's clinic with a priced service, its Stripe account connected (``clinic.account``) and
    a fixed deposit asked online."""
    from tests.factories.invoicing import priced
    from tests.factories.scheduling import clinic_setup

    clinic = priced(clinic_setup(chain))
    clinic.account = connect_stripe(clinic, fake)  # type: ignore[attr-defined]
    deposit_policy(clinic, amount_minor=amount_minor)
    return clinic


def deposit_policy(clinic: Clinic, *, kind: str = "fixed", amount_minor: int = 2000, percent_bp: int = 0) -> None:
    online_payment_policy_set(actor=clinic.owner, kind=kind, amount_minor=amount_minor, percent_bp=percent_bp)


def hold(clinic: Clinic, hour: int = 10) -> Appointment:
    cache.clear()  # the address's hold and code limits
    return online_hold(
        branch_id=clinic.branch.pk,
        service_id=clinic.service.pk,
        doctor_id=clinic.doctors[0].pk,
        start=clinic.at(MONDAY, hour),
        ip=IP,
    )


@dataclass
class Visitor:
    hold: Appointment
    challenge: str
    code: str


def visitor(clinic: Clinic, capture: Any, *, hour: int = 10, email: str = "dora@example.com") -> Visitor:
    """A visitor who held a time and received a booking code by e-mail."""
    held = hold(clinic, hour)
    with capture(execute=True):
        sent = portal.booking_code_request(contact=email, ip=IP)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
    return Visitor(held, sent.challenge, code)


def book(v: Visitor, step: Any = checkout.online_booking_checkout) -> Any:
    """Confirm the visitor's booking with their code (by online booking's checkout, or ``step``)."""
    return step(
        hold_id=v.hold.pk,
        hold_token=v.hold.hold_token,
        first_name="Dora",
        last_name="Deposit",
        challenge=v.challenge,
        code=v.code,
        ip=IP,
    )


def opened_once_on_the_chains_account(fake: FakeStripe, shop: Clinic, started: Any) -> None:
    """The checkout's session was created once, on the chain's account, with a key named after our
    row; opening it again (a retry) opens nothing new."""
    from django.db import connection

    from invoicing.connect.client import idempotency_key

    [(_, _, account, key)] = fake.calls("POST", "/v1/checkout/sessions")
    assert account == shop.account
    assert key == idempotency_key("checkout", connection.schema_name, started.pk)
    assert checkout.checkout_open(checkout=started).session_id == started.session_id
    assert len(fake.calls("POST", "/v1/checkout/sessions")) == 1
