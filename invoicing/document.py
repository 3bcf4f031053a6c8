"""The invoice as a document: printable HTML and a PDF made from the same template by WeasyPrint.
It shows the chain's name, the branch's address, the patient, the number and dates, the lines, the
tax and totals, what was paid, refunded and credited, and what is still owed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone

from invoicing.desk import invoice_get
from invoicing.models import Invoice
from tenants.authz import Actor
from tenants.org.models import ChainSettings
from tenants.org.selectors import chain_settings_get

TEMPLATE = "invoicing/invoice_document.html"
STYLESHEET = Path(__file__).resolve().parent.joinpath("static", "invoicing", "invoice.css")


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    chain: ChainSettings

    @property
    def filename(self) -> str:
        return f"{self.invoice.number or f'draft-{self.invoice.pk}'}.pdf"


def invoice_document(*, actor: Actor, invoice_id: int) -> InvoiceDocument:
    """An invoice of a branch this user sees, with the chain it is from (invoicing.desk.invoice_get)."""
    return InvoiceDocument(invoice=invoice_get(actor=actor, invoice_id=invoice_id), chain=chain_settings_get())


def document_html(document: InvoiceDocument, *, for_print: bool = False) -> str:
    """The invoice's HTML: for the browser's print page (its stylesheet linked), or for the PDF."""
    zone = timezone.get_current_timezone() if not document.invoice.branch else document.invoice.branch.timezone
    with timezone.override(zone):
        return render_to_string(TEMPLATE, {"doc": document, "i": document.invoice, "for_print": for_print})


def invoice_pdf(*, actor: Actor, invoice_id: int) -> tuple[InvoiceDocument, bytes]:
    """The invoice as a PDF (A4, the same content as the printable page)."""
    from weasyprint import CSS, HTML  # loads Pango: only when a PDF is asked for

    document = invoice_document(actor=actor, invoice_id=invoice_id)
    pdf = HTML(string=document_html(document)).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
    return document, bytes(pdf or b"")
