"""Sign-in pages: password, then the second factor where due; two-factor set-up and recovery codes;
password reset and change through the one password service.

A page sign-in with an authenticator is two steps. The password step does not sign in: it leaves a
pending mark in the (anonymous) session, good for a few minutes, and the code step signs in. So a
password alone never yields a session, and axes' reset-on-success only runs after both steps."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from config.net import client_ip
from tenants.accounts import selectors, services
from tenants.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    PasswordConfirmForm,
    RecoveryCodeForm,
    ResetPasswordForm,
    SetupForm,
)
from tenants.accounts.models import User
from tenants.accounts.tokens import password_reset_token

PENDING = "_two_factor_pending"
SETUP_KEY = "_two_factor_setup_key"
NEW_CODES = "_two_factor_new_codes"


def _next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(default)


def _with_next(name: str, request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    url = reverse(name)
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        url += "?" + urlencode({"next": target})
    return url


def _error(form: Form, exc: ApplicationError) -> None:
    for name, errors in exc.fields.items():
        for message in errors:
            form.add_error(name if name in form.fields else None, message)
    if not exc.fields:
        form.add_error(None, exc.message)


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # LoginView names the site after the request's host; the page names the chain
        # (frontend.context.navigation).
        context.pop("site_name", None)
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not selectors.two_factor_enabled(user):
            # Signed in; a role that requires two-factor is sent to set it up (TwoFactorMiddleware).
            return super().form_valid(form)
        self.request.session[PENDING] = {"user": user.pk, "backend": user.backend, "at": int(time.time())}
        return HttpResponseRedirect(_with_next("two-factor-verify", self.request))


def _pending_user(request: HttpRequest) -> tuple[User | None, str | None]:
    """Who is between the password and the code step: the pending mark, or a signed-in session that
    owes its second factor (signed in before the authenticator was added)."""
    pending = request.session.get(PENDING)
    if pending and time.time() - pending["at"] <= settings.TWO_FACTOR_PENDING_SECONDS:
        return User.objects.filter(pk=pending["user"], is_active=True).first(), pending["backend"]
    request.session.pop(PENDING, None)
    user = request.user
    if user.is_authenticated and selectors.second_factor_due(user):  # type: ignore[arg-type]
        return user, None  # type: ignore[return-value]
    return None, None


def _code_step(request: HttpRequest, *, recovery: bool) -> HttpResponse:
    user, backend = _pending_user(request)
    if user is None:
        return redirect("login")
    if not selectors.two_factor_enabled(user):
        return redirect(_with_next("two-factor-setup", request))
    form = (RecoveryCodeForm if recovery else CodeForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.second_factor_check(
                request=request, user=user, code=form.cleaned_data["code"], recovery=True if recovery else None
            )
        except ApplicationError as exc:
            _error(form, exc)
        else:
            if backend is not None:
                login(request, user, backend=backend)
            request.session.pop(PENDING, None)
            django_otp.login(request, device)
            if recovery:
                left = services.recovery_codes_left(user=user)
                messages.warning(request, f"Recovery code used: {left} left. Make new ones if you are running out.")
            return HttpResponseRedirect(_next(request))
    context = {"form": form, "recovery": recovery, "next": request.GET.get("next", request.POST.get("next", ""))}
    return render(request, "registration/two_factor_verify.html", context)


def two_factor_verify(request: HttpRequest) -> HttpResponse:
    return _code_step(request, recovery=False)


def two_factor_recovery(request: HttpRequest) -> HttpResponse:
    return _code_step(request, recovery=True)


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if selectors.second_factor_due(user) and selectors.two_factor_enabled(user):
        # Replacing an authenticator takes the current one first: a password alone cannot.
        return redirect(_with_next("two-factor-verify", request))
    key = request.session.get(SETUP_KEY) or services.totp_key_new()
    request.session[SETUP_KEY] = key
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.totp_device_confirm(user=user, key=key, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            _error(form, exc)
        else:
            request.session.pop(SETUP_KEY, None)
            django_otp.login(request, device)
            request.session[NEW_CODES] = codes
            return redirect(_with_next("two-factor-codes", request))
    url = services.totp_setup_url(user=user, key=key)
    context = {
        "form": form,
        "qr": segno.make(url, error="m").svg_inline(scale=5, title="QR code for your authenticator app"),
        "secret": services.totp_secret_text(key),
        "required": selectors.two_factor_required(user),
        "next": request.GET.get("next", ""),
    }
    return render(request, "registration/two_factor_setup.html", context)


@login_required
def two_factor_codes(request: HttpRequest) -> HttpResponse:
    """The new recovery codes, shown once."""
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        return redirect("two-factor")
    return render(request, "registration/two_factor_codes.html", {"codes": codes, "next": _next(request)})


@login_required
def two_factor_manage(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "enabled": selectors.two_factor_enabled(user),
        "required": selectors.two_factor_required(user),
        "codes_left": services.recovery_codes_left(user=user),
    }
    return render(request, "registration/two_factor.html", context)


@login_required
@require_POST
def two_factor_regenerate(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not selectors.two_factor_enabled(user):
        return redirect("two-factor")
    request.session[NEW_CODES] = services.recovery_codes_regenerate(user=user)
    return redirect("two-factor-codes")


@login_required
def two_factor_remove(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.two_factor_remove(user=user, password=form.cleaned_data["password"])
        except ApplicationError as exc:
            _error(form, exc)
        else:
            messages.success(request, "Two-factor sign-in is off for your account.")
            return redirect("two-factor")
    context = {"form": form, "required": selectors.two_factor_required(user)}
    return render(request, "registration/two_factor_remove.html", context)


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a reset link bound to this chain; throttled per e-mail and per client address."""

    token_generator = password_reset_token

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            services.password_reset_allow(email=form.cleaned_data["email"], ip=client_ip(self.request))
        except ApplicationError as exc:
            _error(form, exc)
            return self.form_invalid(form)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    token_generator = password_reset_token
    form_class = ResetPasswordForm


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ChangePasswordForm
