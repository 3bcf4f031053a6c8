"""A card saved at online booking when the chain asks for one and nothing is due now: the hold waits
for a Checkout Session in setup mode on the chain's connected account (the local fake, the real SDK,
the real Connect webhook); the completed setup keeps the card on file and books the time once,
whatever arrives and in whatever order; an expired or abandoned one gives the time back."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from config.events import subscribe
from invoicing.cards import SavedCard
from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.checkout.policy import online_payment_policy_set
from invoicing.checkout.selectors import booking_terms
from invoicing.models import Invoice, Payment
from invoicing.services.cards import card_on_file_get
from scheduling.events import AppointmentBooked
from scheduling.exceptions import OnlinePaymentRequired
from scheduling.models import Appointment, Status
from scheduling.services import appointment_hold_lapse
from scheduling.services.online import online_booking_confirm
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book
from tests.fakes.stripe_server import FakeStripe, complete_setup_session, expire_checkout_session
from tests.invoicing.checkout_world import book as book_online
from tests.invoicing.checkout_world import connect_stripe, opened_once_on_the_chains_account, visitor
from tests.invoicing.test_connect_webhook import deliver as deliver_to_webhook


@pytest.fixture
def card_shop(in_a, stripe_fake: FakeStripe) -> Any:
    """Chain A: a priced service, Stripe connected, nothing paid online, a card asked at booking."""
    from tests.factories.scheduling import clinic_setup

    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)
    online_payment_policy_set(actor=clinic.owner, kind="none", ask_for_card=True)
    return clinic


def _started(shop: Any, capture: Any, hour: int = 10, email: str = "dora@example.com") -> OnlineCheckout:
    with capture(execute=True):
        started = book_online(visitor(shop, capture, hour=hour, email=email))
    assert started.booking is None
    assert started.checkout is not None
    return started.checkout


def deliver(event: dict[str, Any]) -> Any:
    schema = connection.schema_name
    try:
        return deliver_to_webhook(event)
    finally:
        connection.set_schema(schema)


def test_a_booking_that_pays_nothing_now_waits_for_a_card_saved_at_stripe(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    # when a visitor confirms their details and code
    started = _started(card_shop, django_capture_on_commit_callbacks)
    # then a card setup waits, charging nothing and invoicing nothing, and the time stays held
    assert (started.purpose, started.amount_minor, started.invoice_id) == (CheckoutPurpose.CARD_SETUP, 0, None)
    assert started.status == CheckoutStatus.OPEN
    assert Appointment.objects.get(pk=started.hold_id).status == Status.HELD
    assert not Invoice.objects.exists()
    # and Stripe has a session in setup mode on the chain's account, for the patient's Customer,
    # created with a key named after our row
    session = stripe_fake.get(card_shop.account, "checkout.session", started.session_id)
    assert (session["mode"], session["amount_total"]) == ("setup", 0)
    assert session["customer"].startswith("cus_")
    assert started.setup_intent_id == session["setup_intent"]
    assert session["success_url"].endswith(f"/book/paid/{started.return_token}/")
    # and a retry opens nothing new
    opened_once_on_the_chains_account(stripe_fake, card_shop, started)


def test_a_saved_card_is_kept_once_and_books_once_whatever_arrives_in_any_order(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a card setup the visitor completed at Stripe; someone listens for bookings
    started = _started(card_shop, django_capture_on_commit_callbacks)
    booked: list[AppointmentBooked] = []
    subscribe(AppointmentBooked, booked.append)
    session = complete_setup_session(stripe_fake, started.session_id, account=card_shop.account)
    completed = stripe_fake.event("checkout.session.completed", session, account=card_shop.account)
    stale = stripe_fake.event("checkout.session.completed", dict(session, status="open"), account=card_shop.account)
    # when the webhook comes twice, a stale snapshot, the return page and the sweep
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [deliver(completed).json()["outcome"], deliver(completed).json()["outcome"]]
        outcomes.append(deliver(stale).json()["outcome"])
        back = checkout.checkout_return(token=started.return_token)
        checkout.checkouts_sweep()
    # then the card Stripe saved is the patient's one card on file, read from Stripe
    assert outcomes == ["handled", "duplicate", "handled"]
    intent = stripe_fake.get(card_shop.account, "setup_intent", session["setup_intent"])
    card = card_on_file_get(started.patient_id)
    assert card is not None
    assert (card.brand, card.last4, card.payment_method_id) == ("visa", "4242", intent["payment_method"])
    assert SavedCard.objects.filter(patient_id=started.patient_id).count() == 1
    # and the hold became the visitor's booking once; nothing was charged or invoiced
    hold = Appointment.objects.get(pk=started.hold_id)
    assert hold.status == Status.BOOKED
    assert hold.patient.email == "dora@example.com"
    assert [b.appointment_id for b in booked] == [hold.pk]
    assert not Payment.objects.exists()
    assert not Invoice.objects.exists()
    row = OnlineCheckout.objects.get(pk=started.pk)
    assert (row.status, row.payment_method_id) == (CheckoutStatus.CARD_SAVED, intent["payment_method"])
    # and the return page has the booking's link
    assert back.checkout.status == CheckoutStatus.CARD_SAVED
    assert back.manage_token


def test_the_return_page_settles_a_saved_card_when_the_webhook_is_late(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given the visitor saved a card, and no webhook has come yet
    started = _started(card_shop, django_capture_on_commit_callbacks)
    complete_setup_session(stripe_fake, started.session_id, account=card_shop.account)
    # when the visitor lands on the return page
    with django_capture_on_commit_callbacks(execute=True):
        back = checkout.checkout_return(token=started.return_token)
    # then the session and its SetupIntent were read again from Stripe: booked, card kept
    assert back.checkout.status == CheckoutStatus.CARD_SAVED
    assert Appointment.objects.get(pk=started.hold_id).status == Status.BOOKED
    assert card_on_file_get(started.patient_id) is not None
    assert stripe_fake.calls("GET", f"/v1/setup_intents/{started.setup_intent_id}")


def test_an_expired_card_setup_gives_the_time_back(card_shop, stripe_fake, django_capture_on_commit_callbacks):
    # given a card setup the visitor left; while it is open, an event about it changes nothing
    started = _started(card_shop, django_capture_on_commit_callbacks)
    open_session = stripe_fake.get(card_shop.account, "checkout.session", started.session_id)
    deliver(stripe_fake.event("checkout.session.expired", open_session, account=card_shop.account))
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.OPEN
    # when Stripe expires it and says so
    session = expire_checkout_session(stripe_fake, started.session_id, account=card_shop.account)
    response = deliver(stripe_fake.event("checkout.session.expired", session, account=card_shop.account))
    # then the hold is given back, no card is kept, and the time can be booked again
    assert response.json()["outcome"] == "handled"
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.EXPIRED
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED
    assert card_on_file_get(started.patient_id) is None
    assert book(card_shop, card_shop.at(MONDAY, 10)).status == Status.BOOKED


def test_a_declined_card_keeps_the_setup_waiting_and_an_abandoned_one_lapses_at_the_sweep(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a visitor whose card was declined on Stripe's page
    started = _started(card_shop, django_capture_on_commit_callbacks)
    complete_setup_session(
        stripe_fake, started.session_id, account=card_shop.account, test_card="pm_card_chargeDeclined"
    )
    # when the return page and the sweep read it
    checkout.checkout_return(token=started.return_token)
    checkout.checkouts_sweep()
    # then it still waits (another card may be tried), the time held, no card kept
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.OPEN
    assert Appointment.objects.get(pk=started.hold_id).status == Status.HELD
    assert card_on_file_get(started.patient_id) is None
    # when the visitor gives up and Stripe expires the session without telling us
    expire_checkout_session(stripe_fake, started.session_id, account=card_shop.account)
    checkout.checkouts_sweep()
    # then the sweep gives the time back
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.EXPIRED
    assert Appointment.objects.get(pk=started.hold_id).status == Status.CANCELLED


def test_a_card_saved_after_the_time_was_given_back_books_nothing_and_keeps_no_card(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a card setup whose held time was given back before the card arrived
    started = _started(card_shop, django_capture_on_commit_callbacks)
    hold = Appointment.objects.get(pk=started.hold_id)
    appointment_hold_lapse(hold_id=hold.pk, hold_token=hold.hold_token)
    session = complete_setup_session(stripe_fake, started.session_id, account=card_shop.account)
    # when the completed setup arrives
    with django_capture_on_commit_callbacks(execute=True):
        deliver(stripe_fake.event("checkout.session.completed", session, account=card_shop.account))
    # then nothing is booked and no card kept: the visitor is told the time was not kept
    assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.EXPIRED
    assert Appointment.objects.get(pk=hold.pk).status == Status.CANCELLED
    assert card_on_file_get(started.patient_id) is None


def test_a_patient_with_a_card_on_file_books_at_once(card_shop, stripe_fake, django_capture_on_commit_callbacks):
    # given a patient who saved a card with a first online booking
    first = _started(card_shop, django_capture_on_commit_callbacks)
    complete_setup_session(stripe_fake, first.session_id, account=card_shop.account)
    with django_capture_on_commit_callbacks(execute=True):
        checkout.checkout_settle(checkout_id=first.pk)
    # when she books another time online with the same e-mail
    with django_capture_on_commit_callbacks(execute=True):
        second = book_online(visitor(card_shop, django_capture_on_commit_callbacks, hour=11))
    # then it is booked at once: no second card is asked
    assert second.checkout is None
    assert second.booking is not None
    assert Appointment.objects.get(pk=second.booking.appointment.pk).status == Status.BOOKED
    assert len(stripe_fake.calls("POST", "/v1/checkout/sessions")) == 1


def test_the_booking_api_cannot_confirm_without_the_card_and_the_terms_say_it(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    # given a visitor with a held time and a code
    v = visitor(card_shop, django_capture_on_commit_callbacks)
    # when the booking is confirmed by the path that takes no card (the public booking API's)
    with pytest.raises(OnlinePaymentRequired):
        book_online(v, step=online_booking_confirm)
    # then the time is still only held
    assert Appointment.objects.get(pk=v.hold.pk).status == Status.HELD
    # and the terms shown before confirming say a card is saved and nothing charged
    lines = booking_terms(service=card_shop.service, branch=card_shop.branch).lines
    assert any("save a card" in line and "nothing is charged now" in line for line in lines)


def test_staff_send_a_patient_a_link_to_save_a_card_and_the_card_is_kept_once_saved(
    card_shop, stripe_fake, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from config.errors import PermissionDenied

    # given a patient without a card; a doctor may not send the link
    patient = card_shop.patient()
    with pytest.raises(PermissionDenied):
        checkout.card_setup_link(actor=card_shop.chain.users["doctor"], patient=patient)
    assert not OnlineCheckout.objects.exists()
    # when reception makes the link
    link = checkout.card_setup_link(actor=card_shop.receptionist, patient=patient)
    # then it is Stripe's page in setup mode on the patient's Customer, open for most of a day, no booking
    session = stripe_fake.get(card_shop.account, "checkout.session", link.session_id)
    assert link.session_url == session["url"]
    assert (session["mode"], link.hold_id, link.invoice_id, link.amount_minor) == ("setup", None, None, 0)
    assert link.expires_at > timezone.now() + timedelta(hours=22)
    # when the patient saves a card on it and the webhook comes
    done = complete_setup_session(stripe_fake, link.session_id, account=card_shop.account)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(stripe_fake.event("checkout.session.completed", done, account=card_shop.account))
    # then the card is the patient's card on file, and nothing else happened
    card = card_on_file_get(patient.pk)
    assert card is not None
    assert card.last4 == "4242"
    assert OnlineCheckout.objects.get(pk=link.pk).status == CheckoutStatus.CARD_SAVED
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "given",
    [("seti_1", "seti_1"), ({"id": "seti_2", "object": "setup_intent"}, "seti_2"), (None, "")],
    ids=["an-id", "expanded", "none-yet"],
)
def test_a_sessions_setup_intent_is_read_as_an_id_or_an_expanded_object(given):
    # a session names its SetupIntent by id, or as the whole object when the read expanded it
    found, expected = given
    assert checkout._setup_intent_id(found) == expected
