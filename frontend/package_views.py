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
from invoicing.package_checkout import package_buy_online, packages_sold_online
from invoicing.package_ledger import (
    CancelQuote,
    GiveBack,
    package_cancel,
    package_cancel_quote,
    purchase_rows,
    visit_package,
)
from packages import services as pkg
from packages.models import PackageProduct
from packages.selectors import (
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
from tenants.org.selectors import branch_ids_visible, branch_list, chain_settings_get


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


class ProductChoice(forms.ModelChoiceField):
    """A package offered for sale, named with what it is: "Physio 5: 5 sessions, £250.00, 90 days"."""

    def label_from_instance(self, obj: PackageProduct) -> str:  # type: ignore[override]
        return f"{obj.name}: {obj.sessions} sessions, {_money(obj.price_minor, obj.currency)}, {obj.validity_days} days"


class SellForm(forms.Form):
    product = ProductChoice(queryset=PackageProduct.objects.none(), label="Package")
    branch = forms.ModelChoiceField(queryset=Branch.objects.none(), label="Sold at")

    def __init__(self, data: QueryDict | None, *, request: HttpRequest) -> None:
        super().__init__(data)
        self.fields["product"].queryset = product_list(active_only=True)  # type: ignore[attr-defined]
        branches = branch_list(actor=request.user).filter(is_active=True).order_by("name")
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]
        # The user's own branch first: the only one they see, or the first they work at.
        assigned = branch_ids_visible(actor=request.user)
        if assigned or branches.count() == 1:
            self.fields["branch"].initial = branches.first()


@login_required
def patient_packages(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's packages and what is left of each (with each sale's invoice, "Awaiting payment"
    while it is owed), the visits holding a session, and (for the desk) the form that sells one; the
    sale's invoice is raised with it and linked from the message."""
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
    rows = purchase_rows(actor=request.user, patient_id=patient.pk)
    sessions = list(pending_sessions(actor=request.user, patient_id=patient.pk))
    access_log_records(request, action="list", object_type="package_purchase", records=[r.purchase for r in rows])
    context = {
        "patient": patient,
        "purchases": [(r, _money(r.purchase.price_minor, r.purchase.currency)) for r in rows],
        "sessions": sessions,
        "form": form,
        "can_sell": can_sell,
        "can_cancel": request.user.has_perm("packages.cancel_purchase"),
    }
    return render(request, "packages/patient.html", context)


class CancelForm(forms.Form):
    give_back = forms.ChoiceField(
        choices=[],
        widget=forms.RadioSelect,
        label="What the patient gets back",
    )
    reason = forms.CharField(max_length=200, label="Reason", help_text="Kept with the package and on the credit note.")

    def __init__(self, data: QueryDict | None, *, pro_rata: CancelQuote) -> None:
        super().__init__(data)
        money = _money(pro_rata.value_minor, pro_rata.currency)
        parts = []
        if pro_rata.credit_minor:
            parts.append(f"{_money(pro_rata.credit_minor, pro_rata.currency)} credited off what is owed")
        if pro_rata.refund_minor:
            parts.append(f"{_money(pro_rata.refund_minor, pro_rata.currency)} refunded")
        how = f" ({', '.join(parts)})" if parts else ""
        self.fields["give_back"].choices = [  # type: ignore[attr-defined]
            (
                GiveBack.PRO_RATA.value,
                f"The unused sessions, pro rata: {pro_rata.unused} of {pro_rata.sessions_total}, {money}{how}",
            ),
            (GiveBack.NONE.value, "Nothing: no credit note, no refund"),
        ]


@login_required
def package_cancel_page(request: HttpRequest, pk: int, purchase_pk: int) -> HttpResponse:
    """Billing or an owner cancels a patient's package, choosing what is given back (a credit note on
    the sale's invoice and a refund of what was paid, or nothing); visits booked on it stay booked,
    paid as usual."""
    authorize(request.user, "packages.cancel_purchase")
    purchase = get_object_or_404(purchase_list(actor=request.user, patient_id=pk), pk=purchase_pk)
    form = CancelForm(
        request.POST if request.method == "POST" else None, pro_rata=package_cancel_quote(purchase=purchase)
    )
    if form.is_bound and form.is_valid():
        done = submit(
            form,
            lambda: package_cancel(
                actor=request.user,
                purchase=purchase,
                reason=form.cleaned_data["reason"],
                give_back=GiveBack(form.cleaned_data["give_back"]),
            ),
        )
        if done is not None:
            access_log_records(request, action="update", object_type="package_purchase", records=[done.purchase])
            messages.success(request, f"{purchase.name} cancelled.")
            return redirect("patient-packages", pk=pk)
    access_log_records(request, action="view", object_type="package_purchase", records=[purchase])
    return render(request, "packages/cancel.html", {"purchase": purchase, "form": form})


@login_required
def packages_report(request: HttpRequest) -> HttpResponse:
    """Managers' report: sessions still owed on active packages, per product."""
    authorize(request.user, "packages.view_report")
    return render(request, "packages/report.html", {"rows": pending_by_product(actor=request.user)})


@login_required
def appointment_package_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk panel's package line ("Package: 3 of 10 left"), asked for by the panel (htmx). A POST
    takes the visit off its package ("Don't use the package", action=release) or puts it on one
    ("Use the package", action=use: a visit booked before the sale, or taken off it by mistake), and
    answers the line again. The line says when the package's invoice is still owed."""
    appointment = get_object_or_404(appointment_list(actor=request.user).select_related("branch"), pk=pk)
    authorize(request.user, "packages.view_purchase", appointment.branch)
    error = ""
    if request.method == "POST":
        use = request.POST.get("action") == "use"
        change = pkg.package_session_use if use else pkg.package_session_release
        try:
            change(actor=request.user, appointment=appointment)
        except ApplicationError as exc:
            error = exc.message
        if not request.htmx and appointment.patient_id is not None:  # type: ignore[attr-defined]
            done = "The visit is on the package." if use else "The visit is off the package."
            (messages.error if error else messages.success)(request, error or done)
            return redirect("patient-packages", pk=appointment.patient_id)
    line = visit_package(appointment=appointment)
    shown = line.package.purchase_id if line.package else (line.usable.pk if line.usable else None)
    if shown is not None and appointment.patient_id is not None:
        access_log_response(
            request,
            action="view",
            object_type="package_purchase",
            object_ids=[shown],
            patient_ids=[appointment.patient_id],
        )
    can_change = request.user.has_perm("packages.change_session", appointment.branch)
    due = _money(line.unpaid.due_minor, line.unpaid.currency) if line.unpaid is not None else ""
    context = {"a": appointment, "line": line, "can_change": can_change, "error": error, "due": due}
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
    on_sale = packages_sold_online()
    form = BuyForm(request.POST if request.method == "POST" and on_sale else None)
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
    context = {"patient": patient, "purchases": purchases, "products": products, "form": form, "on_sale": on_sale}
    return render(request, "packages/portal.html", context)


@patient_required
def portal_package_paid(request: HttpRequest, patient: Patient, token: str) -> HttpResponse:
    """Back from Stripe: the payment read again; paid, the package is ready to use."""
    back = checkout_return(token=token)
    if back.checkout.patient_id != patient.pk:
        raise Http404
    invoice = back.checkout.invoice
    access_log_records(request, action="view", object_type="invoice", records=[invoice] if invoice else [])
    return render(request, "packages/portal_paid.html", {"back": back})
