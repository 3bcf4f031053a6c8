"""The ledger's API: roles (billing and owners everything, reception invoices and payments at its
branches, doctors nothing), bad input refused with nothing written, another chain's ids not found,
every read of an invoice in the access log."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from invoicing import services as billing
from invoicing.models import Invoice, InvoiceStatus
from tenants.audit.models import AccessLog
from tests.factories.invoicing import PRICE, completed_visit, ledger_state, priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BASE = "/api/v1/invoicing"


@pytest.fixture
def visit(chain_a):
    """An issued invoice of a completed visit at chain A's first branch."""
    with schema_context(chain_a.schema):
        return completed_visit(priced(clinic_setup(chain_a)))


def _state(chain, invoice):
    with schema_context(chain.schema):
        return ledger_state(invoice)


def test_billing_lists_and_reads_an_invoice_and_the_read_is_logged(visit, chain_a, api):
    clerk = api(chain_a, "billing")
    listed = clerk.call("GET", f"{BASE}/invoices/?status=issued")
    assert listed.status_code == 200
    assert visit.number in [i["number"] for i in listed.json()["results"]]
    detail = clerk.call("GET", f"{BASE}/invoices/{visit.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert (body["total_minor"], body["due_minor"], body["status"]) == (PRICE, PRICE, "issued")
    assert [line["total_minor"] for line in body["lines"]] == [PRICE]
    with schema_context(chain_a.schema):
        assert AccessLog.objects.filter(
            object_type="invoice", object_id=str(visit.pk), patient_id=visit.patient_id, action="view"
        ).exists()


def test_reception_takes_part_then_the_rest_and_an_overpayment_is_refused(visit, chain_a, api):
    desk = api(chain_a, "receptionist")
    first = desk.call("POST", f"{BASE}/invoices/{visit.pk}/payments/", {"method": "cash", "amount_minor": 2000})
    assert first.status_code == 201, first.content
    before = _state(chain_a, visit)
    assert before[:2] == (InvoiceStatus.PARTLY_PAID, 2000)
    refused = desk.call("POST", f"{BASE}/invoices/{visit.pk}/payments/", {"method": "cash", "amount_minor": PRICE})
    assert_error(refused, 409, "overpayment")
    assert _state(chain_a, visit) == before
    rest = desk.call(
        "POST",
        f"{BASE}/invoices/{visit.pk}/payments/",
        {"method": "card_terminal", "amount_minor": PRICE - 2000, "reference": "T-77"},
    )
    assert rest.status_code == 201
    assert _state(chain_a, visit)[:2] == (InvoiceStatus.PAID, PRICE)


@pytest.mark.parametrize(
    "body",
    [
        {"method": "cash", "amount_minor": 0},
        {"method": "cash", "amount_minor": -5},
        {"method": "cash", "amount_minor": "12.50"},
        {"method": "cash", "amount_minor": 12.5},
        {"method": "stripe", "amount_minor": 100},
        {"method": "cheque", "amount_minor": 100},
        {"amount_minor": 100},
        {"method": "cash", "amount_minor": 100, "reference": "x" * 500},
    ],
)
def test_bad_payments_are_refused_and_nothing_is_written(visit, chain_a, api, body):
    before = _state(chain_a, visit)
    answer = api(chain_a, "billing").call("POST", f"{BASE}/invoices/{visit.pk}/payments/", body)
    assert_error(answer, 400, "validation_error")
    assert _state(chain_a, visit) == before


def test_doctors_see_and_take_nothing(visit, chain_a, api):
    doctor = api(chain_a, "doctor")
    before = _state(chain_a, visit)
    assert_error(doctor.call("GET", f"{BASE}/invoices/"), 403, "permission_denied")
    assert_error(doctor.call("GET", f"{BASE}/invoices/{visit.pk}/"), 403, "permission_denied")
    paid = doctor.call("POST", f"{BASE}/invoices/{visit.pk}/payments/", {"method": "cash", "amount_minor": 100})
    assert_error(paid, 403, "permission_denied")
    assert _state(chain_a, visit) == before


def test_reception_may_not_void_credit_refund_or_read_receivables(visit, chain_a, api):
    with schema_context(chain_a.schema):
        payment = billing.payment_record(
            actor=chain_a.users["receptionist"], invoice=visit, method="cash", amount_minor=100
        )
    desk = api(chain_a, "receptionist")
    before = _state(chain_a, visit)
    assert_error(desk.call("POST", f"{BASE}/invoices/{visit.pk}/void/", {"reason": "Oops"}), 403)
    credit = desk.call("POST", f"{BASE}/invoices/{visit.pk}/credit-notes/", {"amount_minor": 100, "reason": "x"})
    assert_error(credit, 403)
    refund = desk.call("POST", f"{BASE}/payments/{payment.pk}/refunds/", {"amount_minor": 100, "reason": "x"})
    assert_error(refund, 403)
    assert_error(desk.call("GET", f"{BASE}/receivables/"), 403)
    assert _state(chain_a, visit) == before


def test_another_chains_invoice_is_not_found(visit, chain_b, api):
    owner_b = api(chain_b, "owner")
    with schema_context(chain_b.schema):
        assert not Invoice.objects.filter(pk=visit.pk).exists()
    assert_error(owner_b.call("GET", f"{BASE}/invoices/{visit.pk}/"), 404, "not_found")
    paid = owner_b.call("POST", f"{BASE}/invoices/{visit.pk}/payments/", {"method": "cash", "amount_minor": 100})
    assert_error(paid, 404, "not_found")


def test_billing_refunds_part_credits_and_voids_through_the_api(visit, chain_a, api):
    clerk = api(chain_a, "billing")
    paid = clerk.call("POST", f"{BASE}/invoices/{visit.pk}/payments/", {"method": "cash", "amount_minor": 5000})
    payment_id = paid.json()["id"]
    # a refund without a reason, or over what was paid, is refused
    assert_error(clerk.call("POST", f"{BASE}/payments/{payment_id}/refunds/", {"amount_minor": 100}), 400)
    over = clerk.call("POST", f"{BASE}/payments/{payment_id}/refunds/", {"amount_minor": 5001, "reason": "Goodwill"})
    assert_error(over, 409, "refund_exceeds_paid")
    part = clerk.call("POST", f"{BASE}/payments/{payment_id}/refunds/", {"amount_minor": 1000, "reason": "Goodwill"})
    assert part.status_code == 201
    # the rest owed is credited
    credit = clerk.call(
        "POST", f"{BASE}/invoices/{visit.pk}/credit-notes/", {"amount_minor": PRICE - 5000, "reason": "Waived"}
    )
    assert credit.status_code == 201
    assert credit.json()["number"].startswith("CN-")
    assert _state(chain_a, visit) == (InvoiceStatus.PAID, 5000, 1000, PRICE - 5000, 1, 1, 1)
    # a paid invoice cannot be voided
    assert_error(clerk.call("POST", f"{BASE}/invoices/{visit.pk}/void/", {"reason": "Oops"}), 409)


def test_a_draft_is_issued_and_an_unpaid_invoice_voided(chain_a, api):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a)
        draft = billing.invoice_draft_create(
            actor=clinic.owner,
            patient=clinic.patient(),
            branch=clinic.branch,
            lines=[billing.LineIn(description="Report", unit_price_minor=3000, quantity=2, discount_minor=500)],
        )
    owner = api(chain_a, "owner")
    issued = owner.call("POST", f"{BASE}/invoices/{draft.pk}/issue/")
    assert issued.status_code == 200
    assert issued.json()["number"].startswith("INV-")
    assert issued.json()["total_minor"] == 5500
    assert_error(owner.call("POST", f"{BASE}/invoices/{draft.pk}/issue/"), 409, "invoice_not_open")
    assert_error(owner.call("POST", f"{BASE}/invoices/{draft.pk}/void/", {"reason": " "}), 400)
    voided = owner.call("POST", f"{BASE}/invoices/{draft.pk}/void/", {"reason": "Raised twice"})
    assert voided.json()["status"] == "void"


