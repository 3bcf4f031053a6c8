"""The billing pages: the billing desk, an invoice and its actions (take payment, refund, credit
note, void), the printable invoice and its PDF, a patient's billing on the chart, the front desk's
"Take payment". Each refusal leaves nothing written; branches and roles scope what is seen."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from invoicing import services as billing
from invoicing.models import CreditNote, Invoice, InvoiceStatus, Refund
from scheduling import services as sched
from tenants.audit.models import AccessLog
from tests.factories import Chain
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.invoicing import ledger_state as _state
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

DESK = "/billing/"


@pytest.fixture
def clinic(in_a: Chain) -> Any:
    return priced(clinic_setup(in_a))


@pytest.fixture
def invoice(clinic: Any) -> Invoice:
    """An issued invoice of 75.00 for a completed visit at chain A's first branch."""
    return completed_visit(clinic)


def _visit_elsewhere(chain: Chain) -> Invoice:
    """An issued invoice of a completed visit at chain A's second branch (booked and seen by the owner)."""
    clinic = priced(clinic_setup(chain, branch=chain.branches[1]))
    appointment = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    with time_machine.travel(clinic.at(MONDAY, 10), tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            appointment = step(actor=clinic.owner, appointment=appointment)
    return Invoice.objects.get(appointment_id=appointment.pk)


def _as(client: Any, chain: Chain, role: str) -> Any:
    sign_in(client, chain.users[role])
    return client


def _get(client: Any, chain: Chain, path: str, **extra: Any) -> Any:
    return client.get(path, HTTP_HOST=chain.host, **extra)


def _post(client: Any, chain: Chain, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data, HTTP_HOST=chain.host)


def _url(invoice: Invoice, action: str = "") -> str:
    return f"/billing/invoices/{invoice.pk}/{action + '/' if action else ''}"


# --- the billing desk


def test_billing_sees_open_invoices_the_total_owed_and_aged_receivables(in_a, client, invoice):
    # given an issued invoice at the billing clerk's branch
    _as(client, in_a, "billing")
    # when she opens the billing desk
    page = _get(client, in_a, DESK)
    # then it lists the invoice, what it still owes, the total owed and the aged receivables
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice.number in html
    assert "£75.00" in html
    assert "on 1 open invoice" in html
    assert "Aged receivables" in html
    assert str(invoice.patient) in html
    # and the list is in the access log under its patient
    assert AccessLog.objects.filter(object_type="invoice", patient_id=invoice.patient_id, action="list").exists()


def test_the_desk_filters_by_patient_status_branch_and_past_due(in_a, client, clinic, invoice):
    other = completed_visit(clinic, hour=11)
    billing.payment_record(actor=clinic.owner, invoice=other, method="cash", amount_minor=1000)
    _as(client, in_a, "billing")
    by_name = _get(client, in_a, DESK, data={"q": invoice.patient.last_name}).content.decode()
    assert invoice.number in by_name
    assert other.number not in by_name
    partly = _get(client, in_a, DESK, data={"status": "partly_paid"}).content.decode()
    assert other.number in partly
    assert invoice.number not in partly
    elsewhere = _get(client, in_a, DESK, data={"branch": in_a.branches[1].pk}).content.decode()
    assert invoice.number not in elsewhere
    # nothing is past due until the payment terms have run out
    assert invoice.number not in _get(client, in_a, DESK, data={"overdue": "on"}).content.decode()
    with time_machine.travel(invoice.due_at + timedelta(days=1)):
        _as(client, in_a, "billing")  # a new session on the later day
        late = _get(client, in_a, DESK, data={"overdue": "on"}).content.decode()
    assert invoice.number in late
    assert "Past due" in late


def test_reception_sees_the_desk_of_its_branch_without_receivables(in_a, client, invoice):
    elsewhere = _visit_elsewhere(in_a)
    _as(client, in_a, "receptionist")
    html = _get(client, in_a, DESK).content.decode()
    assert invoice.number in html
    assert elsewhere.number not in html
    assert "Aged receivables" not in html


def test_doctors_are_refused_every_billing_page(in_a, client, invoice):
    # branch managers read billing and change nothing: tests/frontend/test_billing_desk.py
    before = _state(invoice)
    for role in ("doctor",):
        _as(client, in_a, role)
        for path in (DESK, _url(invoice), _url(invoice, "print"), _url(invoice, "pdf")):
            assert _get(client, in_a, path).status_code == 403, (role, path)
        assert _get(client, in_a, f"/billing/patients/{invoice.patient_id}/").status_code == 403
        paid = _post(client, in_a, _url(invoice, "pay"), {"pay-amount": "10.00", "pay-method": "cash"})
        assert paid.status_code == 403
        assert "Take payment" not in _get(client, in_a, f"/billing/visits/{invoice.appointment_id}/").content.decode()
    assert _state(invoice) == before


def test_the_billing_entry_is_in_the_bar_of_those_who_bill(in_a, client):
    for role, shown in (("billing", True), ("receptionist", True), ("owner", True), ("doctor", False)):
        _as(client, in_a, role)
        assert (f'href="{DESK}"' in _get(client, in_a, "/").content.decode()) is shown, role


# --- an invoice and its actions


def test_the_invoice_page_shows_lines_totals_and_status_in_words_and_prefills_the_balance(in_a, client, invoice):
    _as(client, in_a, "receptionist")
    page = _get(client, in_a, _url(invoice))
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice.number in html
    assert invoice.lines.get().description in html
    assert "Issued · £75.00 owed" in html
    assert 'name="pay-amount" value="75.00"' in html
    # reception takes payments but does not refund, credit or void
    assert "Take payment" in html
    assert "Record refund" not in html
    assert "Issue credit note" not in html
    assert "Void invoice" not in html
    assert AccessLog.objects.filter(object_type="invoice", object_id=str(invoice.pk), action="view").exists()


def test_reception_takes_part_then_the_rest_at_the_desk(in_a, client, invoice):
    _as(client, in_a, "receptionist")
    part = _post(client, in_a, _url(invoice, "pay"), {"pay-amount": "20.00", "pay-method": "cash"})
    assert part.status_code == 302
    assert _state(invoice)[:2] == (InvoiceStatus.PARTLY_PAID, 2000)
    after = _get(client, in_a, _url(invoice)).content.decode()
    assert "Payment recorded." in after
    assert 'name="pay-amount" value="55.00"' in after
    rest = _post(
        client,
        in_a,
        _url(invoice, "pay"),
        {"pay-amount": "55.00", "pay-method": "card_terminal", "pay-reference": "T-9"},
    )
    assert rest.status_code == 302
    assert _state(invoice)[:2] == (InvoiceStatus.PAID, PRICE)
    paid = _get(client, in_a, _url(invoice)).content.decode()
    assert "Nothing is owed" in paid
    assert 'name="pay-amount"' not in paid


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("100.00", "more than the invoice still asks for. Still owed: £75.00."),
        ("0", "The amount must be more than zero."),
        ("1.005", "Give at most 2 digits after the decimal point."),
        ("ten", "Give an amount written with the digits 0-9"),
        ("", "This field is required"),
    ],
)
def test_a_refused_payment_is_said_beside_the_amount_keeps_it_and_writes_nothing(in_a, client, invoice, amount, said):
    before = _state(invoice)
    _as(client, in_a, "receptionist")
    page = _post(
        client, in_a, _url(invoice, "pay"), {"pay-amount": amount, "pay-method": "cash", "pay-reference": "R1"}
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert said in html
    assert 'id="id_pay-amount_error"' in html  # beside the field
    assert f'value="{amount}"' in html or amount == ""
    assert 'value="R1"' in html
    assert _state(invoice) == before


def test_billing_refunds_part_of_a_payment_with_a_reason(in_a, client, invoice):
    payment = billing.payment_record(
        actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=PRICE
    )
    _as(client, in_a, "billing")
    assert "Record refund" in _get(client, in_a, _url(invoice)).content.decode()
    done = _post(
        client,
        in_a,
        _url(invoice, "refund"),
        {
            "refund-payment": payment.pk,
            "refund-amount": "25.00",
            "refund-reason": "Visit cut short",
            "refund-confirm": "on",
        },
    )
    assert done.status_code == 302
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount_minor, refund.reason) == (2500, "Visit cut short")
    assert _state(invoice)[:3] == (InvoiceStatus.PAID, PRICE, 2500)
    html = _get(client, in_a, _url(invoice)).content.decode()
    assert "Refund recorded." in html
    assert "Visit cut short" in html
    assert "£25.00" in html


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"refund-amount": "25.00", "refund-confirm": "on"}, "This field is required"),  # no reason
        ({"refund-amount": "25.00", "refund-reason": "Goodwill"}, "This field is required"),  # not confirmed
        (
            {"refund-amount": "75.01", "refund-reason": "Goodwill", "refund-confirm": "on"},
            "more than was paid and not yet refunded",
        ),
    ],
)
def test_a_refused_refund_is_said_beside_its_field_and_writes_nothing(in_a, client, invoice, fields, said):
    payment = billing.payment_record(
        actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=PRICE
    )
    before = _state(invoice)
    _as(client, in_a, "billing")
    page = _post(client, in_a, _url(invoice, "refund"), {"refund-payment": payment.pk, **fields})
    assert page.status_code == 400
    html = page.content.decode()
    assert said in html
    assert '<details class="confirm" open>' in html  # the refund form stays open with what was typed
    assert f'value="{fields["refund-amount"]}"' in html
    assert _state(invoice) == before


