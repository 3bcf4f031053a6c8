"""The billing pages: an invoice with its actions (take payment, refund, credit note, void), the
printable invoice and its PDF. The billing desk, the day's takings, a patient's billing and the
front desk's "Take payment" are in frontend/billing_desk_views.py.

Each action calls one invoicing service or selector, the same the API (/api/v1/invoicing/) calls;
what a service refuses is said beside the field, with what was typed kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.fields import AmountFormField
from config.money import from_minor, minor_units, money_format
from frontend.credit_note_views import document_download, document_page
from frontend.forms import show_error
from invoicing import services as billing
from invoicing.desk import InvoicePage, invoice_page
from invoicing.document import document_html, invoice_document, invoice_pdf
from invoicing.error_codes import InvoicingErrorCode
from invoicing.models import DESK_METHODS, Invoice, Payment
from invoicing.statement import statement
from tenants.audit.services import access_log_records
from tenants.org.selectors import chain_settings_get


class AmountField(AmountFormField):
    """An amount typed in the invoice's currency (75.00), cleaned to minor units (7500) by the one
    parser of money input (config.fields.parse_amount): what the API refuses, the page refuses."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        super().__init__(places=minor_units(currency), **kwargs)


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
    refund_freed = forms.BooleanField(
        required=False,
        label="Refund to the patient what this credit frees of what they paid",
        help_text="Needed when the credit is more than is still owed: that part is given back, newest payment first.",
    )

    def __init__(self, *args: Any, currency: str, paid: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"] = AmountField(currency=currency, label=f"Amount to credit ({currency})")
        if not paid:  # nothing paid, nothing to free
            del self.fields["refund_freed"]
        self.order_fields(["amount", "reason", "refund_freed"])


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
        "credit_form": CreditNoteForm(
            bound("credit"), currency=currency, paid=invoice.paid_minor > invoice.refunded_minor, prefix="credit"
        ),
        "void_form": VoidForm(bound("void"), prefix="void"),
    }


def _render_invoice(
    request: HttpRequest, page: InvoicePage, status: int = 200, *, posted: forms.Form | None = None, which: str = ""
) -> HttpResponse:
    """The invoice page; after a refused action, with the posted form (``which``) and its errors."""
    access_log_records(request, action="view", object_type="invoice", records=[page.invoice])
    with timezone.override(ZoneInfo(page.invoice.branch.timezone)):  # times as on the branch's wall clock
        context: dict[str, Any] = {
            "page": page,
            "i": page.invoice,
            "open_form": which,
            "statement": statement(page.invoice, locale=chain_settings_get().locale),
            "next_url": _next(request),
            **_forms(page),
        }
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
            if exc.code == InvoicingErrorCode.CREDIT_FREES_PAYMENT and "refund_freed" in form.fields:
                freed = form.cleaned_data["amount"] - page.invoice.due_minor
                form.add_error("refund_freed", f"{type(exc).default_message} It frees {_money(page)(freed)}.")
            elif not exc.fields and exc.code in AMOUNT_REFUSALS and "amount" in form.fields:
                form.add_error("amount", f"{type(exc).default_message} {_left(page, exc.code, form.cleaned_data)}")
            else:
                show_error(form, exc, FIELD_MAP)
        else:
            messages.success(request, done)
            back = _next(request)
            return redirect(back) if back else redirect("billing-invoice", pk=pk)
    return _render_invoice(request, page, 400, posted=form, which=which)


def _next(request: HttpRequest) -> str:
    """Where the user came from, to go back there after the action: ``next`` (posted by the page's
    form, or in the query), else on opening the page the page that linked here (Referer: the front
    desk's day, a patient's chart). Only a path of this clinic's own site; "" otherwise (another
    host, a scheme, a protocol-relative or odd URL, or this invoice's own pages)."""
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    if not target and request.method == "GET":
        came = urlsplit(request.headers.get("Referer", ""))
        if came.netloc == request.get_host() and not came.path.startswith(request.path.split("#")[0]):
            target = came.path + (f"?{came.query}" if came.query else "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return ""
    return target


def _left(page: InvoicePage, code: str, typed: dict[str, Any]) -> str:
    """What is left to pay, to credit or to refund, said with a refusal of the amount: for a refund,
    what is left on the payment chosen (the service refuses more than that, not the invoice's)."""
    invoice = page.invoice
    money = _money(page)
    if code == InvoicingErrorCode.REFUND_EXCEEDS_PAID:
        payment = next((p for p in page.refundable if p.pk == typed.get("payment")), None)
        if payment is not None:
            return f"Left to refund on this payment: {money(payment.amount_minor - payment.refunded_minor)}."
        return f"Left to refund on the invoice: {money(invoice.paid_minor - invoice.refunded_minor)}."
    if "refund_freed" in typed:  # a credit note: what the invoice still charges
        charged = invoice.total_minor - invoice.credited_minor - invoice.refunded_minor
        return f"The invoice can be credited up to {money(charged)}."
    return f"Still owed: {money(invoice.due_minor)}."


def _minor(page: InvoicePage, amount: int) -> int:
    """An amount as the page's AmountField cleaned it: minor units of the invoice's currency already."""
    return amount


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

    return _act(request, pk, "pay", run, "Payment recorded.")  # then back to ``next`` (the desk's day) if given


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
    """Billing credits part or all of an issued, partly paid or paid invoice (a numbered credit
    note, with its own page and PDF); past what is owed, only with the refund of what it frees."""

    def run(page: InvoicePage, d: dict[str, Any]) -> Any:
        return billing.credit_note_issue(
            actor=request.user,
            invoice=page.invoice,
            amount_minor=_minor(page, d["amount"]),
            reason=d["reason"],
            refund_freed=bool(d.get("refund_freed")),
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
    return document_page(request, document.invoice, document_html(document, for_print=True))


@login_required
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice as a PDF (WeasyPrint), downloaded."""
    document, pdf = invoice_pdf(actor=request.user, invoice_id=pk)
    return document_download(request, document.invoice, pdf, document.filename)
