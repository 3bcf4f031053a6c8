"""The invoice page and its documents after issue 12's walk: a refund's refusal quotes the payment
chosen, a refunded invoice reads and adds up, refund rows name the payment they return, credit notes
are documents of their own (page and PDF, offered on paid invoices with the refund of what they
free), the printed invoice says who bills whom (practitioner, patient's address, registration and
tax numbers, a billing e-mail that is no one's sign-in, the phone as dialled), money typed is read
by the API's rule, and after taking a payment the user goes back where they came from."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from invoicing import services as billing
from invoicing.models import CreditNote, Invoice, InvoiceStatus, Refund
from patients.models import Patient
from tenants.org.models import Branch
from tests.factories import Chain
from tests.factories.invoicing import PRICE, completed_visit, ledger_state, priced
from tests.factories.scheduling import clinic_setup
from tests.frontend.test_billing_pages import _as, _get, _post, _url

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(in_a: Chain) -> Invoice:
    """An issued invoice of 75.00 for a completed visit at chain A's first branch."""
    return completed_visit(priced(clinic_setup(in_a)))


def _pay(chain: Chain, invoice: Invoice, amount: int, method: str = "cash") -> Any:
    return billing.payment_record(
        actor=chain.users["receptionist"], invoice=invoice, method=method, amount_minor=amount
    )


def test_a_refused_refund_quotes_what_is_left_on_the_payment_chosen(in_a, client, invoice):
    # given 75.00 paid as 50.00 cash and 25.00 by card terminal
    _pay(in_a, invoice, 5000)
    card = _pay(in_a, invoice, 2500, "card_terminal")
    before = ledger_state(invoice)
    # when billing asks for 30.00 back from the 25.00 card payment
    _as(client, in_a, "billing")
    page = _post(
        client,
        in_a,
        _url(invoice, "refund"),
        {"refund-payment": card.pk, "refund-amount": "30.00", "refund-reason": "Overcharged", "refund-confirm": "on"},
    )
    # then it is refused quoting the 25.00 left on that payment, not the invoice's 75.00
    assert page.status_code == 400
    html = page.content.decode()
    assert "Left to refund on this payment: £25.00." in html
    assert "£75.00 refundable" not in html.split("id_refund-amount_error")[1][:300]
    assert ledger_state(invoice) == before


def test_after_a_partial_refund_the_page_and_the_printed_invoice_add_up(in_a, client, invoice):
    payment = _pay(in_a, invoice, PRICE)
    billing.refund_record(actor=in_a.users["billing"], payment=payment, amount_minor=2500, reason="Visit cut short")
    _as(client, in_a, "billing")
    html = _get(client, in_a, _url(invoice)).content.decode()
    # the status tells the whole story, the refund row names the payment and method it returns
    assert "Paid · £25.00 refunded" in html
    assert "Nothing is owed" in html
    assert "Of the cash payment of £75.00" in html
    for label in ("Refunded, no longer charged", "Charged", "Refunded to the patient", "Balance due"):
        assert label in html
    printed = _get(client, in_a, _url(invoice, "print")).content.decode()
    assert "Paid · £25.00 refunded" in printed
    assert "Refund of the cash payment of £75.00" in printed
    assert "\u2212£25.00" in printed  # refunded, no longer charged
    assert "+£25.00" in printed  # given back to the patient
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(_get(client, in_a, _url(invoice, "pdf")).content)).pages
    )
    assert "Refunded to the patient" in text
    assert "Balance due" in text


