"""Session packages' pages: owners define the products (settings), reception sells a package from
the patient's chart and reads what is left, managers read what is still owed per product."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.money import from_minor, minor_units, money_format, to_minor
from frontend.forms import flash, submit
from frontend.portal_views import patient_required
from invoicing.checkout.services import checkout_return
from invoicing.package_checkout import package_buy_online
from packages import services as pkg
from packages.models import PackageProduct
from packages.selectors import (
    appointment_package,
    pending_by_product,
    pending_sessions,
    product_list,
    purchase_list,
    purchases_of_patient,
)
from patients.models import Patient
from scheduling.models import Service
from scheduling.selectors import appointment_list
from tenants.audit.services import access_log_patients, access_log_records, access_log_response
from tenants.authz import authorize
from tenants.org.models import Branch
from tenants.org.selectors import branch_list, chain_settings_get


def _money(amount_minor: int, currency: str) -> str:
    return money_format(amount_minor, currency, locale=chain_settings_get().locale)


class ProductForm(forms.Form):
    name = forms.CharField(max_length=120)
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.filter(is_active=True).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        label="Services it covers",
    )
    sessions = forms.IntegerField(min_value=1, max_value=1000, label="Sessions")
    validity_days = forms.IntegerField(min_value=1, max_value=3650, label="Valid for (days from the sale)")
    branches = forms.ModelMultipleChoiceField(
        queryset=Branch.objects.filter(is_active=True).order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Sold at",
        help_text="None ticked: sold at every branch.",
    )

    def __init__(self, data: QueryDict | None, *, currency: str) -> None:
        super().__init__(data)
        self.fields["price"] = forms.DecimalField(
            min_value=Decimal(0),
            decimal_places=minor_units(currency),
            label=f"Price ({currency})",
            help_text=f"In {currency}, e.g. {from_minor(30000, currency)}.",
            widget=forms.NumberInput(attrs={"inputmode": "decimal"}),
        )
        self.currency = currency

    def product_fields(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        d["price_minor"] = to_minor(d.pop("price"), self.currency)
        return d


@login_required
def packages_settings(request: HttpRequest) -> HttpResponse:
    """The owners' list of package products and the form to add one."""
    authorize(request.user, "packages.manage_product")
    currency = chain_settings_get().currency
    form = ProductForm(request.POST if request.method == "POST" else None, currency=currency)
    if request.method == "POST" and form.is_valid():
        made = submit(form, lambda: pkg.product_create(actor=request.user, **form.product_fields()))
        if made is not None:
            messages.success(request, f"Package {made.name} added.")
            return redirect("settings-packages")
    products = [(p, _money(p.price_minor, p.currency)) for p in product_list()]
    return render(request, "packages/settings.html", {"form": form, "products": products})


@login_required
@require_POST
def package_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop selling a product."""
    product = get_object_or_404(PackageProduct, pk=pk)
    flash(
        request,
        lambda: pkg.product_retire(actor=request.user, product=product),
        f"{product.name} is no longer sold.",
    )
    return redirect("settings-packages")


class SellForm(forms.Form):
    product = forms.ModelChoiceField(queryset=PackageProduct.objects.none(), label="Package")
    branch = forms.ModelChoiceField(queryset=Branch.objects.none(), label="Sold at")

    def __init__(self, data: QueryDict | None, *, request: HttpRequest) -> None:
        super().__init__(data)
        self.fields["product"].queryset = product_list(active_only=True)  # type: ignore[attr-defined]
        self.fields["branch"].queryset = branch_list(actor=request.user).filter(is_active=True)  # type: ignore[attr-defined]


@login_required
def patient_packages(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's packages and what is left of each, the visits holding a session, and (for the
    desk) the form that sells one; the sale's invoice is raised with it."""
    authorize(request.user, "packages.view_purchase")
    patient = get_object_or_404(Patient, pk=pk)
    can_sell = request.user.has_perm("packages.sell")
    form = SellForm(request.POST if request.method == "POST" and can_sell else None, request=request)
    if form.is_bound and form.is_valid():
        sold = submit(
            form,
            lambda: pkg.package_sell(
                actor=request.user,
                product=form.cleaned_data["product"],
                patient=patient,
                branch=form.cleaned_data["branch"],
            ),
        )
        if sold is not None:
            access_log_records(request, action="create", object_type="package_purchase", records=[sold])
            messages.success(request, f"{sold.name} sold; its invoice is issued.")
            return redirect("patient-packages", pk=patient.pk)
    purchases = list(purchase_list(actor=request.user, patient_id=patient.pk))
    sessions = list(pending_sessions(actor=request.user, patient_id=patient.pk))
    access_log_records(request, action="list", object_type="package_purchase", records=purchases)
    context = {
        "patient": patient,
        "purchases": [(p, _money(p.price_minor, p.currency)) for p in purchases],
        "sessions": sessions,
        "form": form,
        "can_sell": can_sell,
    }
    return render(request, "packages/patient.html", context)


