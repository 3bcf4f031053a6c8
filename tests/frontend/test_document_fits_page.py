"""The invoice and the credit note as PDFs (WeasyPrint, A4): every box of the page, the header's facts
included, lies within the page's margins whatever the status says (issue 12's walk found "Paid · £10.00
refu" and "CN-0000" cut at the right edge)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from invoicing import document as documents
from invoicing import services as billing
from invoicing.models import Invoice
from tests.factories import Chain
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.scheduling import clinic_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(in_a: Chain) -> Invoice:
    return completed_visit(priced(clinic_setup(in_a)))


def _boxes(box: object) -> Iterator[object]:
    yield box
    for child in getattr(box, "children", ()) or ():
        yield from _boxes(child)


def _overflowing(html: str) -> list[str]:
    """The text boxes of the laid-out PDF that reach past the page's content area (right margin)."""
    from weasyprint import CSS, HTML
    from weasyprint.formatting_structure.boxes import TextBox

    rendered = HTML(string=html).render(stylesheets=[CSS(filename=str(documents.STYLESHEET))])
    out = []
    for page in rendered.pages:
        page_box = page._page_box
        right = page_box.content_box_x() + page_box.width
        for box in _boxes(page_box):
            if isinstance(box, TextBox) and box.position_x + box.width > right + 0.5:
                out.append(box.text)
    return out


def test_a_refunded_invoices_header_fits_the_page(in_a, invoice):
    # given a paid invoice partly refunded, so its status is long
    payment = billing.payment_record(
        actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=PRICE
    )
    billing.refund_record(actor=in_a.users["billing"], payment=payment, amount_minor=1000, reason="Visit cut short")
    # when the PDF is laid out
    doc = documents.invoice_document(actor=in_a.users["billing"], invoice_id=invoice.pk)
    html = documents.document_html(doc)
    assert "Paid · £10.00 refunded" in html
    # then no text reaches past the right margin
    assert _overflowing(html) == []


def test_a_credit_notes_header_fits_the_page(in_a, invoice):
    billing.payment_record(actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=PRICE)
    note = billing.credit_note_issue(
        actor=in_a.users["billing"], invoice=invoice, amount_minor=1000, reason="Discount", refund_freed=True
    )
    doc = documents.credit_note_document(actor=in_a.users["billing"], credit_note_id=note.pk)
    html = documents.credit_note_html(doc)
    assert note.number in html
    assert _overflowing(html) == []
