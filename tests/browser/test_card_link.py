"""Reception sends a patient a link to save a card from the card page at 1024x768 (Stripe connected,
the local fake): the page says it was e-mailed and shows the link to copy; the patient saves a card on
Stripe's page (the fake's hosted page) and the card page shows it. Screenshots and axe."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients.services import patient_create
from tenants.models import StripeConnection, StripeEvent
from tests.browser.conftest import sign_in
from tests.factories.scheduling import clinic_setup
from tests.helpers import committed
from tests.invoicing.checkout_world import connect_stripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}


def test_reception_sends_a_card_link_and_the_card_the_patient_saves_shows(
    page, live, live_server_port, browser_chain, stripe_server, shot, axe
):
    cache.clear()
    with committed(), schema_context(browser_chain.schema):
        clinic = clinic_setup(browser_chain, doctors=1)
        account = connect_stripe(clinic, stripe_server)
        patient = patient_create(
            actor=clinic.owner, first_name="Harry", last_name="Linkwell", email="harry.linkwell@example.com"
        )
    stripe_server.checkout_webhook = (
        f"http://localhost:{live_server_port}/stripe/connect/webhook/",
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        None,
    )
    try:
        # given reception on the patient's card page at the desk's size
        page.set_viewport_size(DESK)
        sign_in(page, live, browser_chain.users["receptionist"].email)
        page.goto(f"{live}/patients/{patient.pk}/card/")
        expect(page.get_by_text("No card on file.")).to_be_visible()
        # when she sends the link
        page.get_by_role("button", name="Send the patient a link to save a card").click()
        # then the page says where it went and shows the link to copy
        expect(page.get_by_text("A link to save a card was e-mailed to harry.linkwell@example.com.")).to_be_visible()
        link = page.get_by_label(re.compile("^Link to copy"))
        expect(link).to_be_visible()
        shot("card-link-sent")
        axe("card page with a link sent")
        url = link.input_value()
        # when the patient opens it and saves a card on Stripe's page
        page.goto(url)
        page.get_by_role("button", name="Save card").click()
        page.wait_for_load_state()
        # then reception sees the card on file
        page.goto(f"{live}/patients/{patient.pk}/card/")
        expect(page.get_by_text(re.compile("^Visa ending 4242"))).to_be_visible()
        shot("card-link-card-saved")
        axe("card page with the card saved by the link")
    finally:
        stripe_server.checkout_webhook = None
        with committed():  # the platform's rows this journey committed, for the tests after it
            StripeEvent.objects.filter(account_id=account).delete()
            StripeConnection.objects.filter(account_id=account).delete()
