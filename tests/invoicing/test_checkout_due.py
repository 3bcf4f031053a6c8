"""What online booking asks to be paid now: a prepayment is the invoice's total, tax included; a
visit the patient's package covers asks nothing (its session pays for it)."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.checkout.models import CheckoutPurpose
from invoicing.models import Invoice
from invoicing.services.tax import tax_rate_create
from packages.models import PackageSession, SessionStatus
from patients.services.identity import patient_self_register
from scheduling.models import Appointment, Status
from tests.factories.invoicing import PRICE
from tests.factories.packages import sold
from tests.fakes.stripe_server import FakeStripe
from tests.invoicing.checkout_world import book, deposit_policy, deposit_shop, visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(in_a, stripe_fake: FakeStripe) -> Any:
    return deposit_shop(in_a, stripe_fake)


def test_a_full_prepayment_online_pays_the_invoice_total_with_its_tax(shop, django_capture_on_commit_callbacks):
    # given a 20% default tax and a chain that asks the full price online
    tax_rate_create(actor=shop.owner, name="VAT", rate_bp=2000, is_default=True)
    deposit_policy(shop, kind="full")
    # when a visitor books and is sent to pay
    with django_capture_on_commit_callbacks(execute=True):
        started = book(visitor(shop, django_capture_on_commit_callbacks)).checkout
    # then the checkout asks the invoice's total, tax included, and nothing is left owing
    assert started is not None
    invoice = Invoice.objects.get(pk=started.invoice_id)
    assert invoice.total_minor == PRICE + PRICE // 5
    assert started.amount_minor == invoice.total_minor
    assert started.purpose == CheckoutPurpose.BOOKING_PREPAYMENT


def test_a_visit_the_patients_package_covers_asks_no_deposit_online(
    shop, stripe_fake: FakeStripe, django_capture_on_commit_callbacks
):
    # given Dora (known by her e-mail) holds a package of three sessions of the service
    dora = patient_self_register(first_name="Dora", last_name="Deposit", email="dora@example.com")
    purchase = sold(shop, dora, sessions=3)
    # when she books that service online where the chain asks a deposit
    with django_capture_on_commit_callbacks(execute=True):
        outcome = book(visitor(shop, django_capture_on_commit_callbacks))
    # then she is booked at once, nothing is asked of Stripe nor invoiced, and a session is reserved
    assert outcome.checkout is None
    assert outcome.booking is not None
    visit = Appointment.objects.get(pk=outcome.booking.appointment.pk)
    assert (visit.status, visit.patient_id) == (Status.BOOKED, dora.pk)
    assert not Invoice.objects.filter(appointment_id=visit.pk).exists()
    assert not stripe_fake.calls("POST", "/v1/checkout/sessions")
    session = PackageSession.objects.get(appointment_id=visit.pk)
    assert (session.purchase_id, session.status) == (purchase.pk, SessionStatus.RESERVED)


def test_a_used_up_package_still_asks_the_deposit(shop, django_capture_on_commit_callbacks):
    # given Dora's package of one session is reserved for another visit already
    dora = patient_self_register(first_name="Dora", last_name="Deposit", email="dora@example.com")
    sold(shop, dora, sessions=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = book(visitor(shop, django_capture_on_commit_callbacks, hour=10))
    assert first.checkout is None
    # when she books a second visit online
    with django_capture_on_commit_callbacks(execute=True):
        second = book(visitor(shop, django_capture_on_commit_callbacks, hour=12))
    # then the deposit is asked as usual
    assert second.checkout is not None
