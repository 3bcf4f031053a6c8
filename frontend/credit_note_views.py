"""Documents as pages and PDFs: a credit note's page (printable, linked from its invoice and back)
and its PDF, and the two answers every document gives (frontend/billing_views.py's printable invoice
and its PDF answer the same way). Each page reads one selector (invoicing.document)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from invoicing.document import credit_note_document, credit_note_html, credit_note_pdf
from invoicing.models import Invoice
from tenants.audit.services import access_log_records


def document_page(request: HttpRequest, invoice: Invoice, html: str) -> HttpResponse:
    """A document of ``invoice`` as a page to read and print, its reading logged."""
    access_log_records(request, action="view", object_type="invoice", records=[invoice])
    return HttpResponse(html)


def document_download(request: HttpRequest, invoice: Invoice, pdf: bytes, filename: str) -> HttpResponse:
    """A document of ``invoice`` as a PDF to download, its reading logged."""
    access_log_records(request, action="view", object_type="invoice", records=[invoice])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def credit_note_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The credit note as a page to read and print."""
    document = credit_note_document(actor=request.user, credit_note_id=pk)
    return document_page(request, document.invoice, credit_note_html(document, for_print=True))


@login_required
def credit_note_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The credit note as a PDF (WeasyPrint), downloaded."""
    document, pdf = credit_note_pdf(actor=request.user, credit_note_id=pk)
    return document_download(request, document.invoice, pdf, document.filename)
