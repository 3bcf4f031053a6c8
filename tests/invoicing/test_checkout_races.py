"""Real concurrent connections settling one paid Checkout Session: the completed event, the payment
intent's event, a duplicate delivery and the visitor's return page all at once record one payment
and confirm the hold once.

Each client is a thread with its own PostgreSQL connection; the data is committed first in chain
B's schema (tests/helpers.committed) and removed afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from invoicing import services as billing
from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutStatus, OnlineCheckout, OnlinePaymentPolicy
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus, Payment, Refund, RefundStatus
from scheduling.models import Appointment, CalendarEntry, ManageLink, Status
from tenants.models import StripeConnection, StripeEvent
from tests.conftest import WORLD
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.helpers import committed, race
from tests.invoicing.checkout_world import book, connect_stripe, deposit_policy, visitor

pytestmark = pytest.mark.django_db

URL = "/stripe/connect/webhook/"


class _Capture:
    """django_capture_on_commit_callbacks' stand-in on an autocommit connection: callbacks run at once."""

    def __call__(self, execute: bool = True) -> Any:
        from contextlib import nullcontext

        return nullcontext()


@pytest.fixture(scope="module")
def race_shop(django_db_setup, django_db_blocker, stripe_server: FakeStripe) -> Iterator[tuple[Clinic, str]]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = priced(clinic_setup(chain, branch=chain.branches[0], doctors=1))
        account = connect_stripe(clinic, stripe_server)
        deposit_policy(clinic, amount_minor=1500)
    yield clinic, account
    with django_db_blocker.unblock(), committed():
        with schema_context(chain.schema):
            OnlineCheckout.objects.all().delete()
            Refund.objects.all().delete()
            Payment.objects.all().delete()
            InvoiceLine.objects.all().delete()
            Invoice.objects.all().delete()
            ManageLink.objects.filter(appointment__doctor__in=clinic.doctors).delete()
            CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
            OnlinePaymentPolicy.objects.all().delete()
        StripeEvent.objects.filter(account_id=account).delete()
        StripeConnection.objects.filter(account_id=account).delete()


def _post(event: dict[str, Any]) -> int:
    payload = json.dumps(event).encode()
    signature = FakeStripe.sign(payload, settings.STRIPE_CONNECT_WEBHOOK_SECRET)
    response = Client(HTTP_HOST="localhost").post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 200, response.content
    return response.status_code


def test_deliveries_and_the_return_page_racing_record_one_payment_and_one_booking(race_shop, stripe_server, settings):
    clinic, account = race_shop
    settings.STRIPE_API_BASE = stripe_server.url
    mail.outbox.clear()
    # given a visitor's checkout, paid at Stripe
    with committed(), schema_context(clinic.chain.schema):
        started = book(visitor(clinic, _Capture(), hour=14)).checkout
        assert started is not None
        session = pay_checkout_session(stripe_server, started.session_id, account=account)
        intent = stripe_server.get(account, "payment_intent", session["payment_intent"])
    completed = stripe_server.event("checkout.session.completed", session, account=account)
    succeeded = stripe_server.event("payment_intent.succeeded", intent, account=account)
    attempts = [
        lambda: _post(completed),
        lambda: _post(succeeded),
        lambda: _post(completed),  # the same event delivered twice at once
        lambda: checkout.checkout_return(token=started.return_token),
        lambda: checkout.checkout_settle(checkout_id=started.pk),  # the sweep
    ]
    # when they all arrive at the same moment, each on its own connection
    outcomes = race(len(attempts), lambda i: attempts[i](), clinic.chain.schema)
    # then each succeeded, one payment is recorded and the hold is booked once
    assert outcomes == ["ok"] * len(attempts)
    with committed(), schema_context(clinic.chain.schema):
        [payment] = Payment.objects.filter(invoice_id=started.invoice_id)
        assert payment.amount_minor == 1500
        assert payment.reference == session["payment_intent"]
        assert Invoice.objects.get(pk=started.invoice_id).status == InvoiceStatus.PARTLY_PAID
        hold = Appointment.objects.get(pk=started.hold_id)
        assert hold.status == Status.BOOKED
        assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.PAID
    assert StripeEvent.objects.filter(event_id__in=[completed["id"], succeeded["id"]]).count() == 2


def test_the_desk_taking_the_invoice_while_the_webhook_records_the_deposit_loses_no_money(
    race_shop, stripe_server, settings
):
    clinic, account = race_shop
    settings.STRIPE_API_BASE = stripe_server.url
    # given a visitor's deposit checkout, paid at Stripe, and the invoice's whole price owed
    with committed(), schema_context(clinic.chain.schema):
        started = book(visitor(clinic, _Capture(), hour=16)).checkout
        assert started is not None
        session = pay_checkout_session(stripe_server, started.session_id, account=account)
        price = Invoice.objects.get(pk=started.invoice_id).due_minor
    completed = stripe_server.event("checkout.session.completed", session, account=account)

    def desk_pays() -> None:
        invoice = Invoice.objects.get(pk=started.invoice_id)
        billing.payment_record(actor=clinic.owner, invoice=invoice, method="cash", amount_minor=price)

    attempts = [desk_pays, lambda: _post(completed)]
    # when the desk takes the whole price in cash at the moment the webhook arrives
    desk, webhook = race(len(attempts), lambda i: attempts[i](), clinic.chain.schema)
    # then the webhook answered 200 and the Stripe payment is recorded once
    assert webhook == "ok"
    assert desk in ("ok", "overpayment")  # after the deposit, the desk is told the price is too much
    with committed(), schema_context(clinic.chain.schema):
        [online] = Payment.objects.filter(invoice_id=started.invoice_id, method="stripe")
        assert online.amount_minor == 1500
        invoice = Invoice.objects.get(pk=started.invoice_id)
        refunds = list(Refund.objects.filter(payment=online))
        if desk == "ok":  # the desk was first: the deposit is refunded in full, once, at Stripe
            assert [(r.amount_minor, r.status) for r in refunds] == [(1500, RefundStatus.SUCCEEDED)]
            assert len([c for c in stripe_server.calls("POST", "/v1/refunds") if c[2] == account]) == 1
        else:  # the webhook was first: the deposit stands, nothing refunded
            assert refunds == []
        # and what the invoice keeps is never more than it asks
        assert invoice.paid_minor - invoice.refunded_minor <= invoice.total_minor
        assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.PAID
