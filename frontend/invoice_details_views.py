"""The chain's invoice details (owners): the company registration number, the VAT or tax number and
the billing e-mail its invoices and credit notes print (invoicing.services.invoice_profile_update)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from frontend.forms import submit
from invoicing import services as billing
from invoicing.selectors import invoice_profile_get


class InvoiceDetailsForm(forms.Form):
    registration_number = forms.CharField(
        required=False, max_length=40, label="Company registration number", help_text="Printed on every invoice."
    )
    tax_number = forms.CharField(required=False, max_length=40, label="VAT or tax number")
    billing_email = forms.EmailField(
        required=False,
        label="Billing e-mail",
        help_text="Where patients write about invoices; empty prints none (a staff sign-in is never printed).",
    )


@login_required
def invoice_details(request: HttpRequest) -> HttpResponse:
    """Owners set what the invoices say about the clinic as a business."""
    profile = invoice_profile_get(actor=request.user)
    initial = {name: getattr(profile, name) for name in InvoiceDetailsForm.base_fields}
    form = InvoiceDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if submit(form, lambda: billing.invoice_profile_update(actor=request.user, **form.cleaned_data)):
            messages.success(request, "Invoice details saved.")
            return redirect("settings-invoice-details")
    return render(request, "billing/invoice_details.html", {"form": form}, status=400 if form.errors else 200)
