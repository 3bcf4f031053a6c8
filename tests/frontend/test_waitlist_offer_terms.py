"""The waitlist offer as its patient and the desk meet it: the offer page shows online booking's
"Payment and cancellation" box (and says plainly when the time is already inside the cancellation
window), a patient the chain asks a deposit of is sent to the booking pay step, the desk's waitlist
pages say a flagged patient is flagged as the book does, and a time let go says what became of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils.html import escape

from invoicing.checkout.models import OnlineCheckout
from invoicing.checkout.policy import online_payment_policy_set
from invoicing.checkout.selectors import booking_terms
from scheduling import services as sched
from scheduling.book import NO_SHOW_FLAG
from scheduling.models import Appointment, Status, WaitlistPolicy
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup
from tests.helpers import sign_in
from tests.invoicing.checkout_world import connect_stripe
from tests.invoicing.test_no_show_deposit import _missed
from tests.scheduling.waitlist_world import booked_at, cancel, expire_at, join, link_token, offers_of, patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    cache.clear()
    return priced(clinic_setup(in_a))


def _offered(clinic, *who):
    """The patients ``who`` wait, in order; a booked time frees up: the first one's offer."""
    appointment = booked_at(clinic)
    entries = [join(clinic, p) for p in who] or [join(clinic)]
    cancel(clinic, appointment)
    return offers_of(entries[0])[0]


def _page(client, clinic, offer) -> str:
    return client.get(f"/waitlist/offer/{link_token(offer)}/", HTTP_HOST=clinic.chain.host).content.decode()


def test_the_offer_page_shows_the_booking_pages_payment_and_cancellation_box(clinic, client):
    # given an offer of a time days away
    offer = _offered(clinic)

    # when its patient opens the link
    page = _page(client, clinic, offer)

    # then the page shows the price and the box online booking shows, line for line, and no warning about the window
    assert f"{clinic.service}</strong> · £" in page
    assert "Payment and cancellation" in page
    lines = booking_terms(service=clinic.service, branch=clinic.branch).lines
    assert lines
    assert all(escape(line) in page for line in lines)
    assert "hours away" not in page


def test_a_time_inside_the_cancellation_window_says_so_before_it_is_taken(clinic, client):
    # given an offer whose time, by the time its patient opens it, is 3 hours away
    offer = _offered(clinic)
    start = Appointment.objects.get(pk=offer.hold_id).span.lower

    # when the patient opens the link then
    with time_machine.travel(start - timedelta(hours=3), tick=False):
        page = _page(client, clinic, offer)

    # then they read, before taking it, that it cannot be cancelled or changed online
    assert "This visit is less than 24 hours away: once taken it can't be cancelled or changed online" in page
    assert "Take this time" in page
    assert "Payment and cancellation" in page


def test_a_flagged_patient_reads_the_deposit_and_is_sent_to_the_pay_step(
    clinic, client, stripe_fake, django_capture_on_commit_callbacks
):
    # given the chain's rule (a deposit of 15.00 after 2 no-shows) and George, who missed two, offered a time
    connect_stripe(clinic, stripe_fake)
    online_payment_policy_set(actor=clinic.owner, kind="none", no_show_deposit_after=2, no_show_deposit_minor=1500)
    george = patient(clinic, "George")
    _missed(clinic, george, 2)
    with django_capture_on_commit_callbacks(execute=True):
        offer = _offered(clinic, george)

    # when he opens the link, then takes the time
    page = _page(client, clinic, offer)
    with django_capture_on_commit_callbacks(execute=True):
        taken = client.post(f"/waitlist/offer/{link_token(offer)}/accept/", HTTP_HOST=clinic.chain.host)

    # then the box said the deposit asked of him, and why, before he took it
    assert "deposit of" in page
    assert "after 2 missed appointments" in page
    # and he is on the booking pay step of a deposit checkout, the time still a hold of nobody
    checkout = OnlineCheckout.objects.get()
    assert taken["Location"] == f"/book/pay/{checkout.return_token}/"
    assert (checkout.patient_id, checkout.amount_minor) == (george.pk, 1500)
    assert Appointment.objects.get(pk=offer.hold_id).status == Status.HELD
    pay = client.get(taken["Location"], HTTP_HOST=clinic.chain.host)
    assert pay.status_code == 200
    # and his link now says the time is kept for him while he pays, with the way back to pay
    again = _page(client, clinic, offer)
    assert "This time is kept for you" in again
    assert "Go to the payment" in again