def test_a_paid_invoice_offers_a_credit_note_that_needs_the_refund_of_what_it_frees(in_a, client, invoice):
    _pay(in_a, invoice, PRICE)
    _as(client, in_a, "billing")
    assert "Issue credit note" in _get(client, in_a, _url(invoice)).content.decode()
    before = ledger_state(invoice)
    # when billing credits 20.00 without ticking the refund
    refused = _post(client, in_a, _url(invoice, "credit-note"), {"credit-amount": "20.00", "credit-reason": "Discount"})
    # then it is refused, saying why, and nothing is written
    assert refused.status_code == 400
    assert "refund what the credit note frees, or credit less. It frees £20.00." in refused.content.decode()
    assert ledger_state(invoice) == before
    # when the refund is ticked
    done = _post(
        client,
        in_a,
        _url(invoice, "credit-note"),
        {"credit-amount": "20.00", "credit-reason": "Discount", "credit-refund_freed": "on"},
    )
    assert done.status_code == 302
    note = CreditNote.objects.get(invoice=invoice)
    assert Refund.objects.get(credit_note=note).amount_minor == 2000
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PAID
    # then the invoice links to the credit note's page and PDF, and the credit note back to the invoice
    html = _get(client, in_a, _url(invoice)).content.decode()
    assert f'href="/billing/credit-notes/{note.pk}/"' in html
    assert f'href="/billing/credit-notes/{note.pk}/pdf/"' in html
    page = _get(client, in_a, f"/billing/credit-notes/{note.pk}/")
    assert page.status_code == 200
    shown = page.content.decode()
    assert f"Credit note {note.number}" in shown
    assert f'href="/billing/invoices/{invoice.pk}/"' in shown
    assert "Refunded with this credit note" in shown
    assert "£20.00" in shown
    pdf = _get(client, in_a, f"/billing/credit-notes/{note.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert f'filename="{note.number}.pdf"' in pdf["Content-Disposition"]
    assert note.number in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_a_credit_note_is_refused_to_those_who_do_not_bill(in_a, client, invoice):
    _pay(in_a, invoice, PRICE)
    note = billing.credit_note_issue(
        actor=in_a.users["billing"], invoice=invoice, amount_minor=100, reason="x", refund_freed=True
    )
    _as(client, in_a, "doctor")
    assert _get(client, in_a, f"/billing/credit-notes/{note.pk}/").status_code in {403, 404}
    assert _get(client, in_a, "/billing/credit-notes/999999/").status_code in {403, 404}


def test_the_printed_invoice_says_who_bills_whom(in_a, client, invoice):
    # given the chain's invoice details, the patient's address and the branch's phone
    billing.invoice_profile_update(
        actor=in_a.users["owner"], registration_number="12345678", tax_number="GB123456789", billing_email=""
    )
    Patient.objects.filter(pk=invoice.patient_id).update(address_line="1 High Street", city="Leeds", postcode="LS1 1AA")
    Branch.objects.filter(pk=invoice.branch_id).update(phone="+442079460000")
    _as(client, in_a, "billing")
    html = _get(client, in_a, _url(invoice, "print")).content.decode()
    assert "Practitioner" in html
    assert str(invoice.appointment.doctor.user.get_full_name()) in html
    assert "1 High Street" in html
    assert "LS1 1AA" in html
    assert "Company registration: 12345678" in html
    assert "VAT number: GB123456789" in html
    assert "020 7946 0000" in html  # as dialled in the branch's country
    assert in_a.users["owner"].email not in html  # the owner's sign-in is not the clinic's e-mail
    assert 'rel="icon"' in html  # no /favicon.ico 404 on the print page
    # when owners give a billing e-mail, it is printed
    billing.invoice_profile_update(
        actor=in_a.users["owner"], registration_number="", tax_number="", billing_email="accounts@alpha.example"
    )
    assert "E-mail: accounts@alpha.example" in _get(client, in_a, _url(invoice, "print")).content.decode()


@pytest.mark.parametrize("typed", ["1E1", "1_0", "\uff11\uff10", "1e-2"])
def test_an_amount_the_api_would_refuse_is_refused_on_the_page(in_a, client, invoice, typed):
    before = ledger_state(invoice)
    _as(client, in_a, "receptionist")
    page = _post(client, in_a, _url(invoice, "pay"), {"pay-amount": typed, "pay-method": "cash"})
    assert page.status_code == 400
    assert "Give an amount written with the digits 0-9" in page.content.decode()
    assert ledger_state(invoice) == before


def test_after_taking_payment_from_the_desk_the_user_goes_back_to_the_desk_day(in_a, client, invoice):
    desk_day = f"/desk/{invoice.branch_id}/?day=2026-01-05"
    _as(client, in_a, "receptionist")
    # the page opened from the desk's day remembers it
    html = _get(client, in_a, _url(invoice), HTTP_REFERER=f"http://{in_a.host}{desk_day}").content.decode()
    assert 'name="next" value="/desk/' in html
    done = _post(client, in_a, _url(invoice, "pay"), {"pay-amount": "75.00", "pay-method": "cash", "next": desk_day})
    assert done.status_code == 302
    assert done["Location"] == desk_day


@pytest.mark.parametrize("elsewhere", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_a_next_outside_the_clinics_site_is_ignored(in_a, client, invoice, elsewhere):
    _as(client, in_a, "receptionist")
    done = _post(client, in_a, _url(invoice, "pay"), {"pay-amount": "10.00", "pay-method": "cash", "next": elsewhere})
    assert done.status_code == 302
    assert done["Location"] == _url(invoice)


def test_the_chart_names_payment_methods_by_their_labels(in_a, client, invoice):
    _pay(in_a, invoice, 1000, "card_terminal")
    _as(client, in_a, "billing")
    html = _get(client, in_a, f"/billing/patients/{invoice.patient_id}/").content.decode()
    assert "Card terminal" in html
    assert "card terminal" not in html


def test_owners_set_the_invoice_details_from_the_chain_settings(in_a, client, invoice):
    from invoicing.models import InvoiceProfile

    _as(client, in_a, "owner")
    assert 'href="/settings/invoice-details/"' in _get(client, in_a, "/settings/").content.decode()
    refused = _post(client, in_a, "/settings/invoice-details/", {"billing_email": "not an e-mail"})
    assert refused.status_code == 400
    assert not InvoiceProfile.objects.exists()
    done = _post(
        client,
        in_a,
        "/settings/invoice-details/",
        {"registration_number": "555", "tax_number": "GB999", "billing_email": "bills@alpha.example"},
    )
    assert done.status_code == 302
    printed = _get(client, in_a, _url(invoice, "print")).content.decode()
    assert "Company registration: 555" in printed
    assert "E-mail: bills@alpha.example" in printed


def test_billing_may_not_change_the_invoice_details_and_nothing_is_written(in_a, client):
    from invoicing.models import InvoiceProfile

    _as(client, in_a, "billing")
    assert _get(client, in_a, "/settings/invoice-details/").status_code == 403
    assert _post(client, in_a, "/settings/invoice-details/", {"tax_number": "X"}).status_code == 403
    assert not InvoiceProfile.objects.exists()
