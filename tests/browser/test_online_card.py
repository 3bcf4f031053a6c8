"""A patient books online where the chain asks for a card and nothing is due now: the details step
says a card is saved and nothing charged, the save-a-card step at 390 px, Stripe's hosted setup page
(the local fake), back to "card saved, booking confirmed", and the card is on the patient's file."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.cards import SavedCard
from invoicing.checkout.models import CheckoutStatus, OnlineCheckout, OnlinePaymentPolicy
from invoicing.checkout.policy import online_payment_policy_set
from invoicing.models import Invoice, Payment
from scheduling.models import Appointment, Status
from tenants.models import StripeConnection, StripeEvent
from tests.browser.test_front_desk import _desk
from tests.browser.test_online_deposit import confirm_with_code, pick_a_time
from tests.factories.invoicing import priced
from tests.helpers import committed
from tests.invoicing.checkout_world import connect_stripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_a_patient_saves_a_card_to_book_online_and_nothing_is_charged(
    page, live, live_server_port, browser_chain, stripe_server, shot, axe
):
    cache.clear()
    clinic, _ = _desk(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        priced(clinic, 7500)
        account = connect_stripe(clinic, stripe_server)
        online_payment_policy_set(actor=clinic.owner, kind="none", ask_for_card=True)
    # Stripe sends its events to the platform's Connect webhook on the live server
    stripe_server.checkout_webhook = (
        f"http://localhost:{live_server_port}/stripe/connect/webhook/",
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        None,
    )
    try:
        pick_a_time(page, live, clinic)  # at 390 px
        # before confirming, the details step says nothing is paid online and a card is saved
        expect(page.get_by_role("heading", name="Payment and cancellation")).to_be_visible()
        expect(page.get_by_text("Nothing is paid online: you pay at the visit.")).to_be_visible()
        expect(
            page.get_by_text(re.compile("you save a card on Stripe's secure page: nothing is charged now"))
        ).to_be_visible()
        shot("card-terms-details-390")
        axe("online booking details asking for a card")
        confirm_with_code(page, "Carla", "Card", "carla.card@example.com")

        # the save-a-card step: nothing charged now, the price at the visit, what the fees may take
        expect(page.get_by_role("heading", name="Save a card", exact=True)).to_be_visible()
        expect(page.locator("dd", has_text="Nothing")).to_be_visible()
        expect(page.locator("dd", has_text="75.00")).to_be_visible()
        expect(
            page.get_by_text(re.compile(r"Save a card \(nothing is charged now; the clinic's late-cancellation"))
        ).to_be_visible()
        shot("card-setup-step-390")
        axe("online booking save-a-card step")
        with committed(), schema_context(browser_chain.schema):
            held = Appointment.objects.get(status=Status.HELD, service=clinic.service)
            assert not Invoice.objects.filter(appointment_id=held.pk).exists()

        # Stripe's hosted setup page (the fake), then back to the clinic's site
        page.get_by_role("link", name="Save a card").click()
        expect(page.get_by_role("heading", name="Save a card")).to_be_visible()
        shot("card-setup-stripe-page")
        page.get_by_role("button", name="Save card").click()
        expect(page.get_by_role("heading", name="Card saved, booking confirmed")).to_be_visible()
        expect(page.get_by_text(re.compile("Nothing was charged"))).to_be_visible()
        shot("card-saved-390")
        axe("card saved page")

        page.get_by_role("link", name="See and manage your booking").click()
        expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
        shot("card-saved-manage-390")
        axe("booking confirmed with a card saved")

        # the time booked, the card on the patient's file, nothing charged, the webhook's event recorded
        with committed(), schema_context(browser_chain.schema):
            booked = Appointment.objects.get(pk=held.pk)
            assert booked.status == Status.BOOKED
            [card] = SavedCard.objects.filter(patient_id=booked.patient_id, removed_at__isnull=True)
            assert (card.brand, card.last4) == ("visa", "4242")
            assert OnlineCheckout.objects.get(hold_id=held.pk).status == CheckoutStatus.CARD_SAVED
            assert not Payment.objects.filter(invoice__appointment_id=held.pk).exists()
        assert StripeEvent.objects.filter(account_id=account, type="checkout.session.completed").count() == 1
    finally:
        stripe_server.checkout_webhook = None
        with committed(), schema_context(browser_chain.schema):
            OnlinePaymentPolicy.objects.all().delete()
        with committed():  # the platform's rows this journey committed, for the tests after it
            StripeEvent.objects.filter(account_id=account).delete()
            StripeConnection.objects.filter(account_id=account).delete()