def test_reception_may_not_refund_credit_or_void_and_nothing_is_written(in_a, client, invoice):
    payment = billing.payment_record(
        actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=1000
    )
    before = _state(invoice)
    _as(client, in_a, "receptionist")
    refund = {"refund-payment": payment.pk, "refund-amount": "5.00", "refund-reason": "x", "refund-confirm": "on"}
    assert _post(client, in_a, _url(invoice, "refund"), refund).status_code == 403
    credit = {"credit-amount": "5.00", "credit-reason": "x"}
    assert _post(client, in_a, _url(invoice, "credit-note"), credit).status_code == 403
    assert _post(client, in_a, _url(invoice, "void"), {"void-reason": "x"}).status_code == 403
    assert _state(invoice) == before


def test_billing_credits_part_and_voids_an_unpaid_invoice(in_a, client, clinic, invoice):
    _as(client, in_a, "billing")
    credited = _post(client, in_a, _url(invoice, "credit-note"), {"credit-amount": "15.00", "credit-reason": "Loyalty"})
    assert credited.status_code == 302
    note = CreditNote.objects.get(invoice=invoice)
    assert (note.amount_minor, note.reason) == (1500, "Loyalty")
    assert note.number in _get(client, in_a, _url(invoice)).content.decode()
    too_much = _post(client, in_a, _url(invoice, "credit-note"), {"credit-amount": "60.01", "credit-reason": "x"})
    assert too_much.status_code == 400
    other = completed_visit(clinic, hour=12)
    no_reason = _post(client, in_a, _url(other, "void"), {"void-reason": ""})
    assert no_reason.status_code == 400
    assert Invoice.objects.get(pk=other.pk).status == InvoiceStatus.ISSUED
    voided = _post(client, in_a, _url(other, "void"), {"void-reason": "Raised twice"})
    assert voided.status_code == 302
    assert Invoice.objects.get(pk=other.pk).status == InvoiceStatus.VOID


