"""A waitlist offer's patient who pays online first (a deposit after no-shows): a time given back
unpaid is not theirs on a second try, and they wait again; one who leaves the list while paying
does not wait again when it lapses; one whose payment comes after the kept time was booked by the
desk is refunded and waits again in their place."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutStatus
from invoicing.checkout.policy import online_payment_policy_set
from scheduling import services as sched
from scheduling.exceptions import WaitlistOfferClosed
from scheduling.models import Appointment, Status, WaitlistStatus
from tests.factories.scheduling import book
from tests.fakes.stripe_server import pay_checkout_session
from tests.scheduling.test_waitlist_deposit import _both_offered
from tests.scheduling.test_waitlist_deposit import clinic as clinic
from tests.scheduling.waitlist_world import link_token, patient

pytestmark = pytest.mark.django_db


def _unpaid(clinic, capture):
    """George (flagged) took the offer to pay the deposit and did not: the kept time was given back."""
    (george, _), (offer, _) = _both_offered(clinic, capture)
    token = link_token(offer)
    with capture(execute=True):
        taken = checkout.waitlist_offer_checkout(token=token)
    checkout.checkout_lapse(checkout_id=taken.checkout.pk)
    assert Appointment.objects.get(pk=taken.checkout.hold_id).status == Status.CANCELLED
    return george, token


def test_taking_an_offer_again_after_its_unpaid_time_was_given_back_is_refused(
    clinic, django_capture_on_commit_callbacks
):
    # given George's kept time was given back unpaid, and the chain no longer asks him a deposit
    george, token = _unpaid(clinic, django_capture_on_commit_callbacks)
    online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=0, no_show_deposit_minor=0)
    # when he takes the offer again (a stale page, a second click), through the page's door or the service's
    # then he is told it is closed, and nothing is booked for him
    with pytest.raises(WaitlistOfferClosed), django_capture_on_commit_callbacks(execute=True):
        checkout.waitlist_offer_checkout(token=token)
    with pytest.raises(WaitlistOfferClosed):
        sched.waitlist_offer_accept(token=token)
    george.refresh_from_db()
    assert (george.status, george.appointment_id) == (WaitlistStatus.WAITING, None)


def test_the_offer_page_after_the_unpaid_time_was_given_back_books_nothing(
    clinic, client, django_capture_on_commit_callbacks
):
    # given George's kept time was given back unpaid, and nothing is asked of him any more
    _, token = _unpaid(clinic, django_capture_on_commit_callbacks)
    online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=0, no_show_deposit_minor=0)
    # when he presses "Take this time" on the offer's page again
    response = client.post(f"/waitlist/offer/{token}/accept/", HTTP_HOST=clinic.chain.host)
    # then he stays on the offer's page, which does not speak of a booking link
    assert response.status_code == 302
    assert "/book/manage/" not in response["Location"]
    shown = client.get(response["Location"], HTTP_HOST=clinic.chain.host).content.decode()
    assert "booking link" not in shown


def test_a_patient_who_left_while_paying_does_not_wait_again_when_unpaid(clinic, django_capture_on_commit_callbacks):
    # given George took the offer to pay the deposit
    (george, _), (offer, _) = _both_offered(clinic, django_capture_on_commit_callbacks)
    token = link_token(offer)
    with django_capture_on_commit_callbacks(execute=True):
        taken = checkout.waitlist_offer_checkout(token=token)
    # when he leaves the list by the offer's link ("We will not offer you any more times.")
    sched.waitlist_leave(token=token)
    # and then does not pay
    checkout.checkout_lapse(checkout_id=taken.checkout.pk)
    # then he is not back on the list
    george.refresh_from_db()
    assert george.status != WaitlistStatus.WAITING


def test_paid_after_the_kept_time_ran_out_and_was_booked_by_the_desk_refunds_and_the_patient_waits_again(
    clinic, stripe_fake, django_capture_on_commit_callbacks
):
    # given George (flagged) took the offer and went to pay
    (george, _), (offer, _) = _both_offered(clinic, django_capture_on_commit_callbacks)
    token = link_token(offer)
    with django_capture_on_commit_callbacks(execute=True):
        taken = checkout.waitlist_offer_checkout(token=token)
    hold = Appointment.objects.get(pk=taken.checkout.hold_id)
    pay_checkout_session(stripe_fake, taken.checkout.session_id, account=clinic.account)
    # when the kept time runs out, the desk books someone else at that time, and then the payment is read
    with time_machine.travel(hold.hold_expires_at + timedelta(minutes=1), tick=False):
        other = patient(clinic, "Walkin")
        with django_capture_on_commit_callbacks(execute=True):
            book(clinic, hold.span.lower, doctor=clinic.doctors[0], actor=clinic.owner, patient=other)
        with django_capture_on_commit_callbacks(execute=True):
            settled = checkout.checkout_settle(checkout_id=taken.checkout.pk)
    # then the payment is refunded, and George is back on the list as for an unpaid time (not left
    # closed as "booked" for a time he does not have)
    assert settled.status == CheckoutStatus.REFUNDED
    george.refresh_from_db()
    assert (george.status, george.appointment_id) == (WaitlistStatus.WAITING, None)
