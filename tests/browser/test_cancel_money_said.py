"""A late cancellation's money as the patient (390 px) and billing (1024x768) read it: the booking's
page says the deposit was kept toward the fee and what is still owed; the voided visit invoice says
where its deposit went. Screenshots and axe on each page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.fees import FeeCharge, FeePolicy, FeeRule
from invoicing.models import Invoice, InvoiceKind, PaymentMethod
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.payments import payment_record
from scheduling import services as sched
from tests.browser.conftest import sign_in
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1024, "height": 768}
RULES = [f"{p}_{k}" for p in ("no_show", "late_cancel") for k in ("rule", "amount_minor", "percent_bp")]


def test_a_late_cancellation_says_what_the_deposit_paid_on_the_booking_page_and_the_visit_invoice(
    page, live, browser_chain, shot, axe
):
    # given a visit with a 20.00 deposit paid at the desk, cancelled two hours before at the patient's
    # request under a 32.50 late-cancellation fee (the chain cannot charge cards here)
    with committed(), schema_context(browser_chain.schema):
        clinic = priced(clinic_setup(browser_chain, doctors=1))
        owner = browser_chain.users["owner"]
        before = FeePolicy.objects.filter(pk=1).values(*RULES).first() or {}
        fees.fee_policy_update(
            actor=owner, no_show=FeeRuleIn(), late_cancellation=FeeRuleIn(FeeRule.FIXED, amount_minor=3250)
        )
        start = clinic.at(MONDAY, 10)
        visit = book(clinic, start, patient=clinic.patient("Lena"))
        invoice = raise_for_appointment(visit, actor=None, issue=True, prepaid_by=visit.patient)
        payment_record(actor=owner, invoice=invoice, method=PaymentMethod.CASH, amount_minor=2000)
        token = sched.manage_link_issue(appointment=visit)
        sched.appointment_cancel(
            actor=clinic.receptionist,
            appointment=visit,
            reason="Cannot come",
            patient_asked=True,
            now=start - timedelta(hours=2),
        )
        FeePolicy.objects.filter(pk=1).update(**before)  # the session's chain as the other journeys know it
        fee_invoice = FeeCharge.objects.get(appointment=visit).invoice
        voided = Invoice.objects.get(appointment=visit, kind=InvoiceKind.STANDARD)
    # when the patient opens the booking's link on a phone
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/book/manage/{token}/")
    # then the page says the deposit was kept toward the fee and what is still owed
    expect(page.get_by_role("heading", name="Your appointment is cancelled")).to_be_visible()
    expect(
        page.get_by_text("Your £20.00 deposit was kept toward the £32.50 late-cancellation fee; £12.50 is still owed.")
    ).to_be_visible()
    shot("cancelled-booking-fee-390")
    axe("cancelled booking with a fee")
    # when billing opens the visit's voided invoice at the desk
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["billing"].email)
    page.goto(f"{live}/billing/invoices/{voided.pk}/")
    # then it says the deposit was kept toward the fee, linking the fee's invoice, and offers no refund
    expect(page.get_by_text("kept toward the late-cancellation fee")).to_be_visible()
    expect(page.get_by_role("link", name=fee_invoice.number)).to_be_visible()
    expect(page.get_by_role("heading", name="Refund", exact=True)).to_have_count(0)
    shot("voided-visit-invoice-deposit-kept")
    axe("voided visit invoice")
