"""The chain's "deposit from patients with N or more no-shows" (invoicing.checkout.policy): online
booking asks such a patient the deposit once their code proves who they are, even for a service that
asks none, and says why; everyone else books as before; the booking door that takes no payment
refuses them; the rule is said in the terms before anyone is identified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from config.errors import ValidationFailed
from invoicing.checkout.models import CheckoutPurpose, OnlinePaymentPolicy
from invoicing.checkout.policy import deposit_for, online_payment_policy_set
from invoicing.checkout.selectors import booking_terms
from patients.models import Patient
from patients.services import patient_create
from scheduling.exceptions import OnlinePaymentRequired
from scheduling.models import Appointment
from scheduling.no_shows import no_shows_mark
from scheduling.services.online import online_booking_confirm
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe
from tests.invoicing.checkout_world import book as book_online
from tests.invoicing.checkout_world import connect_stripe, visitor

DEPOSIT = 1500
EMAIL = "dora@example.com"


@pytest.fixture
def clinic(in_a, stripe_fake: FakeStripe) -> Clinic:
    """Chain A: a priced service that asks nothing online, Stripe connected, and the rule: a deposit
    of 15.00 from patients with 2 or more no-shows."""
    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)  # type: ignore[attr-defined]
    online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=2, no_show_deposit_minor=DEPOSIT)
    return clinic


def _missed(clinic: Clinic, patient: Patient, times: int) -> None:
    """The patient missed ``times`` visits in the last weeks (marked by the sweep)."""
    for n in range(times):
        start = clinic.at(clinic.days_ahead(-10 - n), 9)
        with time_machine.travel(start - timedelta(days=1), tick=False):  # booked the day before
            book(clinic, start, patient=patient)
        no_shows_mark(now=start + timedelta(minutes=30))


def _dora(clinic: Clinic, missed: int) -> Patient:
    dora = patient_create(actor=clinic.owner, first_name="Dora", last_name="Deposit", email=EMAIL)
    _missed(clinic, dora, missed)
    return dora


def test_a_patient_with_two_no_shows_is_asked_the_deposit_and_told_why(
    clinic, stripe_fake, django_capture_on_commit_callbacks
):
    # given Dora, who missed two visits, booking online a service that asks nothing online
    dora = _dora(clinic, missed=2)
    v = visitor(clinic, django_capture_on_commit_callbacks, email=EMAIL)
    # when she confirms with her code
    with django_capture_on_commit_callbacks(execute=True):
        outcome = book_online(v)
    # then she is sent to pay the rule's deposit first, on the chain's account, and told why
    assert outcome.booking is None
    assert outcome.checkout is not None
    assert outcome.checkout.patient_id == dora.pk
    assert outcome.checkout.purpose == CheckoutPurpose.BOOKING_DEPOSIT
    assert outcome.checkout.amount_minor == DEPOSIT
    assert "asked after 2 missed appointments" in outcome.checkout.description
    assert "deposit of" in outcome.notice
    assert "after 2 missed appointments" in outcome.notice
    assert len(stripe_fake.calls("POST", "/v1/checkout/sessions")) == 1
    # and the time stays a hold until the deposit is paid
    assert Appointment.objects.get(pk=v.hold.pk).patient_id is None


def test_a_patient_below_the_rule_books_at_once_as_before(clinic, stripe_fake, django_capture_on_commit_callbacks):
    # given Dora, who missed one visit only
    _dora(clinic, missed=1)
    v = visitor(clinic, django_capture_on_commit_callbacks, email=EMAIL)
    # when she confirms with her code
    with django_capture_on_commit_callbacks(execute=True):
        outcome = book_online(v)
    # then the time is booked at once, nothing is asked of Stripe
    assert outcome.checkout is None
    assert outcome.booking is not None
    assert outcome.booking.appointment.patient.email == EMAIL
    assert not stripe_fake.calls("POST", "/v1/checkout/sessions")


def test_the_door_that_takes_no_payment_refuses_a_flagged_patient(clinic, django_capture_on_commit_callbacks):
    # given Dora with two no-shows, confirming through the booking door that takes no payment (the API's)
    _dora(clinic, missed=2)
    v = visitor(clinic, django_capture_on_commit_callbacks, email=EMAIL)
    # when she confirms there
    with pytest.raises(OnlinePaymentRequired):
        book_online(v, step=online_booking_confirm)
    # then nothing was booked: the time is still a hold of nobody
    assert Appointment.objects.get(pk=v.hold.pk).patient_id is None


def test_the_deposit_is_the_larger_of_the_services_and_the_rules_and_never_above_the_price(clinic):
    # given Dora with two no-shows and a patient with none
    dora, other = _dora(clinic, missed=2), clinic.patient()
    service, branch = clinic.service, clinic.branch
    # when the deposit is read for each, under a small service deposit, then a rule above the price
    online_payment_policy_set(actor=clinic.owner, kind="fixed", amount_minor=500)
    small = (
        deposit_for(service=service, branch=branch, patient_id=dora.pk),
        deposit_for(service=service, branch=branch, patient_id=other.pk),
    )
    online_payment_policy_set(
        actor=clinic.owner, kind="none", no_show_deposit_after=2, no_show_deposit_minor=PRICE * 10
    )
    capped = deposit_for(service=service, branch=branch, patient_id=dora.pk)
    # then Dora pays the rule's deposit, the other the service's; never more than the price
    assert (small[0].now_minor, small[0].no_shows) == (DEPOSIT, 2)
    assert (small[1].now_minor, small[1].no_shows) == (500, 0)
    assert capped.now_minor == capped.price_minor


def test_the_terms_say_the_rule_before_anyone_is_identified(clinic):
    # given the rule of 2 no-shows and 15.00
    # when the booking page reads the terms of a service that asks nothing online
    terms = booking_terms(service=clinic.service, branch=clinic.branch)
    # then the rule is said in a sentence, with the period
    said = [line for line in terms.lines if "missed 2 or more appointments" in line]
    assert len(said) == 1
    assert "in the last 12 months pay a deposit of" in said[0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"no_show_deposit_after": 2, "no_show_deposit_minor": 0}, "no_show_deposit_minor"),
        ({"no_show_deposit_after": 21, "no_show_deposit_minor": 100}, "no_show_deposit_after"),
    ],
)
def test_a_rule_without_a_deposit_or_beyond_bounds_is_refused_and_changes_nothing(clinic, changes: Any, field: str):
    # given the rule of 2 no-shows and 15.00
    # when an owner sets a rule with no amount, or too many no-shows
    with pytest.raises(ValidationFailed) as refused:
        online_payment_policy_set(actor=clinic.owner, kind="none", **changes)
    # then it is refused on that field and the rule stands
    assert field in refused.value.fields
    chain = OnlinePaymentPolicy.objects.get(service__isnull=True)
    assert (chain.no_show_deposit_after, chain.no_show_deposit_minor) == (2, DEPOSIT)


def test_saving_the_policy_without_the_rule_keeps_it(clinic):
    # given the rule of 2 no-shows and 15.00
    # when an owner changes the deposit kind only (the rule left out)
    online_payment_policy_set(actor=clinic.owner, kind="fixed", amount_minor=700)
    # then the rule is kept; 0 no-shows turns it off
    chain = OnlinePaymentPolicy.objects.get(service__isnull=True)
    assert (chain.no_show_deposit_after, chain.no_show_deposit_minor) == (2, DEPOSIT)
    online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=0, no_show_deposit_minor=0)
    chain.refresh_from_db()
    assert (chain.no_show_deposit_after, chain.no_show_deposit_minor) == (0, 0)
