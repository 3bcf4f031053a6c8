"""A waitlist offer taken by a patient the chain asks a deposit of (its "deposit after N no-shows"
rule): the time is theirs, kept as a hold while they pay on the same pay step as online booking,
and booked once the deposit is recorded; the first to accept still gets it; a patient the rule does
not reach books at once, as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine

from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.checkout.policy import online_payment_policy_set
from scheduling import services as sched
from scheduling.exceptions import WaitlistOfferClosed, WaitlistOfferTaken
from scheduling.models import Appointment, OfferStatus, Status, WaitlistFreedTime, WaitlistPolicy, WaitlistStatus
from scheduling.waitlist import waitlist_freed_said, waitlist_offer_read
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.invoicing.checkout_world import connect_stripe
from tests.invoicing.test_no_show_deposit import _missed
from tests.scheduling.waitlist_world import DAY, booked_at, cancel, expire_at, join, link_token, offers_of, patient

pytestmark = pytest.mark.django_db

DEPOSIT = 1500


@pytest.fixture
def clinic(in_a, stripe_fake: FakeStripe) -> Iterator[Clinic]:
    """A priced service that asks nothing online, Stripe connected, and the chain's rule: a deposit
    of 15.00 from patients with 2 or more no-shows; two patients offered each freed time at once.
    The test runs from 10:00 on the branch's clock two days before the waited-for day, outside
    quiet hours, so an offer is held from the moment it is made."""
    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)  # type: ignore[attr-defined]
    online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=2, no_show_deposit_minor=DEPOSIT)
    WaitlistPolicy.objects.update_or_create(id=1, defaults={"offers_at_once": 2})
    with clinic.morning_of(DAY - timedelta(days=2)):
        yield clinic


def _both_offered(clinic: Clinic, capture):
    """George (2 no-shows) and Ben (none) wait, George first; a booked time frees up and both are
    offered it. Returns their entries and offers."""
    george = patient(clinic, "George")
    _missed(clinic, george, 2)
    appointment = booked_at(clinic)
    entries = join(clinic, george), join(clinic, patient(clinic, "Ben"))
    with capture(execute=True):
        cancel(clinic, appointment)
    return entries, [offers_of(entry)[0] for entry in entries]


def test_a_flagged_patient_taking_an_offer_pays_the_deposit_first_and_is_booked_once_paid(
    clinic, stripe_fake, django_capture_on_commit_callbacks
):
    # given George, flagged, offered a freed time
    (george, _ben), (offer, _other) = _both_offered(clinic, django_capture_on_commit_callbacks)
    token = link_token(offer)

    # when he takes it
    with django_capture_on_commit_callbacks(execute=True):
        taken = checkout.waitlist_offer_checkout(token=token)

    # then he is sent to pay the rule's deposit first, and told why; the time is not booked yet
    assert taken.booking is None
    assert taken.checkout is not None
    assert (taken.checkout.patient_id, taken.checkout.amount_minor) == (george.patient_id, DEPOSIT)
    assert taken.checkout.purpose == CheckoutPurpose.BOOKING_DEPOSIT
    assert "after 2 missed appointments" in taken.notice
    hold = Appointment.objects.get(pk=taken.checkout.hold_id)
    assert (hold.status, hold.patient_id) == (Status.HELD, None)
    # and the hold is kept as long as the payment page stays open, past the offer's own expiry
    assert hold.hold_expires_at >= taken.checkout.expires_at > expire_at(offer)
    assert waitlist_offer_read(token=token).state == "paying"
    # and the desk reads that he took it and pays online, not that he is booked
    freed = WaitlistFreedTime.objects.get(hold_id=offer.hold_id)
    assert f"{george.patient.first_name} {george.patient.last_name} (accepted: kept for them until" in (
        waitlist_freed_said(freed=freed)
    )

    # when the offer's time runs out while he pays, the expiry task runs, and then he pays
    with time_machine.travel(expire_at(offer) + timedelta(minutes=5), tick=False):
        sched.waitlist_offers_expire()
        pay_checkout_session(stripe_fake, taken.checkout.session_id, account=clinic.account)
        with django_capture_on_commit_callbacks(execute=True):
            checkout.checkout_settle(checkout_id=taken.checkout.pk)

    # then the time is his booking, his entry closed, and his link says he took it
    hold.refresh_from_db()
    george.refresh_from_db()
    assert (hold.status, hold.patient_id) == (Status.BOOKED, george.patient_id)
    assert OnlineCheckout.objects.get(pk=taken.checkout.pk).status == CheckoutStatus.PAID
    assert (george.status, george.appointment_id) == (WaitlistStatus.BOOKED, hold.pk)
    assert waitlist_offer_read(token=token).state == "accepted"


def test_while_the_flagged_patient_pays_the_other_offered_patient_is_told_it_is_taken(
    clinic, django_capture_on_commit_callbacks
):
    # given George (flagged) and Ben offered the same time, and George gone to pay the deposit
    (_george, ben), (offer, other) = _both_offered(clinic, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        first = checkout.waitlist_offer_checkout(token=link_token(offer))

    # when Ben takes it meanwhile
    with pytest.raises(WaitlistOfferTaken):
        checkout.waitlist_offer_checkout(token=link_token(other))

    # then the time stays George's hold, Ben stays on the list; George taking it again is the same checkout
    ben.refresh_from_db()
    assert ben.status == WaitlistStatus.WAITING
    assert type(other).objects.get(pk=other.pk).status == OfferStatus.TAKEN
    with django_capture_on_commit_callbacks(execute=True):
        again = checkout.waitlist_offer_checkout(token=link_token(offer))
    assert again.checkout is not None
    assert again.checkout.pk == first.checkout.pk
    assert OnlineCheckout.objects.count() == 1
    # and the door that takes no payment does not book it for him
    with pytest.raises(WaitlistOfferClosed):
        sched.waitlist_offer_accept(token=link_token(offer))
    assert Appointment.objects.get(pk=first.checkout.hold_id).status == Status.HELD


def test_when_the_other_patient_took_it_first_the_flagged_patient_is_asked_nothing(
    clinic, stripe_fake, django_capture_on_commit_callbacks
):
    # given George (flagged) and Ben offered the same time, and Ben, whom the rule does not reach, taking it first
    (_george, ben), (offer, other) = _both_offered(clinic, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        taken = checkout.waitlist_offer_checkout(token=link_token(other))
    assert taken.booking is not None  # booked at once, as before
    assert taken.booking.appointment.patient_id == ben.patient_id

    # when George takes it after
    with pytest.raises(WaitlistOfferTaken):
        checkout.waitlist_offer_checkout(token=link_token(offer))

    # then nothing is asked of him at Stripe and no checkout waits
    assert not stripe_fake.calls("POST", "/v1/checkout/sessions")
    assert not OnlineCheckout.objects.exists()


def test_a_flagged_patient_who_does_not_pay_waits_again_and_the_time_is_given_back(
    clinic, django_capture_on_commit_callbacks
):
    # given George (flagged) gone to pay the deposit of an offered time
    (george, _ben), (offer, _other) = _both_offered(clinic, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        taken = checkout.waitlist_offer_checkout(token=link_token(offer))

    # when the checkout lapses unpaid
    checkout.checkout_lapse(checkout_id=taken.checkout.pk)

    # then the time is given back, nobody booked, and George waits again in his place; his link says so
    hold = Appointment.objects.get(pk=taken.checkout.hold_id)
    assert (hold.status, hold.patient_id) == (Status.CANCELLED, None)
    george.refresh_from_db()
    assert (george.status, george.appointment_id, george.closed_at) == (WaitlistStatus.WAITING, None, None)
    assert waitlist_offer_read(token=link_token(offer)).state == "unpaid"
    freed = WaitlistFreedTime.objects.get(hold_id=offer.hold_id)
    assert "(accepted, not paid online in time: given back)" in waitlist_freed_said(freed=freed)
