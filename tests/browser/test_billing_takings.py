"""The billing desk at 1024x768: reception pays a patient's whole balance at once and checks the
day's takings; billing finds a paid invoice and reads the aged receivables with their totals row.
Screenshots and axe on each page."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.models import Invoice, InvoiceStatus
from tests.browser.test_billing_desk import DESK, _sign_in, _visit_seen_today
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_reception_pays_the_whole_balance_then_checks_the_days_takings(page, live, browser_chain, shot, axe):
    # given a visit seen and completed earlier today, its £75.00 invoice issued
    clinic, invoice = _visit_seen_today(browser_chain)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["receptionist"])
    # when reception opens the patient's billing and pays the whole balance in cash
    page.goto(f"{live}/billing/patients/{invoice.patient_id}/")
    expect(page.get_by_role("heading", name="Pay the whole balance")).to_be_visible()
    expect(page.get_by_label("Amount (GBP)")).to_have_value("75.00")
    shot("billing-patient-pay-balance")
    axe("patient-pay-balance")
    page.get_by_label("Cash").check()
    page.get_by_role("button", name="Record payment").click()
    # then the payment is said and the invoice is paid
    expect(page.get_by_text(f"Payment recorded on {invoice.number}.")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
    # when she opens the day's takings of her branch
    page.goto(f"{live}/billing/takings/?branch={clinic.branch.pk}")
    cashup = page.get_by_role("table").first
    expect(cashup.get_by_role("row", name=re.compile(r"^Cash 1 £75\.00"))).to_be_visible()
    shot("billing-takings")
    axe("takings")


def test_billing_finds_a_paid_invoice_and_reads_the_receivables(page, live, browser_chain, shot, axe):
    _, invoice = _visit_seen_today(browser_chain)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["billing"])
    page.goto(f"{live}/billing/")
    expect(page.get_by_role("heading", name="Aged receivables")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Current")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Total")).to_be_visible()
    shot("billing-desk-receivables")
    axe("billing-desk")
    page.get_by_label("Invoice or patient").fill(invoice.number or "")
    page.get_by_label("Status").select_option("any")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name=invoice.number or "")).to_be_visible()
    shot("billing-desk-search-any-status")
    axe("billing-desk-search")