@login_required
def packages_report(request: HttpRequest) -> HttpResponse:
    """Managers' report: sessions still owed on active packages, per product."""
    authorize(request.user, "packages.view_report")
    return render(request, "packages/report.html", {"rows": pending_by_product(actor=request.user)})


@login_required
def appointment_package_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk panel's package line ("Package: 3 of 10 left"), asked for by the panel (htmx); a POST
    takes the visit off its package ("Don't use the package") and answers the line again."""
    appointment = get_object_or_404(appointment_list(actor=request.user).select_related("branch"), pk=pk)
    authorize(request.user, "packages.view_purchase", appointment.branch)
    error = ""
    if request.method == "POST":
        try:
            pkg.package_session_release(actor=request.user, appointment=appointment)
        except ApplicationError as exc:
            error = exc.message
        if not request.htmx and appointment.patient_id is not None:  # type: ignore[attr-defined]
            (messages.error if error else messages.success)(request, error or "The visit is off the package.")
            return redirect("patient-packages", pk=appointment.patient_id)
    package = appointment_package(appointment_id=appointment.pk)
    if package is not None and appointment.patient_id is not None:
        access_log_response(
            request,
            action="view",
            object_type="package_purchase",
            object_ids=[package.purchase_id],
            patient_ids=[appointment.patient_id],
        )
    can_release = request.user.has_perm("packages.change_session", appointment.branch)
    context = {"a": appointment, "package": package, "can_release": can_release, "error": error}
    return render(request, "packages/_panel.html", context)


class BuyForm(forms.Form):
    product = forms.ModelChoiceField(queryset=PackageProduct.objects.none(), label="Package")
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.filter(is_active=True).order_by("name"), label="Where you will use it"
    )

    def __init__(self, data: QueryDict | None) -> None:
        super().__init__(data)
        self.fields["product"].queryset = product_list(active_only=True)  # type: ignore[attr-defined]


@patient_required
def portal_packages(request: HttpRequest, patient: Patient) -> HttpResponse:
    """The patient's packages and what is left of each; buying one sends them to Stripe's page."""
    form = BuyForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        started = submit(
            form,
            lambda: package_buy_online(
                actor=request.user, product=form.cleaned_data["product"], branch=form.cleaned_data["branch"]
            ),
        )
        if started is not None and started.session_url:
            return redirect(started.session_url)
    purchases = list(purchases_of_patient(patient_id=patient.pk))
    access_log_patients(request, action="view", patients=[patient])
    access_log_records(request, action="list", object_type="package_purchase", records=purchases)
    products = [(p, _money(p.price_minor, p.currency)) for p in product_list(active_only=True)]
    context = {"patient": patient, "purchases": purchases, "products": products, "form": form}
    return render(request, "packages/portal.html", context)


@patient_required
def portal_package_paid(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    """Back from Stripe: the payment read again; paid, the package is ready to use."""
    back = checkout_return(token=token)
    if back.checkout.patient_id != patient.pk:
        raise Http404
    access_log_records(request, action="view", object_type="invoice", records=[back.checkout.invoice])
    return render(request, "packages/portal_paid.html", {"back": back})
