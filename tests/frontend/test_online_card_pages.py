"""The online booking's pay step and the page back from Stripe when the chain asks for a card and
nothing is due now: the patient saves a card (nothing charged) to confirm the booking."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from invoicing.checkout.models import CheckoutPurpose
from invoicing.checkout.policy import online_payment_policy_set
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe, complete_setup_session, expire_checkout_session
from tests.helpers import sign_in
from tests.invoicing.checkout_world import book, connect_stripe, visitor


@pytest.fixture
def started(in_a, stripe_fake: FakeStripe, django_capture_on_commit_callbacks) -> Any:
    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)
    online_payment_policy_set(actor=clinic.owner, kind="none", ask_for_card=True)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = book(visitor(clinic, django_capture_on_commit_callbacks))
    assert outcome.checkout is not None
    assert outcome.checkout.purpose == CheckoutPurpose.CARD_SETUP
    return clinic, outcome.checkout


def test_the_pay_step_asks_to_save_a_card_and_charges_nothing(in_a, started):
    # given a booking waiting for a card
    _, checkout = started
    # when the visitor opens the pay step
    page = Client(HTTP_HOST=in_a.host).get(f"/book/pay/{checkout.return_token}/")
    # then it asks for a card, says nothing is charged now and what the fees may take, and links Stripe's page
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Save a card</h1>" in html
    assert "Save a card (nothing is charged now; the clinic's late-cancellation or no-show fee" in html
    assert "Charged now" in html
    assert "75.00" in html  # the price, paid at the visit
    assert "Due now, online" not in html
    assert f"{checkout.hold.branch.timezone}." in html
    assert f'href="{checkout.session_url}">Save a card</a>' in html


def test_back_from_stripe_the_card_is_saved_and_the_booking_confirmed(
    in_a, started, stripe_fake, django_capture_on_commit_callbacks
):
    # given the visitor saved a card on Stripe's page
    clinic, checkout = started
    complete_setup_session(stripe_fake, checkout.session_id, account=clinic.account)
    browser = Client(HTTP_HOST=in_a.host)
    # when they come back to the clinic's site
    with django_capture_on_commit_callbacks(execute=True):
        back = browser.get(f"/book/paid/{checkout.return_token}/")
    # then the card is saved and the booking confirmed, with a link to it; nothing was charged
    html = back.content.decode()
    assert "Card saved, booking confirmed" in html
    assert "Nothing was charged" in html
    manage = html.split('href="/book/manage/')[1].split('"')[0]
    booking = browser.get(f"/book/manage/{manage}")
    assert booking.status_code == 200
    assert "Deposit paid" not in booking.content.decode()


def test_before_the_card_arrives_the_page_waits_and_an_expired_setup_says_the_time_was_released(
    in_a, started, stripe_fake
):
    clinic, checkout = started
    browser = Client(HTTP_HOST=in_a.host)
    assert "Waiting for your card" in browser.get(f"/book/paid/{checkout.return_token}/").content.decode()
    # when Stripe expired the session
    expire_checkout_session(stripe_fake, checkout.session_id, account=clinic.account)
    html = browser.get(f"/book/paid/{checkout.return_token}/").content.decode()
    # then the visitor is told nothing was kept or charged, and may choose again
    assert "The card was not saved in time" in html
    assert "nothing was charged" in html
    pay = browser.get(f"/book/pay/{checkout.return_token}/").content.decode()
    assert "The card was not saved in time: the time was released." in pay


def test_the_owner_reads_what_asking_for_a_card_does(in_a, client):
    sign_in(client, in_a.users["owner"])
    page = client.get("/settings/payments/online/", HTTP_HOST=in_a.host).content.decode()
    assert "Ask for a card at online booking" in page
    assert "the patient saves a card on Stripe&#x27;s page to confirm (nothing is charged then)" in page


def test_a_link_staff_sent_asks_for_a_card_and_says_when_it_is_saved(
    in_a, stripe_fake, django_capture_on_commit_callbacks
):
    from invoicing.checkout.services import card_setup_link

    # given a link reception sent a patient to save a card (no booking)
    clinic = clinic_setup(in_a)
    account = connect_stripe(clinic, stripe_fake)
    link = card_setup_link(actor=clinic.receptionist, patient=clinic.patient())
    browser = Client(HTTP_HOST=in_a.host)
    # when the patient opens its page on the clinic's site
    html = browser.get(f"/book/pay/{link.return_token}/").content.decode()
    # then it asks for a card, charges nothing and says how long the link stays open
    assert "<h1>Save a card</h1>" in html
    assert "This link stays open until" in html
    assert "Due at the visit" not in html
    # when the patient saved a card on Stripe's page and comes back
    complete_setup_session(stripe_fake, link.session_id, account=account)
    with django_capture_on_commit_callbacks(execute=True):
        back = browser.get(f"/book/paid/{link.return_token}/").content.decode()
    # then the page says the card is saved and nothing charged (no booking is named)
    assert "<h1>Card saved</h1>" in back
    assert "Nothing was charged" in back
    assert "booking confirmed" not in back