def test_another_branchs_invoice_is_not_found_for_reception_and_nothing_is_written(in_a, client):
    elsewhere = _visit_elsewhere(in_a)
    before = _state(elsewhere)
    _as(client, in_a, "receptionist")
    assert _get(client, in_a, _url(elsewhere)).status_code == 404
    assert _get(client, in_a, _url(elsewhere, "pdf")).status_code == 404
    paid = _post(client, in_a, _url(elsewhere, "pay"), {"pay-amount": "10.00", "pay-method": "cash"})
    assert paid.status_code == 404
    assert _get(client, in_a, f"/billing/visits/{elsewhere.appointment_id}/").content.strip() == b""
    assert _state(elsewhere) == before


# --- the printable invoice and its PDF


def test_the_pdf_is_a_pdf_with_the_number_the_total_and_the_balance(in_a, client, invoice):
    billing.payment_record(actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=2000)
    _as(client, in_a, "billing")
    answer = _get(client, in_a, _url(invoice, "pdf"))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in answer["Content-Disposition"]
    assert answer.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert invoice.number in text
    assert "£75.00" in text  # the total
    assert "£55.00" in text  # the balance due
    assert in_a.clinic.name in text
    assert in_a.branches[0].name in text
    assert AccessLog.objects.filter(object_type="invoice", object_id=str(invoice.pk), action="view").exists()


