"""The billing pages: an invoice with its actions (take payment, refund, credit note, void), the
printable invoice and its PDF. The billing desk, the day's takings, a patient's billing and the
front desk's "Take payment" are in frontend/billing_desk_views.py.

Each action calls one invoicing service or selector, the same the API (/api/v1/invoicing/) calls;
what a service refuses is said beside the field, with what was typed kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.money import from_minor, minor_units, money_format, to_minor
from frontend.forms import show_error
from invoicing import services as billing
from invoicing.desk import InvoicePage, invoice_page
from invoicing.document import document_html, invoice_document, invoice_pdf
from invoicing.error_codes import InvoicingErrorCode
from invoicing.models import DESK_METHODS, Invoice, Payment
from tenants.audit.services import access_log_records
from tenants.org.selectors import chain_settings_get


class AmountField(forms.DecimalField):
    """An amount typed in the invoice's currency (75.00), kept as minor units (7500) by to_minor."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        places = minor_units(currency)
        step = Decimal(1).scaleb(-places)
        super().__init__(min_value=step, decimal_places=places, max_digits=14, **kwargs)
        self.widget.attrs |= {"step": str(step), "inputmode": "decimal"}


class PaymentForm(forms.Form):
    method = forms.ChoiceField(choices=[(m.value, m.label) for m in DESK_METHODS], widget=forms.RadioSelect)
    reference = forms.CharField(required=False, max_length=120, help_text="Terminal receipt number, if any")

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"] = AmountField(currency=currency, label=f"Amount ({currency})")
        self.order_fields(["amount", "method", "reference"])


class RefundForm(forms.Form):
    payment = forms.TypedChoiceField(coerce=int, label="Payment to refund")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500, label="Reason")
    confirm = forms.BooleanField(label="I confirm this money is given back to the patient")

    def __init__(self, *args: Any, currency: str, payments: list[Payment], money: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = [  # type: ignore[attr-defined]
            (
                p.pk,
                f"{p.get_method_display()} of {money(p.amount_minor)} on "
                f"{date_format(timezone.localtime(p.received_at), 'SHORT_DATE_FORMAT')}"
                f" ({money(p.amount_minor - p.refunded_minor)} refundable)",
            )
            for p in payments
        ]
        self.fields["amount"] = AmountField(currency=currency, label=f"Amount to refund ({currency})")
        self.order_fields(["payment", "amount", "reason", "confirm"])


class CreditNoteForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500, label="Reason")

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"] = AmountField(currency=currency, label=f"Amount to credit ({currency})")
        self.order_fields(["amount", "reason"])


class VoidForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500, label="Why it is void")


def _money(page: InvoicePage) -> Any:
    locale = chain_settings_get().locale
    return lambda amount: money_format(amount, page.invoice.currency, locale=locale)


def _forms(page: InvoicePage, data: dict[str, Any] | None = None, which: str = "") -> dict[str, forms.Form]:
    """The invoice page's forms: the one posted (``which``) bound to what was typed, the others
    fresh; the payment's amount is prefilled with what is still owed."""
    invoice = page.invoice
    currency = invoice.currency

    def bound(name: str) -> dict[str, Any] | None:
        return data if which == name else None

    return {
        "pay_form": PaymentForm(
            bound("pay"),
            currency=currency,
            initial={"amount": from_minor(invoice.due_minor, currency), "method": DESK_METHODS[0].value},
            prefix="pay",
        ),
        "refund_form": RefundForm(
            bound("refund"), currency=currency, payments=page.refundable, money=_money(page), prefix="refund"
        ),
        "credit_form": CreditNoteForm(bound("credit"), currency=currency, prefix="credit"),
        "void_form": VoidForm(bound("void"), prefix="void"),
    }


def _render_invoice(
    request: HttpRequest, page: InvoicePage, status: int = 200, *, posted: forms.Form | None = None, which: str = ""
) -> HttpResponse:
    """The invoice page; after a refused action, with the posted form (``which``) and its errors."""
    access_log_records(request, action="view", object_type="invoice", records=[page.invoice])
    with timezone.override(ZoneInfo(page.invoice.branch.timezone)):  # times as on the branch's wall clock
        context: dict[str, Any] = {"page": page, "i": page.invoice, "open_form": which, **_forms(page)}
        if posted is not None:
            context[f"{which}_form"] = posted
        return render(request, "billing/invoice.html", context, status=status)


