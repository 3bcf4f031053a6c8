"""A cancellation's money said plainly everywhere: the desk's cancel form says before confirming
whether it is late, the fee and what the deposit pays of it; a fee raised while the chain cannot
charge cards waits at the desk (no attempt, no "failed"); the voided visit invoice says where its
deposit went; the patient's booking page says what the deposit paid and what is still owed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from invoicing.fees import FeeCharge, FeeKind, FeeRule, FeeStatus
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus, PaymentMethod
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn, fee_charge_run
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.payments import payment_record
from scheduling import services as sched
from tenants.models import StripeConnection
from tests.factories.cards import card_saved, connected
from tests.factories.scheduling import book
from tests.fakes.stripe_server import FakeStripe
from tests.frontend.test_desk import desk  # noqa: F401  (the fixture)
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

LATE_FEE = 3250
DEPOSIT = 2000


@pytest.fixture
def shop(desk, in_a, stripe_fake: FakeStripe):  # noqa: F811
    """A 32.50 late-cancellation fee, a 24-hour window, a 60.00 service, Stripe connected."""
    clinic, client, host = desk
    connected(in_a, stripe_fake)
    fees.fee_policy_update(
        actor=clinic.owner, no_show=FeeRuleIn(), late_cancellation=FeeRuleIn(FeeRule.FIXED, amount_minor=LATE_FEE)
    )
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=6000)
    return clinic, client, host


def _visit(clinic, stripe_fake: FakeStripe, *, hours: int, deposit: bool = True, card: bool = True):
    """A visit ``hours`` from now, with a 20.00 deposit taken at the desk and a Mastercard on file."""
    start = (timezone.now() + timedelta(hours=hours)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 15)
    patient = clinic.patient()
    if card:
        card_saved(patient, stripe_fake, "pm_card_mastercard")
    appointment = book(clinic, start, actor=clinic.owner, patient=patient)
    if deposit:
        visit = raise_for_appointment(appointment, actor=None, issue=True, prepaid_by=patient)
        payment_record(actor=clinic.owner, invoice=visit, method=PaymentMethod.CASH, amount_minor=DEPOSIT)
    return appointment


def _stripe_cannot_charge() -> None:
    """Stripe turned the chain's charges off (the account not, or no longer, connected)."""
    StripeConnection.objects.update(charges_enabled=False)


def _cancel(client, host, appointment, *, asked: bool = True) -> str:
    panel = client.post(
        f"/desk/appointments/{appointment.pk}/cancel/",
        {"confirm": "1", "reason": "Cannot come", **({"patient_asked": "1"} if asked else {})},
        HTTP_HOST=host,
        HTTP_HX_REQUEST="true",
    )
    return panel.content.decode()


# --- 1. a fee raised while the chain cannot charge cards waits at the desk -----------------------------
def test_a_late_fee_while_stripe_is_not_connected_waits_at_the_desk_and_never_reads_failed(
    shop, in_a, stripe_fake: FakeStripe
):
    # given a late visit with a deposit and a Mastercard on file, and a chain that cannot charge cards
    clinic, client, host = shop
    appointment = _visit(clinic, stripe_fake, hours=2)
    _stripe_cannot_charge()
    # when the desk cancels it at the patient's request
    html = _cancel(client, host, appointment)
    # then the fee waits at the desk: no attempt is made, nothing says it is being charged or failed
    charge = FeeCharge.objects.get(appointment=appointment, kind=FeeKind.LATE_CANCELLATION)
    assert (charge.status, charge.attempts, charge.last_error) == (FeeStatus.NO_CARD, 0, "")
    assert "£12.50 waits at the desk (online card payments are not set up)" in html
    assert "being charged" not in html
    assert not stripe_fake.calls("POST", "/v1/payment_intents")
    owner = sign_in(Client(), clinic.owner)
    listed_page = owner.get("/billing/fees/", HTTP_HOST=host)
    assert listed_page.status_code == 200
    listed = listed_page.content.decode()
    assert "Cannot be retried: the clinic&#x27;s Stripe account is not connected." in listed
    assert 'badge danger">Charge failed' not in listed
    assert 'badge warn">Waits at the desk' in listed
    assert "Not charged:" not in listed


def test_a_pending_fee_the_chain_can_no_longer_charge_waits_at_the_desk_instead_of_failing(
    shop, stripe_fake: FakeStripe
):
    # given a late fee raised while Stripe could charge (pending), then Stripe turned charges off
    clinic, client, host = shop
    appointment = _visit(clinic, stripe_fake, hours=2, deposit=False)
    _cancel(client, host, appointment)
    charge = FeeCharge.objects.get(appointment=appointment)
    assert charge.status == FeeStatus.PENDING
    _stripe_cannot_charge()
    # when the task runs
    done = fee_charge_run(fee_charge_id=charge.pk)
    # then no charge is sent and the fee waits at the desk, with no failure recorded
    assert (done.status, done.last_error) == (FeeStatus.NO_CARD, "")
    assert not stripe_fake.calls("POST", "/v1/payment_intents")


