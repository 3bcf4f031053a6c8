# ruff: noqa: F811  (the fixture imported from tests/invoicing/reconcile.py is named as a parameter)
"""The reconciliation API: owners and billing read the overview, the mismatches and a payout, and
resolve a mismatch with a note (once: again is 409); reception and doctors are refused (403) and
change nothing."""

from __future__ import annotations

import pytest

from invoicing.models import Mismatch, Payment, Payout
from tests.factories.invoicing import PRICE, completed_visit
from tests.invoicing.reconcile import reconciled  # noqa: F401  (the fixture)

API = "/api/v1/invoicing/reconciliation"


def test_billing_reads_the_report_and_resolves_a_mismatch_once(reconciled, api):
    client = api(reconciled.chain, "billing")
    mismatch = Mismatch.objects.get()
    # the overview: one run, one open mismatch missing here, one payout
    overview = client.call("GET", f"{API}/").json()
    assert len(overview["runs"]) == 1
    assert overview["open_total"] == 1
    assert {"kind": "missing_here", "open": 1} in overview["open_by_kind"]
    assert [p["stripe_id"] for p in overview["payouts"]] == [Payout.objects.get().stripe_id]
    # the open mismatches
    listed = client.call("GET", f"{API}/mismatches/?kind=missing_here").json()
    assert [(m["id"], m["stripe_amount_minor"]) for m in listed] == [(mismatch.pk, 4200)]
    # resolving it, then again
    done = client.call("POST", f"{API}/mismatches/{mismatch.pk}/resolve/", {"note": "Cash sale paid by card"})
    assert done.status_code == 200
    assert done.json()["resolution_note"] == "Cash sale paid by card"
    again = client.call("POST", f"{API}/mismatches/{mismatch.pk}/resolve/", {"note": "Other"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "mismatch_already_resolved"
    mismatch.refresh_from_db()
    assert mismatch.resolution_note == "Cash sale paid by card"
    assert client.call("GET", f"{API}/mismatches/").json() == []
    assert len(client.call("GET", f"{API}/mismatches/?open=false").json()) == 1


def test_a_payout_answers_the_payments_it_contains(reconciled, api):
    payout = Payout.objects.get()
    body = api(reconciled.chain, "owner").call("GET", f"{API}/payouts/{payout.pk}/").json()
    charges = [line for line in body["lines"] if line["type"] == "charge"]
    assert [line["amount_minor"] for line in charges] == [PRICE]
    assert charges[0]["payment"] == Payment.objects.get().pk
    assert charges[0]["payment_intent"] == Payment.objects.get().reference
    assert body["payout"]["amount_minor"] == payout.amount_minor


def test_a_note_is_required(reconciled, api):
    mismatch = Mismatch.objects.get()
    answer = api(reconciled.chain, "owner").call("POST", f"{API}/mismatches/{mismatch.pk}/resolve/", {"note": " \t "})
    assert answer.status_code == 400
    mismatch.refresh_from_db()
    assert mismatch.is_open


@pytest.mark.parametrize("role", ["receptionist", "doctor"])
def test_reception_and_doctors_are_refused(reconciled, api, role):
    client = api(reconciled.chain, role)
    mismatch = Mismatch.objects.get()
    assert client.call("GET", f"{API}/").status_code == 403
    assert client.call("GET", f"{API}/mismatches/").status_code == 403
    assert client.call("GET", f"{API}/payouts/{Payout.objects.get().pk}/").status_code == 403
    refused = client.call("POST", f"{API}/mismatches/{mismatch.pk}/resolve/", {"note": "Fine"})
    assert refused.status_code == 403
    mismatch.refresh_from_db()
    assert mismatch.is_open
    assert (mismatch.resolved_by, mismatch.resolution_note) == (None, "")
    assert mismatch.history.count() == 0


def test_billing_records_a_payment_missing_here_against_an_invoice_once(reconciled, api):
    # given a Stripe payment of £42.00 missing here (the list says which charge it is), and an open invoice
    client = api(reconciled.chain, "billing")
    invoice = completed_visit(reconciled, hour=14)
    mismatch = Mismatch.objects.get()
    [listed] = client.call("GET", f"{API}/mismatches/").json()
    assert listed["stripe_charge"].startswith("ch_")
    assert (listed["stripe_description"], listed["stripe_customer"]) == ("", "")
    # when billing records it against the invoice
    done = client.call("POST", f"{API}/mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk})
    # then it is resolved with the new Stripe payment, and the invoice owes £42.00 less
    assert done.status_code == 200, done.content
    body = done.json()
    payment = Payment.objects.get(invoice=invoice)
    assert (body["payment"], body["resolved_by"], body["stripe_charge"]) == (
        payment.pk,
        reconciled.chain.users["billing"].pk,
        listed["stripe_charge"],
    )
    assert (payment.method, payment.amount_minor) == ("stripe", 4200)
    invoice.refresh_from_db()
    assert invoice.due_minor == PRICE - 4200
    # and again is 409, nothing added
    again = client.call("POST", f"{API}/mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "mismatch_already_resolved"
    assert Payment.objects.filter(invoice=invoice).count() == 1
