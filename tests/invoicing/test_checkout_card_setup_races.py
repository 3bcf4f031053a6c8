"""Real concurrent connections settling one completed card setup (a Checkout Session in setup mode):
the completed event twice at once, the visitor's return page and the sweep all at the same moment
keep one card on file and book the hold once.

Each client is a thread with its own PostgreSQL connection; the data is committed first in chain
B's schema (tests/helpers.committed) and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from config.events import subscribe
from invoicing.cards import SavedCard, StripeCustomer
from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutStatus, OnlineCheckout, OnlinePaymentPolicy
from invoicing.checkout.policy import online_payment_policy_set
from scheduling.events import AppointmentBooked
from scheduling.models import Appointment, CalendarEntry, ManageLink, Status
from tenants.models import StripeConnection, StripeEvent
from tests.conftest import WORLD
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup
from tests.fakes.stripe_server import FakeStripe, complete_setup_session
from tests.helpers import committed, race
from tests.invoicing.checkout_world import book, connect_stripe, visitor
from tests.invoicing.test_checkout_races import _Capture, _post

pytestmark = pytest.mark.django_db

URL = "/stripe/connect/webhook/"


@pytest.fixture(scope="module")
def card_race_shop(django_db_setup, django_db_blocker, stripe_server: FakeStripe) -> Iterator[tuple[Clinic, str]]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = priced(clinic_setup(chain, branch=chain.branches[0], doctors=1))
        account = connect_stripe(clinic, stripe_server)
        online_payment_policy_set(actor=clinic.owner, kind="none", ask_for_card=True)
    yield clinic, account
    with django_db_blocker.unblock(), committed():
        with schema_context(chain.schema):
            OnlineCheckout.objects.all().delete()
            SavedCard.objects.all().delete()
            StripeCustomer.objects.all().delete()
            ManageLink.objects.filter(appointment__doctor__in=clinic.doctors).delete()
            CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
            OnlinePaymentPolicy.objects.all().delete()
        StripeEvent.objects.filter(account_id=account).delete()
        StripeConnection.objects.filter(account_id=account).delete()


def test_deliveries_the_return_page_and_the_sweep_racing_keep_one_card_and_book_once(
    card_race_shop, stripe_server, settings
):
    clinic, account = card_race_shop
    settings.STRIPE_API_BASE = stripe_server.url
    mail.outbox.clear()
    booked: list[AppointmentBooked] = []
    subscribe(AppointmentBooked, booked.append)
    # given a visitor's card setup, completed at Stripe
    with committed(), schema_context(clinic.chain.schema):
        started = book(visitor(clinic, _Capture(), hour=15)).checkout
        assert started is not None
        session = complete_setup_session(stripe_server, started.session_id, account=account)
    completed = stripe_server.event("checkout.session.completed", session, account=account)
    attempts = [
        lambda: _post(completed),
        lambda: _post(completed),  # the same event delivered twice at once
        lambda: checkout.checkout_return(token=started.return_token),
        lambda: checkout.checkout_settle(checkout_id=started.pk),  # the sweep
    ]
    # when they all arrive at the same moment, each on its own connection
    outcomes = race(len(attempts), lambda i: attempts[i](), clinic.chain.schema)
    # then each succeeded; the hold is booked once and one card is on file, Stripe's
    assert outcomes == ["ok"] * len(attempts)
    intent = stripe_server.get(account, "setup_intent", session["setup_intent"])
    with committed(), schema_context(clinic.chain.schema):
        assert OnlineCheckout.objects.get(pk=started.pk).status == CheckoutStatus.CARD_SAVED
        hold = Appointment.objects.get(pk=started.hold_id)
        assert hold.status == Status.BOOKED
        [card] = SavedCard.objects.filter(patient_id=started.patient_id)
        assert (card.payment_method_id, card.removed_at) == (intent["payment_method"], None)
    assert [b.appointment_id for b in booked] == [started.hold_id]
    assert StripeEvent.objects.filter(event_id=completed["id"]).count() == 1
