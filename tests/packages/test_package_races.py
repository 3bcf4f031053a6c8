"""Concurrent bookings against one package never overdraw it: real connections (threads, each with
its own PostgreSQL connection) book at the same moment; the data is committed first in chain B's
schema (tests/helpers.committed) and removed afterwards.

The rule asserted: every booking stands (a package never refuses a visit), exactly as many reserve
a session as the package had left, and the others are booked without the package, paid as usual."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from invoicing.models import Invoice, InvoiceLine, PackageSale
from packages.models import PackageProduct, PackagePurchase, PackageSession
from scheduling.models import Appointment, CalendarEntry
from tests.conftest import WORLD
from tests.factories.invoicing import priced
from tests.factories.packages import sold
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db

CLIENTS = 8


@pytest.fixture(scope="module")
def package_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return priced(clinic_setup(chain, branch=chain.branches[0], doctors=1))


@pytest.fixture
def shared(package_clinic: Clinic) -> Iterator[Clinic]:
    yield package_clinic
    with committed(), schema_context(package_clinic.chain.schema):
        PackageSession.objects.all().delete()
        PackageSale.objects.all().delete()
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        PackagePurchase.objects.all().delete()
        CalendarEntry.objects.filter(doctor__in=package_clinic.doctors).delete()
        PackageProduct.objects.all().delete()


def _bookings_at_once(clinic: Clinic, sessions: int) -> tuple[list[str], PackagePurchase, list[int]]:
    with committed(), schema_context(clinic.chain.schema):
        patient = clinic.patient()
        purchase = sold(clinic, patient, sessions=sessions)
    starts = [clinic.at(MONDAY, 9) + timedelta(minutes=30 * i) for i in range(CLIENTS)]
    booked: list[int] = []

    def attempt(i: int) -> None:
        booked.append(book(clinic, starts[i], patient=patient).pk)

    outcomes = race(CLIENTS, attempt, clinic.chain.schema)
    return outcomes, purchase, booked


def test_bookings_racing_for_the_last_session_reserve_it_once(shared):
    # given a package with one session left and eight bookings of its patient at the same moment
    outcomes, purchase, booked = _bookings_at_once(shared, sessions=1)
    # then every booking stands, one holds the session, the others none
    assert outcomes == ["ok"] * CLIENTS
    with committed(), schema_context(shared.chain.schema):
        assert Appointment.objects.filter(pk__in=booked, status="booked").count() == CLIENTS
        assert PackageSession.objects.filter(appointment_id__in=booked).count() == 1
        purchase.refresh_from_db()
        assert (purchase.used, purchase.reserved, purchase.left) == (0, 1, 0)


def test_bookings_racing_for_three_sessions_reserve_exactly_three(shared):
    # given a package of three sessions and eight bookings at once
    outcomes, purchase, booked = _bookings_at_once(shared, sessions=3)
    # then three hold a session each and the balance is exactly spent
    assert outcomes == ["ok"] * CLIENTS
    with committed(), schema_context(shared.chain.schema):
        sessions = PackageSession.objects.filter(appointment_id__in=booked)
        assert sessions.count() == 3
        assert len(set(sessions.values_list("appointment_id", flat=True))) == 3
        purchase.refresh_from_db()
        assert (purchase.reserved, purchase.left) == (3, 0)


def test_the_database_refuses_a_balance_that_would_go_negative(in_a):
    # given a package of one session
    clinic = priced(clinic_setup(in_a))
    purchase = sold(clinic, clinic.patient(), sessions=1)
    # when a write skips the service and reserves two: the constraint refuses it
    with pytest.raises(IntegrityError, match="package_purchase_balance"), transaction.atomic():
        PackagePurchase.objects.filter(pk=purchase.pk).update(reserved=2)
    # and using more than was sold, or less than nothing, likewise
    with pytest.raises(IntegrityError, match="package_purchase_balance"), transaction.atomic():
        PackagePurchase.objects.filter(pk=purchase.pk).update(used=1, reserved=1)
    with pytest.raises(IntegrityError, match="package_purchase_balance"), transaction.atomic():
        PackagePurchase.objects.filter(pk=purchase.pk).update(reserved=-1)
    purchase.refresh_from_db()
    assert (purchase.used, purchase.reserved) == (0, 0)


def test_a_desk_payment_racing_the_expiry_task_leaves_the_online_purchase_active_once(shared):
    # given a package bought online a day and more ago, its invoice still open (checkout never paid)
    from datetime import timedelta as td

    from django.utils import timezone

    from invoicing.models import Payment
    from invoicing.services import payment_record
    from invoicing.services.package_sales import raise_for_package_sale
    from packages import services as pkg
    from packages.models import PurchaseStatus
    from patients.portal import portal_user_for
    from tests.factories.packages import product

    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()
        user = portal_user_for(patient=patient)
        patient.refresh_from_db()  # now linked to its portal account
        bought = pkg.package_buy_online_start(
            actor=user, product=product(shared), patient=patient, branch=shared.branch, now=timezone.now() - td(days=2)
        )
        invoice = raise_for_package_sale(purchase_id=bought.pk, actor=user)
    later = timezone.now()

    def attempt(i: int) -> None:
        if i == 0:
            pkg.packages_expire(now=later)
        else:  # two desk payments of half each, at the same moment as the expiry task
            half = invoice.total_minor // 2
            payment_record(actor=shared.receptionist, invoice=invoice, method="cash", amount_minor=half)

    # when the expiry task and two desk payments run at once
    outcomes = race(3, attempt, shared.chain.schema)
    # then both payments stand and the purchase is active, whichever ran first
    with committed(), schema_context(shared.chain.schema):
        try:
            assert outcomes == ["ok"] * 3
            assert Payment.objects.filter(invoice=invoice).count() == 2
            bought.refresh_from_db()
            assert (bought.status, bought.cancel_reason) == (PurchaseStatus.ACTIVE, "")
            assert bought.history.filter(history_change_reason="paid").count() == 1
        finally:
            Payment.objects.filter(invoice=invoice).delete()
