"""Session packages through the real calendar: booking a covered service reserves a session,
completing consumes it (and the visit is invoiced at zero), cancelling in time releases it, a late
cancellation or a no-show forfeits it, rescheduling keeps it; the sale's invoice is raised once;
expiry runs twice and changes nothing the second time; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from config.errors import PermissionDenied
from config.events import publish
from invoicing.models import Invoice, InvoiceStatus, PackageSale
from packages import services as pkg
from packages.events import PackageSold
from packages.exceptions import NoPackageSession, ProductRetired
from packages.models import PackageProduct, PackagePurchase, PackageSession, PurchaseStatus, SessionStatus
from packages.selectors import appointment_package, pending_by_product, pending_sessions, purchase_list
from packages.tasks import packages_expire
from scheduling import services as sched
from scheduling.models import Appointment
from tests.factories.invoicing import PRICE, priced
from tests.factories.packages import PACKAGE_PRICE, product, sold
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a) -> Clinic:
    return priced(clinic_setup(in_a))


def _balance(purchase: PackagePurchase) -> tuple[int, int, int, str]:
    purchase.refresh_from_db()
    return purchase.used, purchase.reserved, purchase.left, purchase.status


def _session(appointment: Appointment) -> str:
    return PackageSession.objects.get(appointment_id=appointment.pk).status


def _seen_and_completed(clinic: Clinic, appointment: Appointment) -> Appointment:
    with time_machine.travel(appointment.span.lower, tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            appointment = step(actor=clinic.receptionist, appointment=appointment)
    return appointment


def test_a_booking_reserves_a_session_and_completing_consumes_it_invoiced_at_zero(clinic):
    # given a patient with a package of three sessions of the service
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    # when the desk books the service for them
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # then a session is reserved and the desk reads how many are left
    assert _balance(purchase) == (0, 1, 2, PurchaseStatus.ACTIVE)
    assert _session(appointment) == SessionStatus.RESERVED
    assert appointment_package(appointment_id=appointment.pk).label == "Package: 2 of 3 left"
    assert [s.appointment_id for s in pending_sessions(actor=clinic.receptionist, patient_id=patient.pk)] == [
        appointment.pk
    ]
    # when the visit is completed
    appointment = _seen_and_completed(clinic, appointment)
    # then the session is used and the visit's invoice asks for nothing, naming the package
    assert _balance(purchase) == (1, 0, 2, PurchaseStatus.ACTIVE)
    assert _session(appointment) == SessionStatus.CONSUMED
    invoice = Invoice.objects.get(appointment_id=appointment.pk)
    assert (invoice.total_minor, invoice.status) == (0, InvoiceStatus.PAID)
    assert invoice.lines.get().description == f"Covered by package {purchase.name}: {clinic.service.name}"
    assert purchase.history.count() >= 3


def test_cancelling_in_time_releases_the_session_and_late_forfeits_it(clinic):
    # given a package of three sessions and three bookings against it
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    early = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    late = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    clinics_own = book(clinic, clinic.at(MONDAY, 14), patient=patient)
    assert _balance(purchase) == (0, 3, 0, PurchaseStatus.ACTIVE)
    # when one is cancelled days ahead, one an hour before it starts at the patient's request, and
    # the last an hour before by the clinic itself
    three_days_before = clinic.at(MONDAY, 10) - timedelta(days=3)
    sched.appointment_cancel(actor=clinic.receptionist, appointment=early, now=three_days_before)
    sched.appointment_cancel(actor=clinic.receptionist, appointment=late, patient_asked=True, now=clinic.at(MONDAY, 11))
    sched.appointment_cancel(actor=clinic.receptionist, appointment=clinics_own, now=clinic.at(MONDAY, 13))
    # then the first and the clinic's are back in the balance, the patient's late one counts as used
    assert _session(early) == SessionStatus.RELEASED
    assert _session(late) == SessionStatus.FORFEITED
    assert _session(clinics_own) == SessionStatus.RELEASED
    assert _balance(purchase) == (1, 0, 2, PurchaseStatus.ACTIVE)
    assert appointment_package(appointment_id=early.pk) is None


def test_a_no_show_forfeits_the_session_and_the_last_one_used_ends_the_package(clinic):
    # given a package of one session, booked
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=1)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # when the patient does not come
    sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=appointment, now=clinic.at(MONDAY, 10) + timedelta(hours=1)
    )
    # then the session is forfeited and the package used up
    assert _session(appointment) == SessionStatus.FORFEITED
    assert _balance(purchase) == (1, 0, 0, PurchaseStatus.USED_UP)


def test_rescheduling_keeps_the_session(clinic):
    # given a booked visit holding a session
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=2)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # when it is moved to the next day
    moved = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=clinic.at(MONDAY + timedelta(days=1), 11)
    )
    # then it still holds the same session, and nothing else was reserved
    assert _session(moved) == SessionStatus.RESERVED
    assert _balance(purchase) == (0, 1, 1, PurchaseStatus.ACTIVE)


def test_the_purchase_expiring_first_is_used_and_none_left_books_without_a_package(clinic):
    # given two purchases, the shorter one of one session
    patient = clinic.patient()
    longer = sold(clinic, patient, sessions=1, validity_days=120, name="Long")
    shorter = sold(clinic, patient, sessions=1, validity_days=60, name="Short")
    # when three visits are booked
    first = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    second = book(clinic, clinic.at(MONDAY, 11), patient=patient)
    third = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    # then the first takes the shorter package, the second the longer, the third none and stands
    assert PackageSession.objects.get(appointment=first).purchase_id == shorter.pk
    assert PackageSession.objects.get(appointment=second).purchase_id == longer.pk
    assert not PackageSession.objects.filter(appointment=third).exists()
    assert Appointment.objects.get(pk=third.pk).status == "booked"
    # and a completed visit without a package is invoiced at the price
    third = _seen_and_completed(clinic, third)
    assert Invoice.objects.get(appointment_id=third.pk).subtotal_minor == PRICE


def test_a_package_valid_only_before_the_visit_is_not_used(clinic):
    # given a package that expires before the visit
    patient = clinic.patient()
    days = (clinic.at(MONDAY, 10) - timezone.now()).days
    purchase = sold(clinic, patient, sessions=2, validity_days=max(days - 1, 1))
    # when the visit is booked
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # then it holds no session
    assert appointment_package(appointment_id=appointment.pk) is None
    assert _balance(purchase) == (0, 0, 2, PurchaseStatus.ACTIVE)


def test_the_desk_books_without_the_package_and_others_are_refused(clinic, in_a):
    # given a booked visit holding a session
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=2)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # when a doctor tries to take it off the package: refused, nothing changed
    with pytest.raises(PermissionDenied):
        pkg.package_session_release(actor=in_a.users["doctor"], appointment=appointment)
    assert _balance(purchase) == (0, 1, 1, PurchaseStatus.ACTIVE)
    # when the desk takes it off the package
    pkg.package_session_release(actor=clinic.receptionist, appointment=appointment)
    # then the session is back, the visit is paid as usual, and a second time is refused
    assert _balance(purchase) == (0, 0, 2, PurchaseStatus.ACTIVE)
    assert appointment_package(appointment_id=appointment.pk) is None
    with pytest.raises(NoPackageSession):
        pkg.package_session_release(actor=clinic.receptionist, appointment=appointment)
    appointment = _seen_and_completed(clinic, appointment)
    assert Invoice.objects.get(appointment_id=appointment.pk).subtotal_minor == PRICE
    assert _balance(purchase) == (0, 0, 2, PurchaseStatus.ACTIVE)


def test_a_sale_raises_its_issued_invoice_once(clinic):
    # given a product at 300.00
    patient = clinic.patient()
    offered = product(clinic, sessions=5)
    # when reception sells it
    purchase = pkg.package_sell(actor=clinic.receptionist, product=offered, patient=patient, branch=clinic.branch)
    # then the sale's invoice is issued to the patient at the price, and the purchase is a snapshot
    invoice = PackageSale.objects.get(purchase=purchase).invoice
    assert (invoice.patient_id, invoice.status, invoice.subtotal_minor) == (
        patient.pk,
        InvoiceStatus.ISSUED,
        PACKAGE_PRICE,
    )
    assert invoice.number.startswith("INV-")
    assert (purchase.sessions_total, purchase.price_minor, purchase.sold_by) == (5, PACKAGE_PRICE, clinic.receptionist)
    # when the sale's event is replayed
    publish(PackageSold(purchase.pk, None))
    # then there is still one invoice for it
    assert Invoice.objects.filter(patient=patient).count() == 1
    # and the product's later change leaves the purchase as sold
    pkg.product_update(
        actor=clinic.owner,
        product=offered,
        name="Physio 10",
        services=[clinic.service],
        sessions=10,
        price_minor=90000,
        validity_days=90,
    )
    purchase.refresh_from_db()
    assert (purchase.sessions_total, purchase.price_minor) == (5, PACKAGE_PRICE)


def test_expiry_marks_expired_purchases_once_and_keeps_reserved_and_used_sessions(clinic):
    # given a purchase valid until just after the visit, with one session used and one reserved
    patient = clinic.patient()
    valid_days = (clinic.at(MONDAY, 12) - timezone.now()).days + 1
    purchase = sold(clinic, patient, sessions=3, validity_days=valid_days)
    used = _seen_and_completed(clinic, book(clinic, clinic.at(MONDAY, 10), patient=patient))
    reserved = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    other = sold(clinic, clinic.patient(), sessions=3, validity_days=365)
    # when the expiry runs after the purchase's end, twice
    after = purchase.expires_at + timedelta(minutes=1)
    assert pkg.packages_expire(now=after) == 1
    assert pkg.packages_expire(now=after) == 0
    # then it is expired, nothing used is given back, the reservation stands; the other is untouched
    assert _balance(purchase) == (1, 1, 1, PurchaseStatus.EXPIRED)
    assert _session(used) == SessionStatus.CONSUMED
    assert _session(reserved) == SessionStatus.RESERVED
    assert _balance(other)[3] == PurchaseStatus.ACTIVE
    # and the visit booked while it was valid still consumes its session
    _seen_and_completed(clinic, reserved)
    assert _balance(purchase) == (2, 0, 1, PurchaseStatus.EXPIRED)
    # and an expired purchase is not booked against
    late = book(clinic, clinic.at(MONDAY, 14), patient=patient)
    assert appointment_package(appointment_id=late.pk) is None


def test_the_periodic_task_expires_in_the_chain(clinic):
    # given a purchase sold long ago, already past its validity
    purchase = sold(clinic, clinic.patient(), validity_days=30, now=timezone.now() - timedelta(days=40))
    # when the task runs twice
    first, second = packages_expire(), packages_expire()
    # then the first expired it, the second nothing
    assert (first["expired"], second["expired"]) == (1, 0)
    assert _balance(purchase)[3] == PurchaseStatus.EXPIRED


def test_refusals_change_nothing(clinic, in_a):
    # given a product
    offered = product(clinic)
    patient = clinic.patient()
    # when reception tries to create or retire a product: refused
    with pytest.raises(PermissionDenied):
        pkg.product_create(
            actor=clinic.receptionist,
            name="Cheap",
            services=[clinic.service],
            sessions=1,
            price_minor=1,
            validity_days=1,
        )
    with pytest.raises(PermissionDenied):
        pkg.product_retire(actor=clinic.receptionist, product=offered)
    # when a doctor tries to sell one: refused
    with pytest.raises(PermissionDenied):
        pkg.package_sell(actor=in_a.users["doctor"], product=offered, patient=patient, branch=clinic.branch)
    # then nothing changed
    assert list(PackageProduct.objects.values_list("name", "is_active")) == [(offered.name, True)]
    assert not PackagePurchase.objects.exists()
    assert not Invoice.objects.exists()
    # when the owner retires it, it is no longer sold
    pkg.product_retire(actor=clinic.owner, product=offered)
    with pytest.raises(ProductRetired):
        pkg.package_sell(actor=clinic.receptionist, product=offered, patient=patient, branch=clinic.branch)
    assert not PackagePurchase.objects.exists()


def test_pending_sessions_per_package_for_managers(clinic):
    # given two patients with the same product, one session booked
    offered = product(clinic, sessions=4)
    first, second = clinic.patient(), clinic.patient()
    sold(clinic, first, of=offered)
    sold(clinic, second, of=offered)
    book(clinic, clinic.at(MONDAY, 10), patient=first)
    # when the owner reads the report
    (row,) = pending_by_product(actor=clinic.owner)
    # then it counts the purchases and what is still owed on them
    assert (row.name, row.active_purchases, row.sessions_reserved, row.sessions_left) == (offered.name, 2, 1, 7)
    assert row.sessions_pending == 8
    assert purchase_list(actor=clinic.owner, patient_id=first.pk).count() == 1


def test_a_covered_visit_with_long_package_and_service_names_is_still_invoiced(in_a):
    # given a package and a service each named as long as their forms allow
    from scheduling.models import Service

    clinic = priced(clinic_setup(in_a))
    Service.objects.filter(pk=clinic.service.pk).update(name="S" * 120)
    clinic.service.refresh_from_db()
    patient = clinic.patient()
    sold(clinic, patient, sessions=3, name="P" * 120)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # when the visit is completed
    _seen_and_completed(clinic, appointment)
    # then it is invoiced at zero, its line naming the package within the line's length
    invoice = Invoice.objects.get(appointment_id=appointment.pk)
    assert invoice.total_minor == 0
    [line] = invoice.lines.all()
    assert line.description.startswith("Covered by package PPP")
    assert line.description.endswith("…")
    assert len(line.description) == 200
