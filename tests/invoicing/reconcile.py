"""Reconciliation test data: a chain with its Stripe account connected at the fake, payments made at
Stripe through the real SDK, and the ledger's record of them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from invoicing.connect import services as connect
from invoicing.connect.client import on_behalf_of, stripe_client
from invoicing.models import Invoice, Payment, PaymentMethod, Refund, RefundStatus
from invoicing.services.payments import payment_status
from tenants.org.selectors import chain_settings_get
from tests.factories import Chain
from tests.factories.invoicing import completed_visit
from tests.factories.scheduling import Clinic
from tests.fakes.stripe_server import FakeStripe


def connect_chain(chain: Chain, fake: FakeStripe) -> str:
    """The chain's Stripe account, onboarded at the fake and read back: connected. Its id."""
    connection = connect.connect_onboarding_start(actor=chain.users["owner"])
    fake.complete_onboarding(connection.account_id)
    connect.connection_sync(account_id=connection.account_id)
    return connection.account_id


def charge(account: str, amount_minor: int, currency: str | None = None) -> str:
    """A payment made at Stripe on the chain's account (a card that succeeds), in the chain's
    currency unless told: its payment intent."""
    currency = currency or chain_settings_get().currency.lower()
    intent = stripe_client().v1.payment_intents.create(
        params={"amount": amount_minor, "currency": currency, "payment_method": "pm_card_visa", "confirm": True},
        options=on_behalf_of(account),
    )
    return intent.id


def refund_at_stripe(account: str, intent: str, amount_minor: int) -> str:
    refund = stripe_client().v1.refunds.create(
        params={"payment_intent": intent, "amount": amount_minor}, options=on_behalf_of(account)
    )
    return refund.id


def stripe_payment(clinic: Clinic, *, intent: str, amount_minor: int, hour: int) -> Payment:
    """The ledger's record of a Stripe payment of a visit's invoice (method stripe, the payment
    intent as its reference), as the online checkout's webhook records one."""
    invoice = completed_visit(clinic, hour=hour)
    payment = Payment.objects.create(
        invoice=invoice,
        method=PaymentMethod.STRIPE,
        amount_minor=amount_minor,
        currency=invoice.currency,
        reference=intent,
        received_at=timezone.now(),
    )
    Invoice.objects.filter(pk=invoice.pk).update(paid_minor=F("paid_minor") + amount_minor)
    invoice.refresh_from_db()
    Invoice.objects.filter(pk=invoice.pk).update(status=payment_status(invoice))
    return payment


def stripe_refund(payment: Payment, *, amount_minor: int, stripe_refund_id: str = "") -> Refund:
    """The ledger's record of a refund of a Stripe payment that Stripe made (with Stripe's id of it
    once Stripe answered)."""
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount_minor,
        reason="Refunded",
        at=timezone.now(),
        status=RefundStatus.SUCCEEDED,
        stripe_refund_id=stripe_refund_id,
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") + amount_minor)
    Invoice.objects.filter(pk=payment.invoice_id).update(refunded_minor=F("refunded_minor") + amount_minor)
    return refund


def around_now() -> tuple[datetime, datetime]:
    """A period that holds what a test does now, at the fake and here (the fake's clock runs a
    second ahead per object it makes)."""
    now = timezone.now()
    return now - timedelta(hours=12), now + timedelta(hours=12)


@pytest.fixture
def reconciled(in_a: Chain, stripe_fake: FakeStripe) -> Clinic:
    """Chain A reconciled: one payment matched and paid out, one payment at Stripe missing here."""
    from invoicing.reconciliation.services import reconciliation_run
    from tests.factories.invoicing import PRICE, priced
    from tests.factories.scheduling import clinic_setup
    from tests.fakes.stripe_server import pay_out

    clinic = priced(clinic_setup(in_a, branch=in_a.branches[0], doctors=1))
    account = connect_chain(in_a, stripe_fake)
    stripe_payment(clinic, intent=charge(account, PRICE), amount_minor=PRICE, hour=9)
    pay_out(stripe_fake, account=account)
    charge(account, 4200)
    reconciliation_run(period_start=around_now()[0], period_end=around_now()[1])
    return clinic
