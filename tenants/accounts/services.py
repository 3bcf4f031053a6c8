"""Write use cases of accounts: API tokens, passwords, two-factor devices.

Every password change (reset link, change page, any future path) goes through ``password_set``,
which revokes all of the person's API tokens in the same transaction: a stolen token does not
outlive the password it was issued under."""

from __future__ import annotations

import math
import secrets
from base64 import b32encode
from binascii import unhexlify
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from knox.settings import knox_settings

from config import throttle
from tenants.accounts.exceptions import (
    LoginLocked,
    OtpInvalid,
    OtpTooSoon,
    PasswordInvalid,
    TokenLimitReached,
    TokenNotFound,
    TooManyResets,
    WrongPassword,
)
from tenants.accounts.models import ApiToken, User
from tenants.selectors import current_schema

RECOVERY_DEVICE = "Recovery codes"


# --- API tokens ------------------------------------------------------------------------------------


@transaction.atomic
def api_token_issue(*, user: User, client_name: str) -> tuple[ApiToken, str]:
    """A new token for one client; the token itself is returned once and only its digest is kept."""
    # The user's row lock serialises two logins racing for the last free place.
    User.objects.select_for_update().filter(pk=user.pk).first()
    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit is not None and ApiToken.objects.filter(user=user).count() >= limit:
        raise TokenLimitReached()
    issued: tuple[ApiToken, str] = ApiToken.objects.create(user=user, client_name=(client_name or "").strip()[:100])
    return issued


@transaction.atomic
def api_token_revoke(*, user: User, token_key: str) -> None:
    deleted, _ = ApiToken.objects.filter(user=user, token_key=token_key).delete()
    if not deleted:
        raise TokenNotFound()


@transaction.atomic
def api_tokens_revoke_all(*, user: User) -> int:
    deleted: int = ApiToken.objects.filter(user=user).delete()[0]
    return deleted


# --- Passwords -------------------------------------------------------------------------------------


