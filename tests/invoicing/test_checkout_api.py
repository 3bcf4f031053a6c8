"""Online payments through the API: the owners' policy, online booking's confirmation that answers
Stripe's payment page when a deposit is asked, and the plain confirmation refused then (it would
book without paying)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from invoicing.checkout.models import DepositKind, OnlineCheckout
from invoicing.checkout.policy import online_payment_policy_get
from invoicing.models import Invoice
from scheduling.models import Appointment, Status
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.helpers import Api, assert_error
from tests.invoicing.checkout_world import connect_stripe, deposit_policy, visitor


@pytest.fixture
def shop(in_a, stripe_fake: FakeStripe):
    cache.clear()
    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)
    deposit_policy(clinic, amount_minor=2500)
    return clinic


def _body(v) -> dict[str, str]:
    return {
        "hold_token": v.hold.hold_token,
        "challenge": v.challenge,
        "code": v.code,
        "first_name": "Ada",
        "last_name": "Api",
    }


def test_the_owner_reads_and_sets_the_policy_and_reception_may_not(in_a, api):
    owner, reception = api(in_a, "owner"), api(in_a, "receptionist")
    # when the owner sets a 30% deposit
    response = owner.call("PUT", "/api/v1/invoicing/online-payments/policy/", {"kind": "percent", "percent_bp": 3000})
    # then it is the chain's policy, not applied while Stripe is not connected
    assert response.status_code == 200, response.content
    assert response.json()["applies"] is False
    assert online_payment_policy_get().percent_bp == 3000
    # and a fixed deposit of nothing is refused on its field
    assert_error(
        owner.call("PUT", "/api/v1/invoicing/online-payments/policy/", {"kind": "fixed"}), 400, "validation_error"
    )
    # and reception may not change it: nothing changes
    denied = reception.call("PUT", "/api/v1/invoicing/online-payments/policy/", {"kind": "full"})
    assert denied.status_code == 403
    assert online_payment_policy_get().kind == DepositKind.PERCENT


def test_with_a_deposit_the_api_answers_stripes_page_and_the_plain_confirm_is_refused(
    shop, stripe_fake, django_capture_on_commit_callbacks
):
    v = visitor(shop, django_capture_on_commit_callbacks)
    anonymous = Api(shop.chain.host)
    # when the visitor confirms through the plain online confirmation
    refused = anonymous.call("POST", f"/api/v1/online/holds/{v.hold.pk}/confirm/", _body(v))
    # then it is refused: this time is booked by paying; nothing is booked or invoiced
    assert_error(refused, 409, "online_payment_required")
    assert Appointment.objects.get(pk=v.hold.pk).status == Status.HELD
    assert not Invoice.objects.exists()
    # when they confirm through the checkout
    with django_capture_on_commit_callbacks(execute=True):
        started = anonymous.call("POST", f"/api/v1/invoicing/online-booking/holds/{v.hold.pk}/checkout/", _body(v))
    # then the answer is Stripe's payment page for the deposit
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["booked"] is False
    assert body["checkout"]["amount_minor"] == 2500
    assert body["checkout"]["pay_url"].startswith(stripe_fake.url)
    # and once paid, the checkout's address says booked, with the booking's link
    checkout = OnlineCheckout.objects.get()
    pay_checkout_session(stripe_fake, checkout.session_id, account=shop.account)
    back = anonymous.call("GET", f"/api/v1/invoicing/online-booking/checkouts/{body['checkout']['return_token']}/")
    assert back.json()["booked"] is True
    assert "/book/manage/" in back.json()["manage_url"]
    assert Invoice.objects.get().due_minor == PRICE - 2500
