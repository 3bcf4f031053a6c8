"""Billing at 1024x768: reception takes a desk payment for a completed visit from the desk's panel,
and billing refunds part of an invoice with a reason. Screenshots and axe on each page."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing import services as billing
from invoicing.models import Invoice, InvoiceStatus, Refund
from scheduling import services as sched
from scheduling.selectors import slot_list_available
from tenants.accounts.models import User
from tests.factories import PASSWORD
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup, daytime_branch
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def _visit_seen_today(chain: Any) -> tuple[Any, Invoice]:
    """A branch where it is daytime, its receptionist and billing clerk on it, and a visit seen
    earlier today and completed: the 75.00 invoice its completion issued."""
    with committed(), schema_context(chain.schema):
        branch = daytime_branch(chain)
        for role in ("receptionist", "billing"):
            chain.users[role].staff.branches.add(branch)
        clinic = priced(
            clinic_setup(
                chain, branch=branch, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
            )
        )
        now = timezone.now()
        day = now.astimezone(clinic.tz).date()
        midnight = datetime.combine(day, time(0), tzinfo=clinic.tz)
        slots = slot_list_available(
            service=clinic.service, branch=branch, date_from=day, date_to=day, step=30, now=midnight
        )
        start = [s.start for s in slots if s.start < now - timedelta(minutes=40)][-1]
        desk = User.objects.get(pk=chain.users["receptionist"].pk)  # its branches read afresh
        visit = sched.appointment_book(
            actor=desk,
            patient=clinic.patient("Paula"),
            doctor=clinic.doctors[0],
            branch=branch,
            service=clinic.service,
            start=start,
            now=midnight,
        )
        visit = sched.appointment_check_in(actor=desk, appointment=visit, now=start)
        for step in (sched.appointment_start, sched.appointment_complete):
            visit = step(actor=desk, appointment=visit)
        return clinic, Invoice.objects.get(appointment_id=visit.pk)


def _sign_in(page: Any, live: str, user: Any) -> None:
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_reception_takes_a_desk_payment_for_a_completed_visit(page, live, browser_chain, shot, axe):
    # given a visit seen and completed earlier today, its invoice issued
    clinic, invoice = _visit_seen_today(browser_chain)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["receptionist"])
    # when reception opens the visit's panel on the desk's book
    page.goto(f"{live}/desk/{clinic.branch.pk}/")
    page.locator(f"#event-{invoice.appointment_id}").click()
    panel = page.get_by_role("dialog")
    take = panel.get_by_role("link", name=re.compile("^Take payment"))
    expect(take).to_be_visible()
    expect(panel).to_contain_text("£75.00 owed")
    shot("billing-desk-panel-take-payment")
    axe("desk-panel-take-payment")
    take.click()
    # then the invoice's page offers what is owed, prefilled
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    amount = page.get_by_label("Amount (GBP)")
    expect(amount).to_have_value("75.00")
    shot("billing-invoice-take-payment")
    axe("invoice-take-payment")
    # when she takes it all by card terminal
    page.get_by_label("Card terminal").check()
    page.get_by_label("Reference").fill("T-4711")
    page.get_by_role("button", name="Record payment").click()
    # then she is back on the desk's day she came from, the payment said
    expect(page).to_have_url(re.compile(rf"/desk/{clinic.branch.pk}/"))
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    # and the invoice is paid, the payment listed
    page.goto(f"{live}/billing/invoices/{invoice.pk}/")
    expect(page.get_by_text("Nothing is owed")).to_be_visible()
    expect(page.get_by_role("cell", name="Card terminal, T-4711")).to_be_visible()
    shot("billing-invoice-paid")
    axe("invoice-paid")
    with committed(), schema_context(browser_chain.schema):
        paid = Invoice.objects.get(pk=invoice.pk)
        assert (paid.status, paid.paid_minor) == (InvoiceStatus.PAID, 7500)
    # and the visit's panel no longer asks for payment
    page.goto(f"{live}/desk/{clinic.branch.pk}/")
    page.locator(f"#event-{invoice.appointment_id}").click()
    expect(page.get_by_role("dialog").get_by_role("link", name="Open the chart")).to_be_visible()
    expect(page.get_by_role("dialog").get_by_role("link", name=re.compile("^Take payment"))).to_have_count(0)


def test_billing_refunds_part_of_an_invoice_with_a_reason(page, live, browser_chain, shot, axe):
    # given an invoice paid in cash at the desk
    _clinic, invoice = _visit_seen_today(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        desk = User.objects.get(pk=browser_chain.users["receptionist"].pk)  # its branches read afresh
        billing.payment_record(actor=desk, invoice=invoice, method="cash", amount_minor=7500)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["billing"])
    # when billing finds it from the billing desk (paid: not among the open ones) by the patient's page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing", exact=True).click()
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    shot("billing-desk")
    axe("billing-desk")
    page.goto(f"{live}/billing/invoices/{invoice.pk}/")
    page.get_by_text("Refund a payment…").click()
    page.get_by_label("Amount to refund (GBP)").fill("25.00")
    page.get_by_label("I confirm this money is given back to the patient").check()
    page.get_by_role("button", name="Record refund").click()
    # then without a reason it is refused beside the reason, the amount kept, nothing refunded
    expect(page.locator("#id_refund-reason_error")).to_contain_text("This field is required")
    expect(page.get_by_label("Amount to refund (GBP)")).to_have_value("25.00")
    shot("billing-refund-needs-reason")
    axe("refund-needs-reason")
    # when she gives the reason and confirms
    page.get_by_role("region", name="Refund").get_by_label("Reason").fill("Visit cut short")
    page.get_by_label("I confirm this money is given back to the patient").check()
    page.get_by_role("button", name="Record refund").click()
    # then the refund is listed with its reason, the invoice still paid, £25.00 given back
    expect(page.get_by_text("Refund recorded.")).to_be_visible()
    expect(page.get_by_role("cell", name="Visit cut short")).to_be_visible()
    expect(page.get_by_text("Paid · £25.00 refunded")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(r"^Of the cash payment of £75\.00"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^Refunded to the patient"))).to_contain_text("+£25.00")
    shot("billing-invoice-refunded-in-part")
    axe("invoice-refunded-in-part")
    # on a phone the invoice's tables scroll inside their cards: the page itself is no wider than the screen
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.get_by_role("region", name="Table of the lines")).to_be_visible()
    shot("billing-invoice-390")
    page.set_viewport_size(DESK)
    with committed(), schema_context(browser_chain.schema):
        refund = Refund.objects.get(payment__invoice=invoice)
        assert (refund.amount_minor, refund.reason) == (2500, "Visit cut short")
        assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
