# ruff: noqa: F811  (the fixture imported from tests/invoicing/reconcile.py is named as a parameter)
"""The reconciliation report (/billing/reconciliation/): owners and billing see open mismatches by
kind and resolve one with a note; a payout lists the payments it contains; reception and doctors
are refused and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.models import Mismatch, Payment, PaymentMethod, Payout
from tests.factories.invoicing import completed_visit
from tests.factories.scheduling import Clinic
from tests.helpers import sign_in
from tests.invoicing.reconcile import reconciled  # noqa: F401  (the fixture)

PAGE = "/billing/reconciliation/"


@pytest.mark.parametrize("role", ["owner", "billing"])
def test_owners_and_billing_see_the_report_and_resolve_a_mismatch(reconciled: Clinic, client: Any, role: str):
    # given the owner or billing signed in
    chain = reconciled.chain
    sign_in(client, chain.users[role])
    mismatch = Mismatch.objects.get()
    # when they open the report
    page = client.get(PAGE, HTTP_HOST=chain.host)
    # then it lists the open mismatch by kind, with its Stripe id and amount, and the payout
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Reconciliation with Stripe</h1>" in html
    assert "Open mismatches (1)" in html
    assert "Missing here: <strong>1</strong>" in html
    assert mismatch.stripe_id in html
    assert "£42.00" in html
    assert Payout.objects.get().stripe_id in html
    assert f'<label for="note-{mismatch.pk}">' in html
    assert 'aria-current="page">Reconciliation</a>' in html
    # when they resolve it with a note
    done = client.post(
        f"{PAGE}mismatches/{mismatch.pk}/resolve/", {"note": "Paid twice at Stripe, refunded"}, HTTP_HOST=chain.host
    )
    # then it is resolved by them, and the report says nothing is open
    assert done.status_code == 302
    mismatch.refresh_from_db()
    assert (mismatch.resolved_by, mismatch.resolution_note) == (chain.users[role], "Paid twice at Stripe, refunded")
    after = client.get(PAGE, HTTP_HOST=chain.host).content.decode()
    assert "Open mismatches (0)" in after
    assert "Paid twice at Stripe, refunded" in after


def test_resolving_without_a_note_is_refused_on_the_page(reconciled: Clinic, client: Any):
    chain = reconciled.chain
    sign_in(client, chain.users["owner"])
    mismatch = Mismatch.objects.get()
    answer = client.post(f"{PAGE}mismatches/{mismatch.pk}/resolve/", {"note": "  "}, HTTP_HOST=chain.host, follow=True)
    assert "Say how it was resolved." in answer.content.decode()
    mismatch.refresh_from_db()
    assert mismatch.is_open


def test_a_payout_page_lists_the_payments_it_contains(reconciled: Clinic, client: Any):
    # given the owner signed in, and a payout of one matched payment
    chain = reconciled.chain
    sign_in(client, chain.users["owner"])
    payout = Payout.objects.get()
    payment = payout.transactions.get(type="charge").payment
    # when she opens the payout
    page = client.get(f"{PAGE}payouts/{payout.pk}/", HTTP_HOST=chain.host)
    # then it lists the payment with its payment intent, and what was paid out
    assert page.status_code == 200
    html = page.content.decode()
    assert f"<h1>Payout {payout.stripe_id}</h1>" in html
    assert f"No. {payment.pk} <code>{payment.reference}</code>" in html
    assert "£75.00" in html
    assert client.get(f"{PAGE}payouts/999999/", HTTP_HOST=chain.host).status_code == 404


@pytest.mark.parametrize("role", ["receptionist", "doctor"])
def test_reception_and_doctors_are_refused_and_change_nothing(reconciled: Clinic, client: Any, role: str):
    chain = reconciled.chain
    sign_in(client, chain.users[role])
    mismatch = Mismatch.objects.get()
    payout = Payout.objects.get()
    assert client.get(PAGE, HTTP_HOST=chain.host).status_code == 403
    assert client.get(f"{PAGE}payouts/{payout.pk}/", HTTP_HOST=chain.host).status_code == 403
    refused = client.post(f"{PAGE}mismatches/{mismatch.pk}/resolve/", {"note": "Fine"}, HTTP_HOST=chain.host)
    assert refused.status_code == 403
    mismatch.refresh_from_db()
    assert mismatch.is_open
    assert mismatch.resolution_note == ""
    home = client.get("/", HTTP_HOST=chain.host).content.decode()
    assert ">Reconciliation</a>" not in home


def test_billing_records_a_payment_missing_here_against_an_invoice_and_the_page_stays_honest(
    reconciled: Clinic, client: Any
):
    # given a Stripe payment of £42.00 missing here, and a visit's open invoice, and billing signed in
    chain = reconciled.chain
    invoice = completed_visit(reconciled, hour=14)
    sign_in(client, chain.users["billing"])
    mismatch = Mismatch.objects.get()
    # when she opens the report
    html = client.get(PAGE, HTTP_HOST=chain.host).content.decode()
    # then the mismatch shows Stripe's charge and offers to record it against the open invoice
    assert f"Charge <code>{mismatch.stripe_id}</code>" not in html  # the movement, not the charge, is the id
    assert "Charge <code>ch_" in html
    assert f'<label for="invoice-{mismatch.pk}">Record against invoice</label>' in html
    assert f'<option value="{invoice.pk}">{invoice.number}: owes £75.00' in html
    assert "Stripe and the ledger agree" not in html
    # when she records it against the invoice
    done = client.post(f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk}, HTTP_HOST=chain.host)
    assert done.status_code == 302
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.method, payment.amount_minor) == (PaymentMethod.STRIPE, 4200)
    # then the report says it was resolved (by her name), not that Stripe and the ledger always agreed
    after = client.get(PAGE, HTTP_HOST=chain.host).content.decode()
    assert "Open mismatches (0)" in after
    assert "every difference found so far has been resolved" in after
    assert "Stripe and the ledger agree" not in after
    user = chain.users["billing"]
    assert f"({user.get_full_name()}," in after
    assert user.email not in after.split("Resolved lately", 1)[1]
    # and posting it again records nothing more
    client.post(f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk}, HTTP_HOST=chain.host)
    assert Payment.objects.filter(method=PaymentMethod.STRIPE, invoice=invoice).count() == 1


@pytest.mark.parametrize("role", ["receptionist", "doctor"])
def test_reception_and_doctors_cannot_record_from_the_report(reconciled: Clinic, client: Any, role: str):
    chain = reconciled.chain
    invoice = completed_visit(reconciled, hour=14)
    sign_in(client, chain.users[role])
    mismatch = Mismatch.objects.get()
    refused = client.post(f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk}, HTTP_HOST=chain.host)
    assert refused.status_code == 403
    mismatch.refresh_from_db()
    assert mismatch.is_open
    assert not Payment.objects.filter(invoice=invoice).exists()
