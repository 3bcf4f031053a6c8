"""Passwordless sign-in for patients: a six-digit code by SMS or e-mail.

The answer to "send me a code" never says whether the person is known (no enumeration). Codes are
hashed with a key of the chain's own, expire, allow a few wrong tries, and are rate-limited.

The limits are drawn so that a stranger who knows someone's e-mail or phone cannot lock them out:

- Asking for codes is counted per (identifier, client address): a stranger's requests use up the
  stranger's quota, not the patient's. A higher per-identifier ceiling still bounds how many
  messages one person can be sent (message bombing, and our SMS bill); the price is that a stranger
  with enough addresses (ceiling / per-pair quota, i.e. four) can still reach it for an hour.
- A new code does not replace the earlier ones: any live code of the patient signs in, so codes a
  stranger asks for do not make the one in the patient's hand useless.
- Wrong tries are counted per (identifier, address), per address across all identifiers, and per
  code from everywhere. A stranger's wrong guesses use up the stranger's tries, not the code; the
  per-code total (higher, PORTAL_CODE_ATTEMPTS_TOTAL) bounds guessing spread over many addresses,
  at the cost that that many addresses together can burn a code."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config import throttle
from config.errors import ApplicationError
from patients.error_codes import PatientErrorCode
from patients.models import Patient, PortalCode
from patients.selectors import phone_e164
from tenants.accounts.models import User
from tenants.selectors import current_schema


class TooManyCodes(ApplicationError):
    status = 429
    code = PatientErrorCode.TOO_MANY_CODES
    default_message = "Too many codes were asked for. Wait an hour, or call the clinic."


class TooManyTries(ApplicationError):
    status = 429
    code = PatientErrorCode.TOO_MANY_TRIES
    default_message = "Too many wrong codes were typed from here. Wait an hour, or call the clinic."


class CodeInvalid(ApplicationError):
    status = 400
    code = PatientErrorCode.CODE_INVALID
    default_message = "That code is not right or has expired. Ask for a new one."


@dataclass(frozen=True)
class CodeRequest:
    """What the caller needs to send the code; None when nobody matched (send nothing)."""

    patient: Patient
    channel: str
    destination: str
    code: str


def _hash(code: str) -> str:
    # Keyed with the chain's schema: a code, or a leaked hash, of chain A means nothing at chain B.
    return salted_hmac(f"clinicflow.portal.code:{current_schema()}", code, algorithm="sha256").hexdigest()


def _limit(key: str, limit: int) -> None:
    # The cache key carries the chain's schema (django-tenants' key function), so limits are per chain.
    if not throttle.hit(key, limit=limit):
        raise TooManyCodes()


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
    _limit(f"portal:pair:{destination}:{ip}", settings.PORTAL_CODES_PER_IDENTIFIER_PER_HOUR)
    _limit(f"portal:id:{destination}", settings.PORTAL_CODES_PER_IDENTIFIER_CEILING_PER_HOUR)
    # A new code gives this address fresh tries for this person (its requests are limited above).
    throttle.forget(f"portal:wrong:{destination}:{ip}")
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


def code_verify(*, identifier: str, code: str, ip: str | None = None) -> User:
    """The patient's portal account for a right code (created on first sign-in)."""
    patient, _, destination = _find(identifier)
    pair, address = f"portal:wrong:{destination}:{ip}", f"portal:wrong:ip:{ip}"
    if throttle.used(pair) >= settings.PORTAL_CODE_ATTEMPTS:
        raise CodeInvalid()  # this address has used its tries at this person's codes
    if throttle.used(address) >= settings.PORTAL_WRONG_CODES_PER_ADDRESS_PER_HOUR:
        raise TooManyTries()
    match = None
    if patient is not None:
        # The wrong-try count must survive the refusal, so the check commits before we raise.
        with transaction.atomic():
            live = list(
                PortalCode.objects.select_for_update().filter(
                    patient=patient,
                    used_at__isnull=True,
                    expires_at__gt=timezone.now(),
                    attempts__lt=settings.PORTAL_CODE_ATTEMPTS_TOTAL,
                )
            )
            digest = _hash((code or "").strip())
            match = next((c for c in live if hmac.compare_digest(c.code_hash, digest)), None)
            ids = [c.pk for c in live]
            if match is None:
                PortalCode.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1)
            else:
                # One sign-in spends every code the patient had waiting.
                PortalCode.objects.filter(pk__in=ids).update(used_at=timezone.now())
                user = _portal_user(patient)
    if match is None:
        throttle.hit(pair, limit=settings.PORTAL_CODE_ATTEMPTS)
        throttle.hit(address, limit=settings.PORTAL_WRONG_CODES_PER_ADDRESS_PER_HOUR)
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
