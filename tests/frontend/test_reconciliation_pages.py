# ruff: noqa: F811  (the fixture imported from tests/invoicing/reconcile.py is named as a parameter)
"""The reconciliation report (/billing/reconciliation/): owners and billing see open mismatches by
kind and resolve one with a note; a payout lists the payments it contains; reception and doctors
are refused and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.models import Mismatch, Payout
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