def test_the_api_downloads_the_same_pdf(chain_a, api):
    from django_tenants.utils import schema_context

    with schema_context(chain_a.schema):
        invoice = completed_visit(priced(clinic_setup(chain_a)))
    answer = api(chain_a, "billing").call("GET", f"/api/v1/invoicing/invoices/{invoice.pk}/pdf/")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert invoice.number in PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert api(chain_a, "doctor").call("GET", f"/api/v1/invoicing/invoices/{invoice.pk}/pdf/").status_code == 403


def test_the_printable_invoice_has_its_print_stylesheet(in_a, client, invoice):
    _as(client, in_a, "receptionist")
    page = _get(client, in_a, _url(invoice, "print"))
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice.number in html
    assert "£75.00" in html
    assert "Balance due" in html
    assert "invoicing/invoice.css" in html
    assert "<style" not in html
    assert "<script" not in html


# --- the chart and the front desk


def test_the_chart_asks_for_the_patients_billing_and_it_shows_the_balance(in_a, client, invoice):
    _as(client, in_a, "receptionist")
    chart = _get(client, in_a, f"/patients/{invoice.patient_id}/").content.decode()
    assert f'hx-get="/billing/patients/{invoice.patient_id}/"' in chart
    assert "Billing arrives with invoicing" not in chart
    part = _get(client, in_a, f"/billing/patients/{invoice.patient_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert "£75.00</strong> owed on 1 open invoice" in part
    assert invoice.number in part
    assert "<html" not in part
    full = _get(client, in_a, f"/billing/patients/{invoice.patient_id}/").content.decode()
    assert "<h1>Billing:" in full
    assert AccessLog.objects.filter(object_type="patient_balance", patient_id=invoice.patient_id).exists()


def test_a_doctors_chart_has_no_invoices(in_a, client, invoice):
    sign_in(client, in_a.users["owner"])  # owners see it
    assert "/billing/patients/" in _get(client, in_a, f"/patients/{invoice.patient_id}/").content.decode()
    _as(client, in_a, "doctor")
    chart = _get(client, in_a, f"/patients/{invoice.patient_id}/")
    assert "/billing/patients/" not in chart.content.decode()


def test_the_desk_panel_of_a_completed_visit_offers_take_payment_until_paid(in_a, client, invoice):
    _as(client, in_a, "receptionist")
    panel = _get(client, in_a, f"/desk/appointments/{invoice.appointment_id}/panel/").content.decode()
    assert f'hx-get="/billing/visits/{invoice.appointment_id}/"' in panel
    offer = _get(client, in_a, f"/billing/visits/{invoice.appointment_id}/").content.decode()
    assert f'href="/billing/invoices/{invoice.pk}/#take-payment"' in offer
    assert "£75.00 owed" in offer
    billing.payment_record(actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=PRICE)
    assert "Take payment" not in _get(client, in_a, f"/billing/visits/{invoice.appointment_id}/").content.decode()


def test_no_test_here_depends_on_the_date():
    assert timezone.localdate() < MONDAY


def test_a_payment_made_online_is_offered_for_refund_through_stripe(in_a, client, invoice):
    # given the invoice paid online through Stripe
    from django.db import transaction

    from invoicing.services.payments import payment_add

    with transaction.atomic():
        payment_add(invoice, actor=None, method="stripe", amount_minor=PRICE, reference="pi_pages_online")
    # when billing opens the invoice
    _as(client, in_a, "billing")
    html = _get(client, in_a, _url(invoice)).content.decode()
    # then the Stripe payment is one to refund, and the page says the refund goes through Stripe
    assert "Stripe of £75.00" in html
    assert "refunded through Stripe" in html


def test_the_patients_billing_shows_the_card_on_file_to_reception(in_a, client, invoice):
    _as(client, in_a, "receptionist")
    part = _get(client, in_a, f"/billing/patients/{invoice.patient_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Card on file" in part
    assert "No card on file" in part
