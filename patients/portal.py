"""Passwordless sign-in for patients: a six-digit code by SMS or e-mail.

The answer to "send me a code" never says whether the person is known (no enumeration). Codes are
hashed, expire, allow a few wrong tries, and are rate-limited per identifier and per address."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError
from patients.models import Patient, PortalCode
from patients.selectors import phone_e164
from tenants.accounts.models import User


class TooManyCodes(ApplicationError):
    status = 429
    code = "too_many_codes"
    default_message = "Too many codes were asked for. Wait an hour, or call the clinic."


class CodeInvalid(ApplicationError):
    status = 400
    code = "code_invalid"
    default_message = "That code is not right or has expired. Ask for a new one."


@dataclass(frozen=True)
class CodeRequest:
    """What the caller needs to send the code; None when nobody matched (send nothing)."""

    patient: Patient
    channel: str
    destination: str
    code: str


def _hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def _limit(key: str, limit: int) -> None:
    # The cache key carries the chain's schema (django-tenants' key function), so limits are per chain.
    count = cache.get_or_set(key, 0, timeout=3600) or 0
    if count >= limit:
        raise TooManyCodes()
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=3600)


def _find(identifier: str) -> tuple[Patient | None, str, str]:
    identifier = (identifier or "").strip()
    if "@" in identifier:
        email = identifier.lower()
        return Patient.objects.filter(email=email, merged_into__isnull=True).first(), "email", email
    try:
        phone = phone_e164(identifier)
    except ValueError:
        return None, "sms", identifier
    return Patient.objects.filter(phone=phone, merged_into__isnull=True).first(), "sms", phone


@transaction.atomic
def code_request(*, identifier: str, ip: str | None) -> CodeRequest | None:
    patient, channel, destination = _find(identifier)
    _limit(f"portal:ip:{ip}", settings.PORTAL_CODES_PER_ADDRESS_PER_HOUR)
    _limit(f"portal:id:{destination}", settings.PORTAL_CODES_PER_IDENTIFIER_PER_HOUR)
    if patient is None:
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    PortalCode.objects.create(
        patient=patient,
        channel=channel,
        code_hash=_hash(code),
        expires_at=timezone.now() + timedelta(minutes=settings.PORTAL_CODE_MINUTES),
    )
    return CodeRequest(patient=patient, channel=channel, destination=destination, code=code)


def code_verify(*, identifier: str, code: str) -> User:
    """The patient's portal account for a right code (created on first sign-in)."""
    patient, _, _ = _find(identifier)
    if patient is None:
        raise CodeInvalid()
    # The wrong-try count must survive the refusal, so the check commits before we raise.
    with transaction.atomic():
        candidate = (
            PortalCode.objects.select_for_update()
            .filter(patient=patient, used_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
        right = (
            candidate is not None
            and candidate.attempts < settings.PORTAL_CODE_ATTEMPTS
            and hmac.compare_digest(candidate.code_hash, _hash((code or "").strip()))
        )
        if candidate is not None and not right:
            candidate.attempts += 1
            candidate.save(update_fields=["attempts"])
        elif candidate is not None:
            candidate.used_at = timezone.now()
            candidate.save(update_fields=["used_at"])
            user = _portal_user(patient)
    if not right:
        raise CodeInvalid()
    return user


def _portal_user(patient: Patient) -> User:
    if patient.user_id:
        return patient.user  # type: ignore[return-value]
    # A patient without an e-mail still needs a unique login name; it is never shown or mailed.
    email = patient.email or f"patient-{patient.pk}@portal.invalid"
    if User.objects.filter(email__iexact=email).exists():
        email = f"patient-{patient.pk}@portal.invalid"
    user = User(email=email, first_name=patient.first_name, last_name=patient.last_name)
    user.set_unusable_password()
    user.save()
    Patient.objects.filter(pk=patient.pk).update(user=user)
    return user


def patient_of(user: Any) -> Patient | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Patient.objects.filter(user=user, merged_into__isnull=True).first()
