"""Read queries about accounts: who must use two-factor sign-in, which API tokens someone has."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.accounts.models import ApiToken, User
from tenants.org.models import ChainSettings, Role
from tenants.org.rules import staff_of
from tenants.selectors import current_schema


def two_factor_required(user: User) -> bool:
    """Owners always; other staff when their chain says so for one of their roles. Patients (portal)
    and platform operators are not asked here."""
    if not getattr(user, "is_authenticated", False) or current_schema() == "public":
        return False
    staff = staff_of(user)
    if staff is None:
        return False
    if Role.OWNER in staff.roles:
        return True
    chosen = ChainSettings.objects.filter(pk=1).values_list("two_factor_roles", flat=True).first() or []
    return bool(set(staff.roles) & set(chosen))


def two_factor_enabled(user: User) -> bool:
    """A confirmed authenticator app: recovery codes only exist beside one."""
    confirmed: bool = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return confirmed


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The caller's live tokens, newest first."""
    now = timezone.now()
    tokens: QuerySet[ApiToken] = ApiToken.objects.filter(user=user).exclude(expiry__lte=now).order_by("-created")
    return tokens


def second_factor_due(user: User) -> bool:
    """Signed in with the password only, where a second factor is owed: the person has an
    authenticator, or their role requires one. (django-otp's middleware sets ``is_verified``.)"""
    if not getattr(user, "is_authenticated", False):
        return False
    verified = getattr(user, "is_verified", None)
    if verified is not None and verified():
        return False
    return two_factor_enabled(user) or two_factor_required(user)