def test_the_desk_waitlist_pages_say_a_flagged_patient_is_flagged(clinic, client):
    # given George, who missed two visits (flagged), waiting and offered a time, and Ann, who missed none
    george = patient(clinic, "George")
    _missed(clinic, george, 2)
    ann = patient(clinic, "Ann")
    _offered(clinic, george, ann)
    sign_in(client, clinic.receptionist)
    host = clinic.chain.host

    # when the receptionist reads the list, searches him, picks him, and reads the offers
    listed = client.get(f"/desk/{clinic.branch.pk}/waitlist/", HTTP_HOST=host).content.decode()
    found = client.get(f"/desk/{clinic.branch.pk}/waitlist/?q=George", HTTP_HOST=host).content.decode()
    picked = client.get(f"/desk/{clinic.branch.pk}/waitlist/?patient={george.pk}", HTTP_HOST=host).content.decode()
    offers = client.get(f"/desk/{clinic.branch.pk}/waitlist/offers/", HTTP_HOST=host).content.decode()

    # then each says he is flagged, in the book's words, and Ann is not
    flag = f'{george.last_name}</a> <strong class="no-show-flag">{NO_SHOW_FLAG}</strong>'
    assert flag in listed
    assert flag in found
    assert f"{ann.last_name}</a><br>" in listed
    assert "Flagged for no-shows: missed 2 appointments" in picked
    assert f'{george.last_name} <strong class="no-show-flag">{NO_SHOW_FLAG}</strong>' in offers
    assert f"{ann.last_name} <strong" not in offers


def test_a_declined_time_with_nobody_after_says_nobody_else_could_be_offered_it(clinic, client):
    # given Tom, the only one waiting, offered a time
    tom = _offered(clinic, patient(clinic, "Tom"))

    # when he declines it
    client.post(f"/waitlist/offer/{link_token(tom)}/decline/", HTTP_HOST=clinic.chain.host)

    # then his page says nobody else could be offered it, not that it went to someone
    page = _page(client, clinic, tom)
    assert "nobody else on the list could be offered it now, so it is free to book again" in page
    assert "next person" not in page


def test_a_declined_time_with_someone_after_says_it_went_to_the_next_person(clinic, client):
    # given Una offered a time, and Vic waiting after her
    vic = patient(clinic, "Vic")
    una = _offered(clinic, patient(clinic, "Una"), vic)

    # when she declines it
    client.post(f"/waitlist/offer/{link_token(una)}/decline/", HTTP_HOST=clinic.chain.host)

    # then Vic is offered it, and Una's page says it went to the next person, naming nobody
    page = _page(client, clinic, una)
    assert offers_of(vic.waitlist_entries.get())
    assert "we offered it to the next person on the list" in page
    assert vic.last_name not in page


def test_an_expired_offer_with_nobody_after_says_nobody_else_could_be_offered_it(clinic, client):
    # given an offer to the only waiting patient, expired
    WaitlistPolicy.objects.update_or_create(id=1, defaults={"offers_at_once": 1})
    offer = _offered(clinic)
    with time_machine.travel(expire_at(offer), tick=False):
        sched.waitlist_offers_expire()
        page = _page(client, clinic, offer)

    # then the page says so, not that it went to someone
    assert "This offer has expired" in page
    assert "Nobody else on the list could be offered it now." in page
    assert "next person" not in page
