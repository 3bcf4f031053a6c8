"""Forms of the sign-in pages. Every new password goes through ``services.password_set``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm

from tenants.accounts import services
from tenants.accounts.models import User


class _ThroughService:
    user: User
    cleaned_data: dict[str, Any]

    def save(self, commit: bool = True) -> User:
        return services.password_set(user=self.user, password=self.cleaned_data["new_password1"])


class ResetPasswordForm(_ThroughService, SetPasswordForm):  # type: ignore[misc]
    """The reset link's form: the new password also revokes every API token of the person."""


class ChangePasswordForm(_ThroughService, PasswordChangeForm):  # type: ignore[misc]
    """The change-password page's form: likewise."""


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


class RecoveryCodeForm(CodeForm):
    code = forms.CharField(
        max_length=32,
        label="Recovery code",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True, "spellcheck": "false"}),
    )


class SetupForm(forms.Form):
    code = forms.CharField(
        max_length=12,
        label="Code from the app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
