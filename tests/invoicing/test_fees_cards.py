"""Cards on file: one Stripe customer per patient on the chain's account, the card re-read from
Stripe (never taken from the caller), one live card with the replaced ones kept as history."""

from __future__ import annotations

import pytest

from config.errors import PermissionDenied
from invoicing.cards import SavedCard, StripeCustomer
from invoicing.connect.client import idempotency_key
from invoicing.connect.exceptions import StripeNotConnected
from invoicing.exceptions import CardNotUsable, NoCardOnFile
from invoicing.services.cards import card_on_file, card_on_file_remove, card_on_file_save, stripe_customer_for
from tests.factories.cards import card_saved, connected
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(in_a, stripe_fake: FakeStripe) -> str:
    return connected(in_a, stripe_fake)


def test_a_patient_gets_one_customer_on_the_chains_account(in_a, account, stripe_fake):
    # given a patient
    patient = clinic_setup(in_a, doctors=1).patient()
    # when the customer is asked for twice
    first = stripe_customer_for(patient)
    again = stripe_customer_for(patient)
    # then one customer was made, on the connected account, with a key from the patient's row
    assert first.pk == again.pk
    creates = stripe_fake.calls("POST", "/v1/customers")
    assert len(creates) == 1
    assert creates[0][2] == account
    assert creates[0][3] == idempotency_key("customer", account, patient.pk)
    assert stripe_fake.get(account, "customer", first.customer_id)["metadata"]["patient_id"] == str(patient.pk)


def test_the_card_is_read_from_stripe_and_replacing_keeps_the_history(in_a, account, stripe_fake):
    # given a patient with a visa on file
    patient = clinic_setup(in_a, doctors=1).patient()
    visa = card_saved(patient, stripe_fake, "pm_card_visa")
    assert (visa.brand, visa.last4, visa.exp_month) == ("visa", "4242", 12)
    # when a mastercard is saved through the desk
    master = card_saved(patient, stripe_fake, "pm_card_mastercard")
    # then the mastercard is the one live card; the visa stays as history, removed
    assert card_on_file(actor=in_a.users["receptionist"], patient=patient) == master
    visa.refresh_from_db()
    assert visa.removed_at is not None
    assert visa.removed_reason == "replaced"
    assert SavedCard.objects.filter(patient=patient).count() == 2
    assert visa.history.count() == 2
    # and saving the live card again changes nothing
    assert card_on_file_save(actor=None, patient=patient, payment_method_id=master.payment_method_id) == master
    assert SavedCard.objects.filter(patient=patient).count() == 2


def test_an_unattached_test_card_is_attached_to_the_patients_customer(in_a, account, stripe_fake):
    # given a patient's customer
    patient = clinic_setup(in_a, doctors=1).patient()
    customer = stripe_customer_for(patient)
    # when a payment method nobody attached is saved
    card = card_on_file_save(actor=in_a.users["owner"], patient=patient, payment_method_id="pm_card_amex")
    # then Stripe attached a new card to the customer and that card is on file
    assert card.payment_method_id != "pm_card_amex"
    assert stripe_fake.get(account, "payment_method", card.payment_method_id)["customer"] == customer.customer_id
    assert (card.brand, card.last4) == ("amex", "8431")


def test_another_patients_card_is_refused(in_a, account, stripe_fake):
    # given two patients, the first with a card
    clinic = clinic_setup(in_a, doctors=1)
    first, second = clinic.patient(), clinic.patient()
    theirs = card_saved(first, stripe_fake)
    # when the first's card is saved for the second
    with pytest.raises(CardNotUsable):
        card_on_file_save(actor=None, patient=second, payment_method_id=theirs.payment_method_id)
    # then the second has no card
    assert not SavedCard.objects.filter(patient=second).exists()


def test_an_unknown_payment_method_is_refused(in_a, account, stripe_fake):
    patient = clinic_setup(in_a, doctors=1).patient()
    with pytest.raises(CardNotUsable):
        card_on_file_save(actor=None, patient=patient, payment_method_id="pm_nothing_here")
    assert not SavedCard.objects.filter(patient=patient).exists()


def test_removing_the_card_keeps_it_as_history_and_a_doctor_may_not(in_a, account, stripe_fake):
    # given a patient with a card
    patient = clinic_setup(in_a, doctors=1).patient()
    card = card_saved(patient, stripe_fake)
    # when a doctor tries to remove it, then she is refused and the card stays
    with pytest.raises(PermissionDenied):
        card_on_file_remove(actor=in_a.users["doctor"], patient=patient)
    with pytest.raises(PermissionDenied):
        card_on_file(actor=in_a.users["doctor"], patient=patient)
    card.refresh_from_db()
    assert card.removed_at is None
    # when reception removes it (the patient asked)
    card_on_file_remove(actor=in_a.users["receptionist"], patient=patient, reason="Patient asked")
    # then there is no live card, the row remains with the reason
    assert card_on_file(actor=in_a.users["owner"], patient=patient) is None
    card.refresh_from_db()
    assert card.removed_reason == "Patient asked"
    with pytest.raises(NoCardOnFile):
        card_on_file_remove(actor=in_a.users["receptionist"], patient=patient)


def test_no_customer_without_a_connected_account(in_a, stripe_fake):
    patient = clinic_setup(in_a, doctors=1).patient()
    with pytest.raises(StripeNotConnected):
        stripe_customer_for(patient)
    assert not StripeCustomer.objects.exists()
    assert not stripe_fake.calls("POST", "/v1/customers")
