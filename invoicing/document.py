"""The invoice and the credit note as documents: printable HTML and a PDF made from the same
template by WeasyPrint. An invoice shows who bills (the chain, its registration and tax numbers,
the branch's address and phone as dialled there, the billing e-mail), who is billed (the patient
and their address), the number and dates, the visit and its practitioner, the lines, and the totals
as lines that add up to the balance due (invoicing.statement), with each payment and each refund
naming the payment and method it gives back. A credit note is a document of its own: its number,
the invoice it credits, the amount, the reason, and the refunds it came with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone

from config.errors import NotFound
from config.validation import phone_shown
from invoicing.desk import invoice_get
from invoicing.models import CreditNote, Invoice, InvoiceProfile, Refund
from invoicing.statement import Statement, statement
from tenants.accounts.models import User
from tenants.authz import Actor
from tenants.org.models import Branch, ChainSettings
from tenants.org.selectors import chain_settings_get, phone_region

TEMPLATE = "invoicing/invoice_document.html"
CREDIT_NOTE_TEMPLATE = "invoicing/credit_note_document.html"
STYLESHEET = Path(__file__).resolve().parent.joinpath("static", "invoicing", "invoice.css")


@dataclass(frozen=True)
class Issuer:
    """Who a document comes from: the chain and the branch, as printed on it."""

    chain: ChainSettings
    profile: InvoiceProfile
    branch: Branch
    phone: str  # the branch's phone as dialled in its country, else the chain's
    email: str  # where patients write about bills; never a staff member's sign-in


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    chain: ChainSettings
    issuer: Issuer
    statement: Statement
    practitioner: str = ""

    @property
    def filename(self) -> str:
        return f"{self.invoice.number or f'draft-{self.invoice.pk}'}.pdf"


@dataclass(frozen=True)
class CreditNoteDocument:
    note: CreditNote
    invoice: Invoice
    chain: ChainSettings
    issuer: Issuer
    refunds: list[Refund] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.note.number}.pdf"

    @property
    def refunded_minor(self) -> int:
        return sum(r.amount_minor for r in self.refunds)


def _billing_email(chain: ChainSettings, profile: InvoiceProfile) -> str:
    """The invoice profile's billing e-mail; else the chain's contact e-mail unless it is someone's
    sign-in (a new chain's contact e-mail is its owner's login until the owner changes it)."""
    if profile.billing_email:
        return profile.billing_email
    email = chain.contact_email
    if email and User.objects.filter(email__iexact=email).exists():
        return ""
    return email


def _issuer(branch: Branch) -> Issuer:
    chain = chain_settings_get()
    profile = InvoiceProfile.objects.filter(pk=1).first() or InvoiceProfile(pk=1)
    number = branch.phone or chain.contact_phone
    shown = phone_shown(number, region=phone_region(timezone_name=branch.timezone)) if number else ""
    return Issuer(chain=chain, profile=profile, branch=branch, phone=shown, email=_billing_email(chain, profile))


def _practitioner(invoice: Invoice) -> str:
    visit = invoice.appointment
    if visit is None or visit.doctor_id is None:
        return ""
    doctor = visit.doctor
    name = doctor.user.get_full_name() or str(doctor.user)
    return f"{name}, {doctor.job_title}" if doctor.job_title else name


def invoice_document(*, actor: Actor, invoice_id: int) -> InvoiceDocument:
    """An invoice of a branch this user sees, as a document (invoicing.desk.invoice_get)."""
    invoice = invoice_get(actor=actor, invoice_id=invoice_id)
    issuer = _issuer(invoice.branch)
    return InvoiceDocument(
        invoice=invoice,
        chain=issuer.chain,
        issuer=issuer,
        statement=statement(invoice, locale=issuer.chain.locale),
        practitioner=_practitioner(invoice),
    )


def credit_note_document(*, actor: Actor, credit_note_id: int) -> CreditNoteDocument:
    """A credit note on an invoice of a branch this user sees; any other is not found."""
    note = CreditNote.objects.filter(pk=credit_note_id).values_list("invoice_id", flat=True).first()
    if note is None:
        raise NotFound("No such credit note.")
    invoice = invoice_get(actor=actor, invoice_id=note)
    found = next(n for n in invoice.credit_notes.all() if n.pk == credit_note_id)
    refunds = [r for p in invoice.payments.all() for r in p.refunds.all() if r.credit_note_id == found.pk]
    return CreditNoteDocument(
        note=found, invoice=invoice, chain=chain_settings_get(), issuer=_issuer(invoice.branch), refunds=refunds
    )


def _render(template: str, branch: Branch, context: dict[str, object]) -> str:
    with timezone.override(branch.timezone):
        return render_to_string(template, context)


def document_html(document: InvoiceDocument, *, for_print: bool = False) -> str:
    """The invoice's HTML: for the browser's print page (its stylesheet linked), or for the PDF."""
    return _render(TEMPLATE, document.invoice.branch, {"doc": document, "i": document.invoice, "for_print": for_print})


def credit_note_html(document: CreditNoteDocument, *, for_print: bool = False) -> str:
    """The credit note's HTML: its page (printable, its stylesheet linked), or for the PDF."""
    return _render(
        CREDIT_NOTE_TEMPLATE,
        document.invoice.branch,
        {"doc": document, "n": document.note, "i": document.invoice, "for_print": for_print},
    )


def _pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML  # loads Pango: only when a PDF is asked for

    return bytes(HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))]) or b"")


def invoice_pdf(*, actor: Actor, invoice_id: int) -> tuple[InvoiceDocument, bytes]:
    """The invoice as a PDF (A4, the same content as the printable page)."""
    document = invoice_document(actor=actor, invoice_id=invoice_id)
    return document, _pdf(document_html(document))


def credit_note_pdf(*, actor: Actor, credit_note_id: int) -> tuple[CreditNoteDocument, bytes]:
    """The credit note as a PDF (A4, the same content as its page)."""
    document = credit_note_document(actor=actor, credit_note_id=credit_note_id)
    return document, _pdf(credit_note_html(document))
