"""Cards on file in tests: the chain's Stripe account connected at the fake, a card saved through
the real service as Stripe's page would leave it (a payment method attached to the patient's customer)."""

from __future__ import annotations

from invoicing.cards import SavedCard
from invoicing.connect.services import connect_onboarding_start, connection_sync
from invoicing.services.cards import card_on_file_save, stripe_customer_for
from patients.models import Patient
from tests.factories import Chain
from tests.fakes.stripe_server import FakeStripe, save_card


def connected(chain: Chain, fake: FakeStripe) -> str:
    """The chain's Stripe account, onboarded and able to take charges: its id."""
    connection = connect_onboarding_start(actor=chain.users["owner"])
    fake.complete_onboarding(connection.account_id)
    connection_sync(account_id=connection.account_id)
    return connection.account_id


def card_saved(patient: Patient, fake: FakeStripe, test_card: str = "pm_card_visa") -> SavedCard:
    """The patient saved ``test_card`` on Stripe's page and the webhook saved it on file (no actor)."""
    customer = stripe_customer_for(patient)
    method = save_card(fake, account=customer.account_id, customer=customer.customer_id, test_card=test_card)
    return card_on_file_save(actor=None, patient=patient, payment_method_id=method)