# --- 2. the cancel form says before confirming what a cancellation now would cost -----------------------
def test_the_desk_cancel_form_says_whether_it_is_late_the_fee_and_that_the_deposit_is_kept_toward_it(
    shop, stripe_fake: FakeStripe
):
    # given a visit two hours from now and one three days away, each with a 20.00 deposit and a card
    clinic, client, host = shop
    late = _visit(clinic, stripe_fake, hours=2)
    timely = _visit(clinic, stripe_fake, hours=72)
    # when the desk opens their panels (no script needed: the words are in the form)
    late_html, timely_html = (
        client.get(f"/desk/appointments/{a.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true").content.decode()
        for a in (late, timely)
    )
    # then the late one says it is late, the fee, the deposit kept toward it and the card charged the rest
    assert "Late: inside the 24-hour cancellation window." in late_html
    assert (
        "If the patient asked, the late-cancellation fee is £32.50: the £20.00 deposit paid is kept toward it "
        "and £12.50 is charged to Mastercard ending 4444." in late_html
    )
    assert "If the clinic cancels (unticked), there is no fee." in late_html
    assert "may carry the clinic" not in late_html
    # and the timely one says there is no fee
    assert "Not late: more than 24 hours before the visit, so no cancellation fee." in timely_html
    assert "late-cancellation fee is" not in timely_html
    # and nothing was changed by looking
    assert not FeeCharge.objects.exists()


def test_the_cancel_form_says_the_rest_waits_at_the_desk_when_the_chain_cannot_charge_cards(
    shop, stripe_fake: FakeStripe
):
    # given a late visit with a deposit and a card, and a chain that cannot charge cards
    clinic, client, host = shop
    late = _visit(clinic, stripe_fake, hours=2)
    _stripe_cannot_charge()
    # when the desk opens its panel
    html = client.get(f"/desk/appointments/{late.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true").content
    # then the rest is said to wait at the desk
    assert "£12.50 waits at the desk (online card payments are not set up)." in html.decode()


# --- 3. the voided visit invoice says where its deposit went ----------------------------------------------
def test_a_voided_visit_invoice_says_its_deposit_was_kept_toward_the_fee_and_who_voided_it(
    shop, in_a, stripe_fake: FakeStripe
):
    # given a late visit with a 20.00 deposit, cancelled at the patient's request
    clinic, client, host = shop
    appointment = _visit(clinic, stripe_fake, hours=2)
    _cancel(client, host, appointment)
    visit = Invoice.objects.get(appointment=appointment, kind=InvoiceKind.STANDARD)
    fee = FeeCharge.objects.get(appointment=appointment).invoice
    assert visit.status == InvoiceStatus.VOID
    # when the owner opens the visit's invoice
    owner = sign_in(Client(), clinic.owner)
    page = owner.get(f"/billing/invoices/{visit.pk}/", HTTP_HOST=host)
    assert page.status_code == 200
    html = page.content.decode()
    # then it says the deposit was kept toward the fee, with a link to the fee's invoice
    assert "Deposit £20.00 paid on " in html
    assert f'kept toward the late-cancellation fee, <a href="/billing/invoices/{fee.pk}/">{fee.number}</a>' in html
    assert "No payment yet." not in html
    # and who voided it, and no empty refund card
    assert f"by {clinic.receptionist.get_full_name()}" in html
    assert 'id="refund"' not in html
    # and the fee's invoice, paid in part by the deposit, still offers a refund
    assert 'id="refund"' in owner.get(f"/billing/invoices/{fee.pk}/", HTTP_HOST=host).content.decode()


# --- 4. the patient's booking page says what the deposit paid and what is still owed ---------------------
def test_the_cancelled_booking_page_says_the_deposit_was_kept_toward_the_fee_and_what_is_still_owed(
    shop, in_a, stripe_fake: FakeStripe
):
    # given a late visit with a 20.00 deposit, cancelled at the patient's request while cards cannot be charged
    clinic, client, host = shop
    appointment = _visit(clinic, stripe_fake, hours=2)
    token = sched.manage_link_issue(appointment=appointment)
    _stripe_cannot_charge()
    _cancel(client, host, appointment)
    # when the patient opens the booking's link
    html = Client(HTTP_HOST=in_a.host).get(f"/book/manage/{token}/").content.decode()
    # then the page says the deposit was kept toward the fee and what is still owed
    assert "Your appointment is cancelled" in html
    assert "Your £20.00 deposit was kept toward the £32.50 late-cancellation fee; £12.50 is still owed." in html


def test_a_cancelled_booking_without_a_fee_says_so(shop, in_a, stripe_fake: FakeStripe):
    # given a visit three days away, nothing paid, cancelled in good time
    clinic, client, host = shop
    appointment = _visit(clinic, stripe_fake, hours=72, deposit=False)
    token = sched.manage_link_issue(appointment=appointment)
    _cancel(client, host, appointment)
    # when the patient opens the booking's link, then it says no fee is charged
    html = Client(HTTP_HOST=in_a.host).get(f"/book/manage/{token}/").content.decode()
    assert "No fee is charged." in html
