"""The reconciliation report for owners and billing (/billing/reconciliation/): recent runs, open
mismatches by kind with what Stripe says of each (description, Customer, charge) and a way to
resolve it, or to record a payment missing here against an open invoice; payouts, and a payout
with the payments it contains, each with its invoice and patient. The invoices offered to record a
payment against name their patients (those of the patient Stripe's Customer is first), and recording
asks first. Every patient shown is access-logged."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from frontend.forms import flash, to_int
from invoicing.models import Invoice
from invoicing.reconciliation import selectors, services
from invoicing.reconciliation.api import NOTE_MAX_LENGTH
from invoicing.reconciliation.models import Mismatch, Payout
from tenants.audit.services import access_log_records
from tenants.authz import authorize
from tenants.org.selectors import chain_settings_get


class ResolveForm(forms.Form):
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, required=False, label="How was it resolved?")


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    overview = selectors.reconciliation_overview(actor=request.user)
    offered = {i.pk: i for row in overview.rows for i in row.candidates}
    access_log_records(request, action="list", object_type="invoice", records=offered.values())
    with _chain_clock():
        return render(request, "reconciliation/overview.html", {"overview": overview, "form": ResolveForm()})


def _chain_clock() -> timezone.override:
    """Times on the chain's wall clock for their date (the Stripe account is the chain's), not UTC."""
    return timezone.override(ZoneInfo(chain_settings_get().default_timezone))


@login_required
@require_POST
def mismatch_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    authorize(request.user, "invoicing.resolve_mismatch")
    mismatch = get_object_or_404(Mismatch, pk=pk)
    form = ResolveForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    flash(
        request,
        lambda: services.mismatch_resolve(actor=request.user, mismatch=mismatch, note=note),
        f"The mismatch {mismatch.stripe_id or mismatch.pk} is resolved.",
    )
    return redirect("billing-reconciliation")


@login_required
@require_POST
def mismatch_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a Stripe payment missing here against the invoice picked for it. It asks first: a POST
    without confirm=yes shows the payment, the invoice and its patient, and changes nothing."""
    authorize(request.user, "invoicing.resolve_mismatch")
    mismatch = get_object_or_404(Mismatch, pk=pk)
    if request.POST.get("confirm") != "yes":
        try:
            question = selectors.record_question(
                actor=request.user, mismatch=mismatch, invoice_id=to_int(request.POST.get("invoice")) or 0
            )
        except Invoice.DoesNotExist as error:
            raise Http404("No such invoice") from error
        access_log_records(request, action="view", object_type="invoice", records=[question.invoice])
        with _chain_clock():
            return render(request, "reconciliation/record_confirm.html", {"q": question})
    invoice = get_object_or_404(Invoice, pk=to_int(request.POST.get("invoice")) or 0)
    flash(
        request,
        lambda: services.mismatch_record_payment(actor=request.user, mismatch=mismatch, invoice=invoice),
        f"The Stripe payment {mismatch.stripe_id} is recorded against invoice {invoice.number or invoice.pk}.",
    )
    return redirect("billing-reconciliation")


@login_required
def payout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        detail = selectors.payout_detail(actor=request.user, payout_id=pk)
    except Payout.DoesNotExist as error:
        raise Http404("No such payout") from error
    shown = {line.invoice.pk: line.invoice for line in detail.lines if line.invoice is not None}
    access_log_records(request, action="list", object_type="invoice", records=shown.values())
    with _chain_clock():
        return render(request, "reconciliation/payout.html", {"detail": detail})
