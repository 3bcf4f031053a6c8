"""A package sale and its invoice move together: paid by any means, a purchase waiting for its payment
is active (once); its invoice voided or credited in full, the purchase is cancelled and its sessions
can no longer be booked; billing cancels a purchase at the desk with the unused sessions given back
pro rata (credit note, then refund of what was paid) or nothing; refusals change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from config.errors import PermissionDenied
from invoicing import services as billing
from invoicing.models import CreditNote, Invoice, InvoiceStatus, PackageSale, Payment, Refund
from invoicing.package_checkout import package_buy_online
from invoicing.package_ledger import GiveBack, package_cancel, package_cancel_quote
from packages import services as pkg
from packages.exceptions import NoPackageLeft, PurchaseNotCancellable
from packages.models import CancelReason, PackagePurchase, PackageSession, PurchaseStatus, SessionStatus
from packages.selectors import appointment_package, series_package_counts
from patients.portal import portal_user_for
from scheduling import services as sched
from tests.factories.invoicing import ledger_state, priced
from tests.factories.packages import PACKAGE_PRICE, product, sold
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe
from tests.invoicing.checkout_world import connect_stripe
from tests.packages.test_sessions import _seen_and_completed

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Any) -> Clinic:
    return priced(clinic_setup(in_a))


def _billing(clinic: Clinic) -> Any:
    return clinic.chain.users["billing"]


def _invoice(purchase: PackagePurchase) -> Invoice:
    return PackageSale.objects.select_related("invoice").get(purchase=purchase).invoice


def _bought_online(clinic: Clinic, stripe_fake: FakeStripe) -> tuple[PackagePurchase, Invoice]:
    connect_stripe(clinic, stripe_fake)
    patient = clinic.patient()
    started = package_buy_online(actor=portal_user_for(patient=patient), product=product(clinic), branch=clinic.branch)
    return PackagePurchase.objects.get(patient=patient), Invoice.objects.get(pk=started.invoice_id)


def test_an_online_package_paid_at_the_desk_is_active_and_outlives_the_expiry_task(clinic, stripe_fake):
    # given a package bought online, its checkout never paid
    purchase, invoice = _bought_online(clinic, stripe_fake)
    assert purchase.status == PurchaseStatus.PENDING
    # when the patient pays its invoice at the desk instead, and the expiry task runs two days later
    billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=invoice.due_minor)
    pkg.packages_expire(now=timezone.now() + timedelta(days=2))
    # then the package is active for its full validity, and a visit booked now uses it
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.ACTIVE
    assert purchase.expires_at - purchase.sold_at == timedelta(days=90)
    visit = book(clinic, clinic.at(MONDAY, 10), patient=purchase.patient)
    assert appointment_package(appointment_id=visit.pk).label == "Package: 2 of 3 left"


def test_a_payment_after_the_expiry_task_cancelled_the_unpaid_purchase_activates_it_once(clinic, stripe_fake):
    # given an online purchase the expiry task cancelled as unpaid while its invoice stayed open
    purchase, invoice = _bought_online(clinic, stripe_fake)
    pkg.packages_expire(now=timezone.now() + timedelta(days=2))
    purchase.refresh_from_db()
    assert (purchase.status, purchase.cancel_reason) == (PurchaseStatus.CANCELLED, CancelReason.UNPAID)
    # when the desk takes the payment in two parts
    billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=1000)
    purchase.refresh_from_db()
    first = (purchase.status, purchase.sold_at)
    invoice.refresh_from_db()
    billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=invoice.due_minor)
    # then the package is active from the first payment, and the second changes nothing
    purchase.refresh_from_db()
    assert first[0] == PurchaseStatus.ACTIVE
    assert (purchase.status, purchase.sold_at, purchase.cancel_reason) == (PurchaseStatus.ACTIVE, first[1], "")


def test_voiding_a_package_sale_invoice_cancels_the_package(clinic):
    # given a package sold at the desk, one visit booked on it
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    booked = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # when billing voids the sale's invoice
    billing.invoice_void(actor=clinic.owner, invoice=_invoice(purchase), reason="sold by mistake")
    # then the package is cancelled, the booked visit stays booked but off the package (invoiced as
    # usual), and a new booking does not draw on it
    purchase.refresh_from_db()
    assert (purchase.status, purchase.cancel_reason, purchase.reserved) == (
        PurchaseStatus.CANCELLED,
        CancelReason.INVOICE_VOID,
        0,
    )
    assert PackageSession.objects.get(appointment=booked).status == SessionStatus.RELEASED
    assert appointment_package(appointment_id=booked.pk) is None
    later = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    assert appointment_package(appointment_id=later.pk) is None


def test_crediting_a_package_sale_invoice_in_full_cancels_the_package_and_in_part_does_not(clinic):
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    invoice = _invoice(purchase)
    # when part of the invoice is credited: the package stays
    billing.credit_note_issue(actor=clinic.owner, invoice=invoice, amount_minor=1000, reason="goodwill")
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.ACTIVE
    # when the rest is credited: the package is cancelled
    billing.credit_note_issue(actor=clinic.owner, invoice=invoice, amount_minor=PACKAGE_PRICE - 1000, reason="all")
    purchase.refresh_from_db()
    assert (purchase.status, purchase.cancel_reason) == (PurchaseStatus.CANCELLED, CancelReason.INVOICE_CREDITED)


def _used_one(clinic: Clinic) -> tuple[PackagePurchase, Invoice, Any]:
    """A 3-session package sold and paid in cash, one visit done, one booked."""
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    invoice = _invoice(purchase)
    billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=PACKAGE_PRICE)
    done = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    _seen_and_completed(clinic, done)
    booked = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    return purchase, invoice, booked


def test_billing_cancels_a_paid_package_refunding_the_unused_sessions_pro_rata(clinic):
    # given a paid 3-session package with one session used and one booked
    purchase, invoice, booked = _used_one(clinic)
    assert package_cancel_quote(purchase=purchase).refund_minor == PACKAGE_PRICE * 2 // 3
    # when billing cancels it, giving back the unused sessions
    done = package_cancel(actor=_billing(clinic), purchase=purchase, reason="moved away", give_back=GiveBack.PRO_RATA)
    # then two thirds of what was paid is refunded (no credit: nothing was owed), the package is
    # cancelled with the reason, and the booked visit is off it
    assert done.credit_note is None
    assert [r.amount_minor for r in Refund.objects.filter(payment__invoice=invoice)] == [PACKAGE_PRICE * 2 // 3]
    purchase.refresh_from_db()
    assert (purchase.status, purchase.cancel_reason, purchase.cancel_note) == (
        PurchaseStatus.CANCELLED,
        CancelReason.DESK,
        "moved away",
    )
    assert (purchase.used, purchase.reserved) == (1, 0)
    assert appointment_package(appointment_id=booked.pk) is None
    audit = purchase.history.filter(history_change_reason__startswith="cancelled").get()
    assert audit.history_user == _billing(clinic)


def test_cancelling_an_unpaid_package_credits_the_unused_share_and_leaves_the_used_owed(clinic):
    # given an unpaid 3-session package with one session used
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    invoice = _invoice(purchase)
    visit = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    _seen_and_completed(clinic, visit)
    # when billing cancels it pro rata
    done = package_cancel(actor=clinic.owner, purchase=purchase, reason="changed plan", give_back=GiveBack.PRO_RATA)
    # then a credit note takes two thirds off; one third is still owed, nothing refunded
    invoice.refresh_from_db()
    assert done.credit_note is not None
    assert done.credit_note.amount_minor == PACKAGE_PRICE * 2 // 3
    assert invoice.due_minor == PACKAGE_PRICE - PACKAGE_PRICE * 2 // 3
    assert not Refund.objects.exists()


def test_cancelling_without_giving_back_refunds_nothing(clinic):
    purchase, invoice, _ = _used_one(clinic)
    before = ledger_state(invoice)
    done = package_cancel(actor=clinic.owner, purchase=purchase, reason="terms", give_back=GiveBack.NONE)
    assert (done.credit_note, done.refunds) == (None, [])
    assert ledger_state(invoice) == before
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.CANCELLED


def test_reception_cannot_cancel_a_package_and_a_cancelled_one_is_not_cancelled_twice(clinic):
    purchase, invoice, booked = _used_one(clinic)
    before = ledger_state(invoice)
    with pytest.raises(PermissionDenied):
        package_cancel(actor=clinic.receptionist, purchase=purchase, reason="x", give_back=GiveBack.PRO_RATA)
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.ACTIVE
    assert ledger_state(invoice) == before
    assert appointment_package(appointment_id=booked.pk) is not None
    package_cancel(actor=clinic.owner, purchase=purchase, reason="x", give_back=GiveBack.PRO_RATA)
    after = ledger_state(invoice)
    with pytest.raises(PurchaseNotCancellable):
        package_cancel(actor=clinic.owner, purchase=purchase, reason="x", give_back=GiveBack.PRO_RATA)
    assert ledger_state(invoice) == after
    assert Refund.objects.count() == 1
    assert not CreditNote.objects.exists()
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID


def test_a_visit_taken_off_its_package_is_put_back_on_it_while_sessions_remain(clinic):
    # given a one-session package, a visit booked on it and taken off it ("Don't use the package")
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=1)
    visit = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    pkg.package_session_release(actor=clinic.receptionist, appointment=visit)
    assert appointment_package(appointment_id=visit.pk) is None
    # when the desk uses the package again: the visit holds the session again
    pkg.package_session_use(actor=clinic.receptionist, appointment=visit)
    purchase.refresh_from_db()
    assert (purchase.reserved, purchase.left) == (1, 0)
    assert appointment_package(appointment_id=visit.pk).label == "Package: 0 of 1 left"
    # and a second visit cannot be put on it: none left, nothing changed
    second = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    with pytest.raises(NoPackageLeft):
        pkg.package_session_use(actor=clinic.receptionist, appointment=second)
    assert not PackageSession.objects.filter(appointment=second).exists()


def test_a_weekly_series_draws_a_session_per_occurrence_until_the_package_is_spent(clinic):
    # given a two-session package
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=2)
    # when the desk books four weekly visits
    _, occurrences = sched.series_book(
        actor=clinic.receptionist,
        patient=patient,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        first_start=clinic.at(MONDAY, 10),
        count=4,
    )
    # then the first two hold a session each and the others are paid as usual
    held = [appointment_package(appointment_id=o.appointment.pk) is not None for o in occurrences if o.appointment]
    assert held == [True, True, False, False]
    assert series_package_counts(appointment_ids=[o.appointment.pk for o in occurrences if o.appointment]) == (2, 4)
    purchase.refresh_from_db()
    assert purchase.left == 0
