"""A patient buys a package online and pays at once through Stripe Checkout (the real SDK against
the local fake): the purchase waits for the payment and is used by no booking until paid; paid, it
is active and its sale invoice paid, once, whatever reads the payment again; unpaid, the expiry task
cancels it; staff cannot buy as the patient; a chain without Stripe refuses and keeps nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from config.errors import PermissionDenied
from invoicing.checkout import services as checkout
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus
from invoicing.connect.exceptions import StripeNotConnected
from invoicing.models import InvoiceStatus, PackageSale, Payment
from invoicing.package_checkout import package_buy_online
from packages import services as pkg
from packages.models import PackagePurchase, PurchaseStatus
from packages.selectors import appointment_package
from patients.portal import portal_user_for
from tests.factories.invoicing import priced
from tests.factories.packages import PACKAGE_PRICE, product
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe, pay_checkout_session
from tests.invoicing.checkout_world import connect_stripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(in_a: Any, stripe_fake: FakeStripe) -> Any:
    """Chain A with a priced service, a package of it on sale, and its Stripe account connected."""
    clinic = priced(clinic_setup(in_a))
    clinic.account = connect_stripe(clinic, stripe_fake)  # type: ignore[attr-defined]
    clinic.offered = product(clinic, sessions=3)  # type: ignore[attr-defined]
    return clinic


def test_a_package_bought_online_is_active_once_paid(shop: Any, stripe_fake: FakeStripe):
    # given a patient signed in to the portal
    patient = shop.patient()
    user = portal_user_for(patient=patient)
    # when they buy the package
    started = package_buy_online(actor=user, product=shop.offered, branch=shop.branch)
    # then Stripe's page is open for the sale's invoice, and the purchase waits for the payment
    assert started.session_url
    assert (started.purpose, started.amount_minor) == (CheckoutPurpose.PACKAGE_SALE, PACKAGE_PRICE)
    purchase = PackagePurchase.objects.get(patient=patient)
    assert purchase.status == PurchaseStatus.PENDING
    assert PackageSale.objects.get(purchase=purchase).invoice_id == started.invoice_id
    unpaid_visit = book(shop, shop.at(MONDAY, 10), patient=patient)
    assert appointment_package(appointment_id=unpaid_visit.pk) is None  # not usable before it is paid
    # when they pay and come back
    pay_checkout_session(stripe_fake, started.session_id, account=shop.account)
    back = checkout.checkout_return(token=started.return_token)
    # then the payment is recorded once, the invoice paid, and the package active for its full validity
    assert back.checkout.status == CheckoutStatus.PAID
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.ACTIVE
    assert purchase.expires_at - purchase.sold_at == timedelta(days=90)
    assert back.checkout.invoice.status == InvoiceStatus.PAID
    # and reading it again changes nothing
    checkout.checkout_return(token=started.return_token)
    assert Payment.objects.filter(invoice_id=started.invoice_id).count() == 1
    # and a visit booked now uses it
    paid_visit = book(shop, shop.at(MONDAY, 12), patient=patient)
    assert appointment_package(appointment_id=paid_visit.pk).label == "Package: 2 of 3 left"


def test_an_unpaid_online_purchase_is_cancelled_a_day_later(shop: Any):
    # given a package bought online and never paid
    patient = shop.patient()
    package_buy_online(actor=portal_user_for(patient=patient), product=shop.offered, branch=shop.branch)
    purchase = PackagePurchase.objects.get(patient=patient)
    # when the expiry task runs the same day: kept; two days later: cancelled
    pkg.packages_expire()
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.PENDING
    pkg.packages_expire(now=timezone.now() + timedelta(days=2))
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.CANCELLED


def test_staff_cannot_buy_online_as_a_patient(shop: Any):
    with pytest.raises(PermissionDenied):
        package_buy_online(actor=shop.receptionist, product=shop.offered, branch=shop.branch)
    assert not PackagePurchase.objects.exists()


def test_without_stripe_connected_nothing_is_bought(in_a: Any):
    # given a chain whose Stripe account is not connected
    clinic = priced(clinic_setup(in_a))
    offered = product(clinic)
    patient = clinic.patient()
    # when the patient tries to buy: refused, and no purchase or invoice is kept
    with pytest.raises(StripeNotConnected):
        package_buy_online(actor=portal_user_for(patient=patient), product=offered, branch=clinic.branch)
    assert not PackagePurchase.objects.exists()
    assert not PackageSale.objects.exists()
