"""Pages of the public site: the landing page and the platform operator's console."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from frontend.forms import ClinicForm, SuspendForm, submit
from tenants import services
from tenants.authz import authorize
from tenants.models import Clinic, Plan
from tenants.selectors import clinic_host, site_url


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "platform/landing.html")


def _rows() -> list[tuple[Clinic, str]]:
    clinics = Clinic.objects.exclude(schema_name="public").exclude(status__in=Clinic.NOT_CHAINS).select_related("plan")
    return [(c, site_url(clinic_host(c))) for c in clinics]


@login_required
def clinics(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "tenants.manage_clinics")
    form = ClinicForm(request.POST or None, plans=list(Plan.objects.values_list("code", "name")))
    created_link = None
    if request.method == "POST" and form.is_valid():
        d = {**form.cleaned_data, "plan": form.cleaned_data["plan"] or None}
        result = submit(form, lambda: services.clinic_create(actor=request.user, **d))
        if result:
            clinic, created_link = result
            messages.success(request, f"{clinic.name} created. Send the owner the set-up link below.")
            form = ClinicForm(plans=list(Plan.objects.values_list("code", "name")))
    return render(request, "platform/clinics.html", {"rows": _rows(), "form": form, "created_link": created_link})


@login_required
@require_POST
def clinic_status(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    authorize(request.user, "tenants.manage_clinics")
    clinic = get_object_or_404(
        Clinic.objects.exclude(schema_name="public").exclude(status__in=Clinic.NOT_CHAINS), slug=slug
    )
    if action == "suspend":
        form = SuspendForm(request.POST)
        reason = form.data.get("reason", "")
        clinic = services.clinic_suspend(actor=request.user, clinic=clinic, reason=str(reason))
    else:
        clinic = services.clinic_reactivate(actor=request.user, clinic=clinic)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "platform/_clinic_row.html", {"clinic": clinic, "url": site_url(clinic_host(clinic))})
    messages.success(request, f"{clinic.name} is now {clinic.get_status_display().lower()}.")
    return redirect("platform-clinics")
