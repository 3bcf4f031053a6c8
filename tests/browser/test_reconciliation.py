"""The reconciliation report at 1024x768: billing sees a Stripe payment missing here with what Stripe
says of it, and records it against the open invoice it pays. Screenshots and axe before and after."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.models import Invoice, Payment, PaymentMethod
from invoicing.reconciliation.services import reconciliation_apply
from tests.browser.test_billing_desk import DESK, _sign_in, _visit_seen_today
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_billing_records_a_stripe_payment_missing_here_against_its_invoice(page, live, browser_chain, shot, axe):
    # given a visit's £75.00 invoice open, and a run that found £75.00 at Stripe the ledger lacks
    _clinic, invoice = _visit_seen_today(browser_chain)
    name = uuid.uuid4().hex[:12]
    with committed(), schema_context(browser_chain.schema):
        now = timezone.now()
        listed = {
            "id": f"txn_{name}",
            "type": "charge",
            "amount": 7500,
            "fee": 248,
            "net": 7252,
            "currency": "gbp",
            "created": int(now.timestamp()),
            "source": {
                "id": f"ch_{name}",
                "payment_intent": f"pi_{name}",
                "description": "Consultation paid by phone",
                "customer": f"cus_{name}",
            },
        }
        start = now - timedelta(hours=1, microseconds=int(name[:4], 16))
        reconciliation_apply(period_start=start, period_end=now + timedelta(hours=1), transactions=[listed], payouts=[])
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["billing"])
    # when billing opens the report
    page.goto(f"{live}/billing/reconciliation/")
    row = page.get_by_role("row").filter(has_text=f"txn_{name}")
    # then the mismatch says what Stripe knows of it and offers the invoice
    expect(row.get_by_text("Consultation paid by phone")).to_be_visible()
    expect(row.get_by_text(f"cus_{name}")).to_be_visible()
    picker = row.get_by_label("Record against invoice")
    expect(picker).to_be_visible()
    shot("reconciliation-missing-here")
    axe("reconciliation-missing-here")
    # when she records it against the visit's invoice
    picker.select_option(str(invoice.pk))
    row.get_by_role("button", name="Record payment").click()
    # then she is asked first, with the invoice's patient named, and confirms
    expect(
        page.get_by_role("heading", name=f"Record the Stripe payment against invoice {invoice.number}?")
    ).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        patient = str(Invoice.objects.select_related("patient").get(pk=invoice.pk).patient)
    expect(page.get_by_text(patient).first).to_be_visible()
    shot("reconciliation-record-confirm")
    axe("reconciliation-record-confirm")
    page.get_by_role("button", name="Yes, record the payment").click()
    # then the page says so, and the ledger has the Stripe payment once
    expect(page.get_by_text(f"is recorded against invoice {invoice.number}")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        payment = Payment.objects.get(reference=f"pi_{name}")
        assert (payment.invoice_id, payment.method, payment.amount_minor) == (invoice.pk, PaymentMethod.STRIPE, 7500)
    expect(page.get_by_role("row").filter(has_text=f"txn_{name}")).to_have_count(0)
    shot("reconciliation-recorded")
    axe("reconciliation-recorded")
