"""What the online booking pages say about money: before confirming, the deposit (or that nothing
is paid online), what happens to it on cancelling, and the clinic's late-cancellation and no-show
fees; after booking, the booking's page reads the visit's invoice (a deposit taken at the desk too);
a cancelled booking's page says whether the money paid is kept or refunded."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from invoicing import services as billing
from invoicing.checkout import services as checkout
from invoicing.checkout.policy import online_payment_policy_set
from invoicing.services.fees import FeeRuleIn, fee_policy_update
from invoicing.services.invoices import raise_for_appointment
from scheduling import services as sched
from scheduling.selectors import policy_get
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.frontend.test_online_booking import _first_slot
from tests.invoicing.checkout_world import book as book_online
from tests.invoicing.checkout_world import deposit_shop, visitor

pytestmark = pytest.mark.django_db


def _details_page(clinic: Any, host: str) -> str:
    client = Client(HTTP_HOST=host)
    _, doctor, start = _first_slot(client, host, clinic)
    held = client.post(
        "/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start}
    )
    assert held["Location"] == "/book/details/"
    return client.get("/book/details/").content.decode()


def test_before_confirming_the_visitor_reads_the_deposit_and_the_fees(in_a, stripe_fake: FakeStripe):
    # given a chain asking a 20.00 deposit, refunded on a timely cancel, with a 15.00 late-cancel fee
    # and a no-show fee of half the price
    clinic = deposit_shop(in_a, stripe_fake)
    online_payment_policy_set(actor=clinic.owner, kind="fixed", amount_minor=2000, refund_deposit_on_timely_cancel=True)
    fee_policy_update(
        actor=clinic.owner,
        no_show=FeeRuleIn("percent", percent_bp=5000),
        late_cancellation=FeeRuleIn("fixed", amount_minor=1500),
    )
    hours = policy_get().cancellation_window_hours
    # when a visitor holds a time and reaches the details step
    html = _details_page(clinic, in_a.host)
    # then the page says plainly what is paid now, later, and what cancelling or not coming costs
    assert "Payment and cancellation" in html
    assert "deposit of £20.00" in html
    assert "£55.00, at the visit" in html
    assert f"Cancel online at least {hours} hours before and what you paid online is refunded" in html
    assert f"Cancelling less than {hours} hours before the appointment costs a fee of £15.00" in html
    assert "Not coming without cancelling costs a fee of £37.50" in html


def test_without_stripe_connected_the_booking_does_not_pretend_a_deposit(in_a):
    # given a chain whose policy asks a deposit but whose Stripe account is not connected
    clinic = priced(clinic_setup(in_a))
    online_payment_policy_set(actor=clinic.owner, kind="fixed", amount_minor=2000)
    # when a visitor reaches the details step
    html = _details_page(clinic, in_a.host)
    # then nothing is said to be paid online
    assert "Nothing is paid online: you pay at the visit." in html
    assert "deposit of" not in html


def test_a_deposit_taken_at_the_desk_shows_on_the_booking_page(in_a):
    # given a booked visit whose deposit the desk took in cash (no online checkout)
    clinic = priced(clinic_setup(in_a))
    patient = clinic.patient()
    visit = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    invoice = raise_for_appointment(visit, actor=None, issue=True, prepaid_by=patient)
    billing.payment_record(actor=clinic.owner, invoice=invoice, method="cash", amount_minor=2000)
    token = sched.manage_link_issue(appointment=visit)
    # when the patient opens their booking's page
    html = Client(HTTP_HOST=in_a.host).get(f"/book/manage/{token}/").content.decode()
    # then it says the deposit is paid
    assert "Deposit paid" in html
    assert "£20.00 paid towards this visit" in html


@pytest.mark.parametrize("refund_on_cancel", [True, False], ids=["policy-refunds-it", "policy-keeps-it"])
def test_a_cancelled_bookings_page_says_what_happens_to_the_money_paid(
    in_a, stripe_fake: FakeStripe, django_capture_on_commit_callbacks, refund_on_cancel
):
    # given a deposit paid online and the chain's choice about refunds on a timely cancel
    clinic = deposit_shop(in_a, stripe_fake)
    online_payment_policy_set(
        actor=clinic.owner, kind="fixed", amount_minor=2000, refund_deposit_on_timely_cancel=refund_on_cancel
    )
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    with django_capture_on_commit_callbacks(execute=True):
        started = book_online(visitor(clinic, django_capture_on_commit_callbacks)).checkout
    assert started is not None
    pay_checkout_session(stripe_fake, started.session_id, account=clinic.account)
    with django_capture_on_commit_callbacks(execute=True):
        link = checkout.checkout_return(token=started.return_token).manage_token
    # when the patient cancels it from the link and looks at the page again
    with django_capture_on_commit_callbacks(execute=True):
        sched.manage_link_cancel(token=link)
    html = Client(HTTP_HOST=in_a.host).get(f"/book/manage/{link}/").content.decode()
    # then the page says whether the deposit is refunded or kept
    assert "Your appointment is cancelled" in html
    if refund_on_cancel:
        assert "The £20.00 paid is refunded to the card that paid it." in html
    else:
        assert "The £20.00 paid is kept, as the clinic&#x27;s cancellation policy says." in html
