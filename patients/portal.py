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
  at the cost that that many addresses together can burn a code.

The same codes prove a contact while booking online (`booking_code_request`/`booking_code_verify`):
the visitor may be nobody yet, so the code is not stored against a patient but sealed, hashed, in a
signed challenge the caller keeps (the page's session, an API client); the same limits apply.
Nothing here sends a message: issuing a code announces `PortalCodeIssued` (patients/events.py),
and notifications sends it after commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config import throttle
from config.errors import ValidationFailed
from config.events import publish
from patients.events import CodePurpose, PortalCodeIssued
from patients.exceptions import CodeInvalid, TooManyCodes, TooManyTries
from patients.models import BookingCodeUse, Patient, PortalCode
from patients.selectors import phone_e164
from tenants.accounts.models import User
from tenants.authz import Actor
from tenants.selectors import current_schema


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
        phone = phone_e164(identifier, mobile=True)
    except ValueError:
        return None, "sms", identifier
    return Patient.objects.filter(phone=phone, merged_into__isnull=True).first(), "sms", phone


def _limit_requests(destination: str, ip: str | None) -> None:
    _limit(f"portal:ip:{ip}", settings.PORTAL_CODES_PER_ADDRESS_PER_HOUR)
    _limit(f"portal:pair:{destination}:{ip}", settings.PORTAL_CODES_PER_IDENTIFIER_PER_HOUR)
    _limit(f"portal:id:{destination}", settings.PORTAL_CODES_PER_IDENTIFIER_CEILING_PER_HOUR)
    # A new code gives this address fresh tries for this person (its requests are limited above).
    throttle.forget(f"portal:wrong:{destination}:{ip}")


def _new_code(*, purpose: CodePurpose, channel: str, destination: str) -> str:
    """A fresh code, announced so that notifications sends it once the caller's transaction commits."""
    code = f"{secrets.randbelow(10**6):06d}"
    publish(
        PortalCodeIssued(
            purpose=purpose,
            channel=channel,
            destination=destination,
            code=code,
            minutes=settings.PORTAL_CODE_MINUTES,
        )
    )
    return code


@transaction.atomic
def portal_code_request(*, identifier: str, ip: str | None) -> CodeRequest | None:
    """Send a sign-in code to a known patient's e-mail or phone. The caller learns nothing about
    whether the person is known: None (nobody matched, nothing sent) is answered like a code."""
    patient, channel, destination = _find(identifier)
    _limit_requests(destination, ip)
    if patient is None:
        return None
    code = _new_code(purpose=CodePurpose.SIGN_IN, channel=channel, destination=destination)
    PortalCode.objects.create(
        patient=patient,
        channel=channel,
        code_hash=_hash(code),
        expires_at=timezone.now() + timedelta(minutes=settings.PORTAL_CODE_MINUTES),
    )
    return CodeRequest(patient=patient, channel=channel, destination=destination, code=code)


def portal_code_verify(*, identifier: str, code: str, ip: str | None = None) -> User:
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
                user = portal_user_for(patient=patient)
    if match is None:
        _wrong(pair, address)
    return user


def _wrong(pair: str, address: str) -> None:
    throttle.hit(pair, limit=settings.PORTAL_CODE_ATTEMPTS)
    throttle.hit(address, limit=settings.PORTAL_WRONG_CODES_PER_ADDRESS_PER_HOUR)
    raise CodeInvalid()


# Kept for the callers written before the names above.
code_request = portal_code_request
code_verify = portal_code_verify


@dataclass(frozen=True)
class Contact:
    """An e-mail address or a mobile number in E.164, and the channel that reaches it."""

    channel: str
    destination: str


@dataclass(frozen=True)
class BookingChallenge:
    """What the visitor keeps while the code travels: the signed challenge, and (for tests and the
    API's own tests) the contact it was sent to. The code itself is not kept anywhere readable."""

    contact: Contact
    challenge: str


def contact_parse(*, contact: str) -> Contact:
    """An e-mail address or a phone number as typed; a ValidationFailed on `contact` otherwise,
    before any limit is counted or code sent."""
    text = (contact or "").strip()
    if "@" in text:
        try:
            validate_email(text)
        except ValidationError as exc:
            raise ValidationFailed(fields={"contact": ["Enter a valid e-mail address or mobile number."]}) from exc
        return Contact(channel="email", destination=text.lower())
    try:
        return Contact(channel="sms", destination=phone_e164(text, mobile=True))
    except ValueError as exc:
        raise ValidationFailed(fields={"contact": [str(exc)]}) from exc


def _booking_salt() -> str:
    # Keyed with the chain's schema: a challenge of chain A means nothing at chain B.
    return f"clinicflow.booking.code:{current_schema()}"


@transaction.atomic
def booking_code_request(*, contact: str, ip: str | None) -> BookingChallenge:
    """A code to the e-mail or phone a visitor gave while booking online, under the portal's limits.
    Unlike sign-in, the visitor may be nobody yet, so the code is sent whoever they are."""
    reached = contact_parse(contact=contact)
    _limit_requests(reached.destination, ip)
    code = _new_code(purpose=CodePurpose.BOOKING, channel=reached.channel, destination=reached.destination)
    sealed = {"c": reached.channel, "d": reached.destination, "h": _hash(code), "n": secrets.token_hex(8)}
    return BookingChallenge(contact=reached, challenge=signing.dumps(sealed, salt=_booking_salt()))


def booking_code_verify(*, challenge: str, code: str, ip: str | None) -> Contact:
    """The contact a right code proves. Wrong tries count like the portal's (per contact and
    address, per address, and per code from everywhere). The challenge is spent in the caller's
    transaction (a BookingCodeUse row): of confirmations racing with one challenge one wins and the
    others are CodeInvalid, and a booking refused after a right code rolls the row back, so the
    same code may be tried again."""
    try:
        sealed = signing.loads(challenge, salt=_booking_salt(), max_age=settings.PORTAL_CODE_MINUTES * 60)
        reached, digest = Contact(channel=sealed["c"], destination=sealed["d"]), str(sealed["h"])
        used = hashlib.sha256(f"{sealed['n']}:{digest}".encode()).hexdigest()
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise CodeInvalid() from exc
    pair, address = f"portal:wrong:{reached.destination}:{ip}", f"portal:wrong:ip:{ip}"
    total = f"portal:wrong:code:{digest}"
    if throttle.used(pair) >= settings.PORTAL_CODE_ATTEMPTS:
        raise CodeInvalid()
    if throttle.used(address) >= settings.PORTAL_WRONG_CODES_PER_ADDRESS_PER_HOUR:
        raise TooManyTries()
    if throttle.used(total) >= settings.PORTAL_CODE_ATTEMPTS_TOTAL:
        raise CodeInvalid()
    if not hmac.compare_digest(digest, _hash((code or "").strip())):
        throttle.hit(total, limit=settings.PORTAL_CODE_ATTEMPTS_TOTAL)
        _wrong(pair, address)
    try:
        # A savepoint: the unique digest refuses a challenge used before, or being used by a
        # confirmation still running (this insert waits for it and fails once it commits).
        with transaction.atomic():
            BookingCodeUse.objects.create(digest=used)
    except IntegrityError as exc:
        raise CodeInvalid() from exc
    return reached


def spent_codes_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what proves nothing any more: booking challenges used longer ago than a challenge lives
    (its signature has expired, so the row cannot refuse anything), and sign-in codes that expired a
    day ago (kept that long for questions about a sign-in). Run periodically in each chain."""
    now = now or timezone.now()
    life = timedelta(minutes=settings.PORTAL_CODE_MINUTES)
    uses, _ = BookingCodeUse.objects.filter(used_at__lt=now - 2 * life).delete()
    codes, _ = PortalCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return {"booking_code_uses": uses, "portal_codes": codes}


@transaction.atomic
def portal_user_for(*, patient: Patient) -> User:
    """The patient's own (portal) account, made on first use: what a patient acts as when they sign
    in with a code or hold the link of their booking."""
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


def _portal_user(patient: Patient) -> User:  # kept for callers written before the name above
    return portal_user_for(patient=patient)


def patient_of(user: Actor | None) -> Patient | None:
    if user is None or not user.is_authenticated:
        return None
    return Patient.objects.filter(user_id=user.pk, merged_into__isnull=True).first()


@transaction.atomic
def portal_profile_update(
    *,
    actor: Actor,
    patient: Patient,
    phone: str,
    email: str,
    address_line: str,
    city: str,
    postcode: str,
    sms_consent: bool,
    email_consent: bool,
    email_withdrawn: bool = False,
    request: HttpRequest | None = None,
) -> Patient:
    """A patient changing their own contact details and consents, all or nothing. By e-mail they
    choose among: about their visits only (the default: nothing recorded), follow-ups too
    (``email_consent``), or none at all (``email_withdrawn``)."""
    from patients.services import ConsentChoice, patient_update

    return patient_update(
        actor=actor,
        patient=patient,
        consent=ConsentChoice(sms=sms_consent, email_follow_ups=email_consent, no_emails=email_withdrawn),
        request=request,
        phone=phone,
        email=email,
        address_line=address_line,
        city=city,
        postcode=postcode,
    )
