"""A patient books online with a deposit: the pay step at 390 px, Stripe's hosted page (the local
fake), back to "payment received", and the booking's page says the deposit is paid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from invoicing.checkout.models import OnlinePaymentPolicy
from invoicing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from scheduling.models import Appointment, Status
from tenants.models import StripeConnection, StripeEvent
from tests.browser.test_front_desk import _desk
from tests.factories.invoicing import priced
from tests.helpers import committed
from tests.invoicing.checkout_world import connect_stripe, deposit_policy

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}


def pick_a_time(page: Page, live: str, clinic: Any) -> None:
    """On the phone, from /book/: the clinic's branch and service, the first free time."""
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/book/")
    page.get_by_label("Where").select_option(label=clinic.branch.name)
    page.get_by_label("What").select_option(value=str(clinic.service.pk))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="See free times").click()
    page.locator("section.day-times").get_by_role("button").first.click()


def confirm_with_code(page: Page, first: str, last: str, email: str) -> None:
    """The details step: the visitor's name and e-mail, the code sent to it, Confirm booking."""
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("E-mail or mobile number").fill(email)
    page.get_by_role("button", name="Send me a code").click()
    sent = next(m for m in reversed(mail.outbox) if m.to == [email])
    page.get_by_label("The six-digit code we sent you").fill(re.search(r"\b(\d{6})\b", sent.body).group(1))
    expect(page.get_by_role("heading", name="Payment and cancellation")).to_be_visible()
    page.get_by_role("button", name="Confirm booking").click()


def test_a_patient_books_online_with_a_deposit_and_the_booking_appears_paid(
    page, live, live_server_port, browser_chain, stripe_server, shot, axe
):
    cache.clear()
    clinic, _ = _desk(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        priced(clinic, 7500)
        account = connect_stripe(clinic, stripe_server)
        deposit_policy(clinic, amount_minor=2000)
    # Stripe sends its events to the platform's Connect webhook on the live server
    stripe_server.checkout_webhook = (
        f"http://localhost:{live_server_port}/stripe/connect/webhook/",
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        None,
    )
    try:
        pick_a_time(page, live, clinic)
        # before confirming, the details step says what is paid online and what cancelling costs
        expect(page.get_by_role("heading", name="Payment and cancellation")).to_be_visible()
        expect(page.get_by_text(re.compile(r"deposit of .*20\.00 online to confirm"))).to_be_visible()
        shot("deposit-terms-details-390")
        axe("online booking details with payment terms")
        confirm_with_code(page, "Paula", "Paid", "paula@example.com")

        # the pay step: due now, due at the visit, what happens if unpaid
        expect(page.get_by_role("heading", name="Pay the deposit")).to_be_visible()
        expect(page.get_by_text("Due now, online")).to_be_visible()
        expect(page.locator("dd", has_text="20.00").first).to_be_visible()
        expect(page.locator("dd", has_text="55.00")).to_be_visible()
        expect(page.get_by_text(re.compile("the time is released and nothing is charged"))).to_be_visible()
        shot("deposit-pay-step-390")
        axe("online booking pay step")
        with committed(), schema_context(browser_chain.schema):
            held = Appointment.objects.get(status=Status.HELD, service=clinic.service)
            assert Invoice.objects.get(appointment_id=held.pk).status == InvoiceStatus.ISSUED

        # Stripe's hosted page (the fake), then back to the clinic's site
        page.get_by_role("link", name=re.compile(r"Pay .*20\.00 now")).click()
        expect(page.get_by_role("heading", name=re.compile("Pay"))).to_be_visible()
        shot("deposit-stripe-page")
        page.get_by_role("button", name="Pay").click()
        expect(page.get_by_role("heading", name="Payment received, booking confirmed")).to_be_visible()
        shot("deposit-paid-390")
        axe("payment received page")

        page.get_by_role("link", name="See and manage your booking").click()
        expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
        expect(page.get_by_text("Deposit paid")).to_be_visible()
        shot("deposit-manage-390")
        axe("booking with a deposit paid")

        # one Stripe payment on the visit's invoice, the time booked, the webhook's events recorded
        with committed(), schema_context(browser_chain.schema):
            booked = Appointment.objects.get(pk=held.pk)
            assert booked.status == Status.BOOKED
            [payment] = Payment.objects.filter(invoice__appointment_id=held.pk)
            assert (payment.method, payment.amount_minor) == (PaymentMethod.STRIPE, 2000)
            assert Invoice.objects.get(appointment_id=held.pk).status == InvoiceStatus.PARTLY_PAID
        assert StripeEvent.objects.filter(account_id=account, type="checkout.session.completed").count() == 1
    finally:
        stripe_server.checkout_webhook = None
        with committed(), schema_context(browser_chain.schema):
            OnlinePaymentPolicy.objects.all().delete()
        with committed():  # the platform's rows this journey committed, for the tests after it
            StripeEvent.objects.filter(account_id=account).delete()
            StripeConnection.objects.filter(account_id=account).delete()
