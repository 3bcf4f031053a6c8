"""The card page (/patients/<pk>/card/): staff send the patient a link to save a card (e-mailed by the
service, shown to copy), the page says so when Stripe is not connected or the patient has no
e-mail, and its words say how a card is saved today (at booking when the clinic asks, or by the link)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from invoicing.checkout.models import OnlineCheckout
from patients.services import patient_create
from tests.factories import Chain
from tests.factories.cards import connected
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe, complete_setup_session
from tests.helpers import sign_in
from tests.invoicing.test_checkout_card_setup import deliver

pytestmark = pytest.mark.django_db

SEND = "Send the patient a link to save a card"


@pytest.fixture
def clinic(in_a: Chain) -> Any:
    return priced(clinic_setup(in_a, doctors=1))


def _patient(clinic: Any, email: str = "amelia@example.com") -> Any:
    return patient_create(actor=clinic.owner, first_name="Amelia", last_name="Hart", email=email)


def test_reception_sends_the_link_from_the_card_page_sees_it_to_copy_and_the_saved_card_shows(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given Stripe connected and a patient with an e-mail address and no card
    account = connected(in_a, stripe_fake)
    patient = _patient(clinic)
    url = f"/patients/{patient.pk}/card/"
    sign_in(client, in_a.users["receptionist"])
    page = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert SEND in page
    assert "The link goes by e-mail to amelia@example.com." in page
    # when reception sends the link
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"action": "send_link"}, HTTP_HOST=in_a.host, follow=True)
    # then the patient got it by e-mail, and the page says so and shows it to copy
    link = OnlineCheckout.objects.get()
    [message] = mail.outbox
    assert link.session_url in message.body
    html = sent.content.decode()
    assert "A link to save a card was e-mailed to amelia@example.com." in html
    assert f'readonly value="{link.session_url}"' in html
    assert '<label for="card-link-url">Link to copy' in html
    # when the patient saves a card on Stripe's page
    done = complete_setup_session(stripe_fake, link.session_id, account=account)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(stripe_fake.event("checkout.session.completed", done, account=account))
    # then the card page shows the card, and no longer the used link
    html = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert "Visa ending 4242" in html
    assert link.session_url not in html
    assert "Link to save another card" in html


def test_without_stripe_connected_the_card_page_says_so_instead_of_offering_the_link(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe
):
    # given the chain's Stripe account is not connected
    patient = _patient(clinic)
    sign_in(client, in_a.users["receptionist"])
    # when reception opens the card page
    html = client.get(f"/patients/{patient.pk}/card/", HTTP_HOST=in_a.host).content.decode()
    # then it says no link can be sent, and offers none
    assert "the clinic's Stripe account is not connected yet, so no link can be" in html
    assert SEND not in html
    # and a POST anyway sends nothing, opens nothing, and says why
    refused = client.post(
        f"/patients/{patient.pk}/card/", {"action": "send_link"}, HTTP_HOST=in_a.host, follow=True
    ).content.decode()
    assert "Stripe" in refused
    assert not OnlineCheckout.objects.exists()
    assert mail.outbox == []


def test_a_patient_without_email_gets_no_send_button_but_a_way_to_add_one(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe
):
    connected(in_a, stripe_fake)
    patient = _patient(clinic, email="")
    sign_in(client, in_a.users["receptionist"])
    html = client.get(f"/patients/{patient.pk}/card/", HTTP_HOST=in_a.host).content.decode()
    assert SEND not in html
    assert "No e-mail address on file to send it to." in html
    assert f'href="/patients/{patient.pk}/edit/"' in html


def test_the_card_page_says_a_card_is_saved_at_booking_when_asked_or_by_the_link_not_only_with_a_deposit(
    clinic, in_a: Chain, client: Any
):
    # given a patient without a card
    patient = _patient(clinic)
    sign_in(client, in_a.users["receptionist"])
    # when the card page is read
    html = client.get(f"/patients/{patient.pk}/card/", HTTP_HOST=in_a.host).content.decode()
    # then it names today's ways: booking online when the clinic asks for a card or a deposit, or a link sent
    assert "No card on file." in html
    assert "when booking online with a deposit" not in html
    assert "(if the clinic asks for a card or a deposit)" in html
    assert "from a link the clinic sends" in html
