"""Staff send a patient a link to save a card for the clinic's fees, outside any booking: the service
opens Stripe's setup-mode page (the local fake, the real SDK) and e-mails its link through
notifications; the patient completes it and the card is on file. The API's refusals are its
documented codes, and a refusal opens nothing at Stripe and sends nothing."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from config.errors import PermissionDenied
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.connect.exceptions import StripeNotConnected
from invoicing.exceptions import PatientHasNoEmail
from invoicing.services.card_link import card_link_send, card_link_state
from invoicing.services.cards import card_on_file_get
from notifications.placeholders import local_time
from patients.services import patient_create
from tenants.org.selectors import chain_settings_get
from tests.factories.cards import connected
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe, complete_setup_session
from tests.helpers import assert_error
from tests.invoicing.test_checkout_card_setup import deliver

pytestmark = pytest.mark.django_db

BASE = "/api/v1/invoicing"


def _patient(clinic: Any, email: str = "amelia@example.com") -> Any:
    return patient_create(actor=clinic.owner, first_name="Amelia", last_name="Hart", email=email)


@pytest.fixture
def shop(in_a, stripe_fake: FakeStripe) -> Any:
    clinic = priced(clinic_setup(in_a))
    clinic.account = connected(in_a, stripe_fake)
    return clinic


def test_reception_sends_a_link_the_patient_saves_a_card_on_and_the_card_is_on_file(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given a patient with an e-mail address and no card
    patient = _patient(shop)
    # when reception sends the link
    with django_capture_on_commit_callbacks(execute=True):
        link = card_link_send(actor=shop.receptionist, patient=patient)
    # then Stripe's page is open in setup mode, nothing charged, no booking
    session = stripe_fake.get(shop.account, "checkout.session", link.session_id)
    assert session["mode"] == "setup"
    assert (link.purpose, link.amount_minor) == (CheckoutPurpose.CARD_SETUP, 0)
    assert (link.invoice_id, link.hold_id) == (None, None)
    # and the patient got one e-mail with the link, saying nothing is charged and how long it is open
    [sent] = mail.outbox
    assert sent.to == ["amelia@example.com"]
    assert link.session_url in sent.body
    assert "nothing is charged now" in sent.body.lower()
    # (until when it works: the checkout's expiry, on the chain's clock, as the chain writes times)
    chain = chain_settings_get()
    closes = local_time(link.expires_at, tz=ZoneInfo(chain.default_timezone), language=chain.locale)
    assert closes.time in sent.body
    # and the card page's state shows the open link to copy
    state = card_link_state(actor=shop.receptionist, patient=patient)
    assert (state.can_send, state.email, state.link) == (True, "amelia@example.com", link)
    # when the patient saves a card on it and Stripe's webhook comes
    done = complete_setup_session(stripe_fake, link.session_id, account=shop.account)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(stripe_fake.event("checkout.session.completed", done, account=shop.account))
    # then the card is on file and the link is no longer offered
    card = card_on_file_get(patient.pk)
    assert card is not None
    assert card.last4 == "4242"
    assert OnlineCheckout.objects.get(pk=link.pk).status == CheckoutStatus.CARD_SAVED
    assert card_link_state(actor=shop.receptionist, patient=patient).link is None


def test_no_link_without_an_email_a_connected_stripe_or_the_permission_and_nothing_is_opened_or_sent(
    in_a, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given a clinic whose Stripe account is not connected
    clinic = priced(clinic_setup(in_a))
    patient = _patient(clinic)
    # then sending is refused as not connected
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(StripeNotConnected):
        card_link_send(actor=clinic.receptionist, patient=patient)
    assert card_link_state(actor=clinic.receptionist, patient=patient).can_send is False
    # given Stripe connected, a patient without e-mail is refused, and a doctor may not send
    connected(in_a, stripe_fake)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PatientHasNoEmail):
        card_link_send(actor=clinic.receptionist, patient=_patient(clinic, email=""))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        card_link_send(actor=in_a.users["doctor"], patient=patient)
    # then nothing was opened at Stripe and nothing sent
    assert not OnlineCheckout.objects.exists()
    assert not stripe_fake.calls("POST", "/v1/checkout/sessions")
    assert mail.outbox == []


def test_the_api_sends_the_link_and_answers_its_documented_refusals(
    chain_a, api, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    with schema_context(chain_a.schema):
        clinic = priced(clinic_setup(chain_a))
        patient, no_email = _patient(clinic), _patient(clinic, email="")
    desk = api(chain_a, "receptionist")
    # given Stripe not connected: refused
    assert_error(desk.call("POST", f"{BASE}/patients/{patient.pk}/card/link/"), 409, "stripe_not_connected")
    with schema_context(chain_a.schema):
        connected(chain_a, stripe_fake)
    # a patient without e-mail, and a doctor: refused
    assert_error(desk.call("POST", f"{BASE}/patients/{no_email.pk}/card/link/"), 409, "patient_has_no_email")
    assert_error(api(chain_a, "doctor").call("POST", f"{BASE}/patients/{patient.pk}/card/link/"), 403)
    assert mail.outbox == []
    # when reception sends it
    with django_capture_on_commit_callbacks(execute=True):
        sent = desk.call("POST", f"{BASE}/patients/{patient.pk}/card/link/")
    # then the link is answered and e-mailed
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert set(body) == {"url", "expires_at"}
    [message] = mail.outbox
    assert body["url"] in message.body
    assert message.to == ["amelia@example.com"]
