# ruff: noqa: F811  (the fixture imported from tests/invoicing/reconcile.py is named as a parameter)
"""The reconciliation report (/billing/reconciliation/): owners and billing see open mismatches by
kind and resolve one with a note; a payout lists the payments it contains; reception and doctors
are refused and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.models import Mismatch, Payment, PaymentMethod, Payout
from invoicing.reconciliation.models import BalanceTransaction
from invoicing.services.cards import stripe_customer_for
from tenants.audit.models import AccessLog
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
    # then it lists the payment with its payment intent, the invoice linked, the patient, and what was paid out
    assert page.status_code == 200
    html = page.content.decode()
    assert f"<h1>Payout {payout.stripe_id}</h1>" in html
    assert f'on invoice <a href="/billing/invoices/{payment.invoice_id}/">{payment.invoice.number}</a>' in html
    assert f"<code>{payment.reference}</code>" in html
    assert f'<a href="/billing/patients/{payment.invoice.patient_id}/">{payment.invoice.patient}</a>' in html
    assert "No. " not in html
    # the status in words, not Stripe's code
    assert f"<dd>{payout.status.replace('_', ' ').capitalize()}</dd>" in html
    assert "_" not in html.split("<dt>Status</dt>")[1].split("</dd>")[0]
    # and the patient shown is in the access log
    assert AccessLog.objects.filter(actor_id=chain.users["owner"].pk, patient_id=payment.invoice.patient_id).exists()
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
    assert f'<option value="{invoice.pk}">{invoice.number} · {invoice.patient}: owes £75.00' in html
    assert "Stripe and the ledger agree" not in html
    # when she picks the invoice, she is asked first, naming the patient, and nothing is recorded yet
    asked = client.post(f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk}, HTTP_HOST=chain.host)
    assert asked.status_code == 200
    question = asked.content.decode()
    assert f"Record the Stripe payment against invoice {invoice.number}?" in question
    assert f"<dt>Patient</dt><dd>{invoice.patient}" in question
    assert 'name="confirm" value="yes"' in question
    assert not Payment.objects.filter(invoice=invoice).exists()
    assert Mismatch.objects.get().is_open
    # when she confirms
    done = client.post(
        f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk, "confirm": "yes"}, HTTP_HOST=chain.host
    )
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
    client.post(
        f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": invoice.pk, "confirm": "yes"}, HTTP_HOST=chain.host
    )
    assert Payment.objects.filter(method=PaymentMethod.STRIPE, invoice=invoice).count() == 1


@pytest.mark.parametrize("role", ["receptionist", "doctor"])
def test_reception_and_doctors_cannot_record_from_the_report(reconciled: Clinic, client: Any, role: str):
    chain = reconciled.chain
    invoice = completed_visit(reconciled, hour=14)
    sign_in(client, chain.users[role])
    mismatch = Mismatch.objects.get()
    for data in ({"invoice": invoice.pk}, {"invoice": invoice.pk, "confirm": "yes"}):
        refused = client.post(f"{PAGE}mismatches/{mismatch.pk}/record/", data, HTTP_HOST=chain.host)
        assert refused.status_code == 403
    mismatch.refresh_from_db()
    assert mismatch.is_open
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_the_invoices_of_the_patient_stripes_customer_is_are_offered_first_named_and_logged(
    reconciled: Clinic, client: Any
):
    # given two open invoices owing £75.00 (the older first), and Stripe's payment of £42.00 made by the
    # Customer we keep for the second one's patient
    chain = reconciled.chain
    older = completed_visit(reconciled, hour=11)
    theirs = completed_visit(reconciled, hour=14)
    mismatch = Mismatch.objects.get()
    customer = stripe_customer_for(theirs.patient)
    BalanceTransaction.objects.filter(stripe_id=mismatch.stripe_id).update(customer=customer.customer_id)
    sign_in(client, chain.users["billing"])
    # when billing opens the report
    html = client.get(PAGE, HTTP_HOST=chain.host).content.decode()
    # then Stripe's Customer is named as our patient, and that patient's invoice is offered first
    assert f"Customer <code>{customer.customer_id}</code>: our patient" in html
    options = html.split(f'id="invoice-{mismatch.pk}"')[1].split("</select>")[0]
    assert options.index(f'value="{theirs.pk}"') < options.index(f'value="{older.pk}"')
    assert f"{theirs.number} · {theirs.patient} (Stripe's Customer): owes £75.00" in options
    assert f"{older.number} · {older.patient}: owes £75.00" in options
    # and the patients the options name are in the access log
    logged = set(AccessLog.objects.filter(actor_id=chain.users["billing"].pk).values_list("patient_id", flat=True))
    assert {older.patient_id, theirs.patient_id} <= logged
    # when billing picks the other patient's invoice, the question warns it is not Stripe's Customer
    asked = client.post(f"{PAGE}mismatches/{mismatch.pk}/record/", {"invoice": older.pk}, HTTP_HOST=chain.host)
    assert f"Stripe's Customer is {theirs.patient}, not {older.patient}." in asked.content.decode()
    assert not Payment.objects.filter(invoice=older).exists()


def test_the_report_reads_times_on_the_chains_clock_for_their_date(reconciled: Clinic, client: Any):
    # given a run over a summer evening (23:30 UTC is already the next day on a clock ahead of UTC)
    from datetime import UTC, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone
    from django.utils.formats import date_format

    from invoicing.reconciliation.services import reconciliation_apply
    from tenants.org.selectors import chain_settings_get
    from tests.factories.scheduling import clock_changes, local_today

    zone = ZoneInfo(chain_settings_get().default_timezone)
    forward, _ = clock_changes(str(zone), after=local_today(zone) - timedelta(days=400))
    start = datetime.combine(forward + timedelta(days=30), time(23, 30), tzinfo=UTC)
    assert start.astimezone(zone).utcoffset() != timedelta(0)
    reconciliation_apply(period_start=start, period_end=start + timedelta(hours=1), transactions=[], payouts=[])
    sign_in(client, reconciled.chain.users["owner"])
    # when the owner opens the report
    html = client.get(PAGE, HTTP_HOST=reconciled.chain.host).content.decode()
    # then the run's period reads on the chain's clock, not UTC's
    with timezone.override(zone):
        assert date_format(timezone.localtime(start), "SHORT_DATETIME_FORMAT") in html
    with timezone.override("UTC"):
        assert date_format(timezone.localtime(start), "SHORT_DATETIME_FORMAT") not in html
