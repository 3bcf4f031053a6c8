"""The owners' payments settings: connect the chain's own Stripe account (Connect onboarding)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from config.errors import ApplicationError
from frontend.forms import flash, refusal
from invoicing.connect import selectors, services
from tenants.authz import authorize


@login_required
def payments_settings(request: HttpRequest) -> HttpResponse:
    authorize(request.user, "org.manage_payments")
    if request.method == "POST" and request.POST.get("action") == "refresh":
        flash(request, lambda: services.connect_status_refresh(actor=request.user), "Status read again from Stripe.")
        return redirect("settings-payments")
    if request.method == "POST":
        try:
            return redirect(services.connect_onboarding_link(actor=request.user).url)
        except ApplicationError as exc:
            messages.error(request, refusal(exc))
            return redirect("settings-payments")
    context = {
        "overview": selectors.payments_overview(),
        "expired": "expired" in request.GET,
        "returned": "returned" in request.GET,
    }
    return render(request, "frontend/payments.html", context)