@transaction.atomic
def password_set(*, user: User, password: str) -> User:
    """The one door for a new password: validated, saved, and every API token of the person revoked.
    (Other sessions end by themselves: their auth hash no longer matches the password.)"""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PasswordInvalid(fields={"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.save()
    api_tokens_revoke_all(user=user)
    return user


def password_reset_allow(*, email: str, ip: str | None) -> None:
    """Count a reset request; refuse past the hourly budget of the address asked for, or of the
    client address asking. Counted whether or not the e-mail is known, so the answer tells nothing."""
    per_email = throttle.hit(
        f"reset:email:{(email or '').strip().lower()}", limit=settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR
    )
    per_address = throttle.hit(f"reset:ip:{ip}", limit=settings.PASSWORD_RESETS_PER_ADDRESS_PER_HOUR)
    if not (per_email and per_address):
        raise TooManyResets()


# --- Two-factor ------------------------------------------------------------------------------------


def totp_issuer(device: TOTPDevice) -> str:
    """What the authenticator app shows above the code: the chain's name."""
    if current_schema() == "public":
        return "Clinicflow"
    from tenants.org.models import ChainSettings

    name = ChainSettings.objects.filter(pk=1).values_list("name", flat=True).first()
    return f"{name} (Clinicflow)" if name else "Clinicflow"


def _clean(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def totp_key_new() -> str:
    """A new authenticator secret (hex, 20 bytes), kept in the session until the person confirms it."""
    key: str = random_hex(20)
    return key


def totp_secret_text(key: str) -> str:
    """The secret as people type it into an app without a camera: base32 in groups of four."""
    text = b32encode(unhexlify(key.encode())).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def totp_setup_url(*, user: User, key: str) -> str:
    """The otpauth:// address an authenticator app scans (shown as a QR code)."""
    url: str = TOTPDevice(user=user, key=key).config_url
    return url


@transaction.atomic
def totp_device_confirm(*, user: User, key: str, code: str) -> tuple[TOTPDevice, list[str]]:
    """Save the authenticator once it shows the right code; the answer is it and a fresh set of
    recovery codes, shown once. It replaces any earlier authenticator. Nothing is written when the
    code is wrong."""
    cleaned = _clean(code)
    totp = TOTP(unhexlify(key.encode()), step=30, t0=0, digits=6, drift=0)
    if not (cleaned.isascii() and cleaned.isdigit() and totp.verify(int(cleaned), tolerance=1)):
        raise OtpInvalid(fields={"code": ["That code is not right. Type the code your app shows now."]})
    TOTPDevice.objects.filter(user=user).delete()
    # last_t: the code just typed cannot be used again to sign in.
    device = TOTPDevice.objects.create(
        user=user, name="Authenticator app", key=key, confirmed=True, drift=totp.drift, last_t=totp.t()
    )
    return device, recovery_codes_regenerate(user=user)


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Ten new single-use recovery codes; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def two_factor_remove(*, user: User, password: str) -> None:
    """Remove the authenticator and the recovery codes, after the password once more."""
    if not user.check_password(password or ""):
        raise WrongPassword(fields={"password": ["That is not your current password."]})
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def otp_verify(*, user: User, code: str, recovery: bool | None = None) -> Device:
    """The device that accepts ``code``: the authenticator app's current six digits or, unless
    ``recovery`` is False, one unused recovery code (used up by this). django-otp refuses a TOTP
    code that was already used and slows a device down after wrong codes; the caller counts the
    failure against the sign-in too (axes).

    A code goes only to the device whose shape it has, so a recovery code never counts as a wrong
    authenticator code. Each check commits on its own: the device's wrong-try count must survive
    the refusal."""
    cleaned = _clean(code)
    kind: type[Device] | None = (
        TOTPDevice if cleaned.isascii() and cleaned.isdigit() and len(cleaned) == 6 else StaticDevice
    )
    if (kind is TOTPDevice and recovery is True) or (kind is StaticDevice and recovery is False):
        kind = None
    if cleaned and kind is not None:
        with transaction.atomic():
            devices = list(kind.objects.select_for_update().filter(user=user, confirmed=True))
            waits = [_throttle_wait(device) for device in devices]
            if devices and all(waits):
                # Every device that could take this code is in its pause after a wrong one: the code
                # was not tried, so it is neither accepted nor a failure.
                seconds = min(waits)
                raise OtpTooSoon(
                    f"Wait {seconds} second{'s' if seconds != 1 else ''} after a wrong code, "
                    "then type the code your app shows now.",
                    fields={"code": [f"Wait {seconds} second{'s' if seconds != 1 else ''}, then try the new code."]},
                )
            for device in devices:
                if device.verify_token(cleaned):
                    return device
    raise OtpInvalid(fields={"code": [OtpInvalid.default_message]})


def _throttle_wait(device: Device) -> int:
    """Seconds until ``device`` takes a code again (0: now)."""
    allowed, data = device.verify_is_allowed()
    if allowed or not data or data.get("locked_until") is None:
        return 0
    locked_until: datetime = data["locked_until"]
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds()))


def recovery_codes_left(*, user: User) -> int:
    left: int = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return left


def demo_totp_secret(*, user: User) -> str:
    """The demo owner's authenticator, made on first call: its base32 secret, to type into any app."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=True, key=secrets.token_hex(20)
        )
        recovery_codes_regenerate(user=user)
    return totp_secret_text(device.key)


def second_factor_check(*, request: HttpRequest, user: User, code: str, recovery: bool | None = None) -> Device:
    """The second step of a sign-in, page or API: refused while the sign-in is locked, and a wrong
    code counts as a failed sign-in of (e-mail, address) like a wrong password (axes)."""
    credentials = {"username": user.email}
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.axes_locked_out = True  # type: ignore[attr-defined]
        raise LoginLocked()
    try:
        return otp_verify(user=user, code=code, recovery=recovery)
    except OtpInvalid:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        raise