@login_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_invoice(request, invoice_page(actor=request.user, invoice_id=pk))


#: A service's field names as the page's forms name them.
FIELD_MAP = {"amount_minor": "amount"}
#: Refusals that are about the amount typed: said beside it.
AMOUNT_REFUSALS = {InvoicingErrorCode.OVERPAYMENT, InvoicingErrorCode.REFUND_EXCEEDS_PAID}


def _act(request: HttpRequest, pk: int, which: str, run: Any, done: str) -> HttpResponse:
    """One action of the invoice page: the posted form valid, its service run (``run(page, data)``);
    done, back to the invoice with ``done`` said; refused, the page again with the form's errors
    beside its fields and what was typed kept."""
    page = invoice_page(actor=request.user, invoice_id=pk)
    form = _forms(page, request.POST, which)[f"{which}_form"]
    if form.is_valid():
        try:
            run(page, form.cleaned_data)
        except ApplicationError as exc:
            if exc.status in {403, 404}:  # a refusal of the person, not of what was typed: its own page
                raise
            if not exc.fields and exc.code in AMOUNT_REFUSALS and "amount" in form.fields:
                form.add_error("amount", f"{type(exc).default_message} {_left(page, exc.code)}")
            else:
                show_error(form, exc, FIELD_MAP)
        else:
            messages.success(request, done)
            return redirect("billing-invoice", pk=pk)
    return _render_invoice(request, page, 400, posted=form, which=which)


def _left(page: InvoicePage, code: str) -> str:
    """What is left to pay or to refund, said with a refusal of the amount."""
    invoice = page.invoice
    if code == InvoicingErrorCode.OVERPAYMENT:
        return f"Still owed: {_money(page)(invoice.due_minor)}."
    return f"Left to refund on the invoice: {_money(page)(invoice.paid_minor - invoice.refunded_minor)}."


def _minor(page: InvoicePage, amount: Decimal) -> int:
    return to_minor(amount, page.invoice.currency)


@login_required
@require_POST
def invoice_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Reception or billing take a cash or card-terminal payment, all or part of what is owed."""

    def run(page: InvoicePage, d: dict[str, Any]) -> Payment:
        return billing.payment_record(
            actor=request.user,
            invoice=page.invoice,
            method=d["method"],
            amount_minor=_minor(page, d["amount"]),
            reference=d["reference"],
        )

    return _act(request, pk, "pay", run, "Payment recorded.")


@login_required
@require_POST
def invoice_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Billing gives back all or part of a desk payment, with the reason, once confirmed."""

    def run(page: InvoicePage, d: dict[str, Any]) -> Any:
        payment = next(p for p in page.refundable if p.pk == d["payment"])
        return billing.refund_record(
            actor=request.user, payment=payment, amount_minor=_minor(page, d["amount"]), reason=d["reason"]
        )

    return _act(request, pk, "refund", run, "Refund recorded.")


@login_required
@require_POST
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    """Billing credits part or all of what an issued invoice asks for (a numbered credit note)."""

    def run(page: InvoicePage, d: dict[str, Any]) -> Any:
        return billing.credit_note_issue(
            actor=request.user, invoice=page.invoice, amount_minor=_minor(page, d["amount"]), reason=d["reason"]
        )

    return _act(request, pk, "credit", run, "Credit note issued.")


@login_required
@require_POST
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    """Billing voids an invoice nothing was paid on."""

    def run(page: InvoicePage, d: dict[str, Any]) -> Invoice:
        return billing.invoice_void(actor=request.user, invoice=page.invoice, reason=d["reason"])

    return _act(request, pk, "void", run, "Invoice voided.")


@login_required
def invoice_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice as a page to print (its own print stylesheet)."""
    document = invoice_document(actor=request.user, invoice_id=pk)
    access_log_records(request, action="view", object_type="invoice", records=[document.invoice])
    return HttpResponse(document_html(document, for_print=True))


@login_required
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice as a PDF (WeasyPrint), downloaded."""
    document, pdf = invoice_pdf(actor=request.user, invoice_id=pk)
    access_log_records(request, action="view", object_type="invoice", records=[document.invoice])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response