def test_balance_and_receivables(visit, chain_a, api):
    clerk = api(chain_a, "billing")
    balance = clerk.call("GET", f"{BASE}/patients/{visit.patient_id}/balance/")
    assert balance.json() == [{"currency": visit.currency, "owed_minor": PRICE, "open_invoices": 1}]
    rows = clerk.call("GET", f"{BASE}/receivables/").json()
    [row] = [r for r in rows if r["patient"] == visit.patient_id]
    assert row["total_minor"] == PRICE
    assert row["days_0_30"] + row["days_31_60"] + row["days_61_90"] + row["days_over_90"] == PRICE
    assert_error(clerk.call("GET", f"{BASE}/patients/999999/balance/"), 404)


def test_billing_raises_a_completed_visit_s_invoice_once(visit, chain_a, api):
    owner = api(chain_a, "owner")
    again = owner.call("POST", f"{BASE}/appointments/{visit.appointment_id}/invoice/")
    assert_error(again, 409, "already_invoiced")
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a)
        booked = book(clinic, clinic.at(MONDAY, 15))
    not_done = owner.call("POST", f"{BASE}/appointments/{booked.pk}/invoice/")
    assert_error(not_done, 409, "not_invoiceable")
    assert_error(api(chain_a, "receptionist").call("POST", f"{BASE}/appointments/{booked.pk}/invoice/"), 403)
    with schema_context(chain_a.schema):
        assert not Invoice.objects.filter(appointment_id=booked.pk).exists()
