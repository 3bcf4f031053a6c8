"""Manage links: the secret in an online booking's confirmation that opens that one appointment.

A link is a random token; the chain keeps only its SHA-256, in its own schema, so a link made at one
chain finds nothing at any other, and a leaked database row does not give the link away. A link
works until the appointment is cancelled, completed or missed (revoked in the same transaction as
that change), and for BOOKING_LINK_GRACE after the visit's end, which moves with a reschedule."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scheduling.exceptions import IllegalTransition, ManageLinkInvalid
from scheduling.models import Appointment, ManageLink, Status

LINKABLE = {Status.BOOKED, Status.CONFIRMED}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def manage_link_issue(*, appointment: Appointment) -> str:
    """A new link for a booked appointment with a patient; returns the raw token, the only time it
    exists outside the patient's hands."""
    (token,) = manage_links_issue(appointments=[appointment])
    return token


@transaction.atomic
def manage_links_issue(*, appointments: Sequence[Appointment]) -> list[str]:
    """A new link for each of ``appointments`` (booked, each with a patient: else IllegalTransition,
    nothing issued), written in one INSERT; returns their raw tokens, in order."""
    if any(a.status not in LINKABLE or a.patient_id is None for a in appointments):
        raise IllegalTransition("Only a booked appointment of a patient gets a booking link.")
    tokens = [secrets.token_urlsafe(32) for _ in appointments]
    ManageLink.objects.bulk_create(
        ManageLink(appointment_id=a.pk, token_hash=_hash(token)) for a, token in zip(appointments, tokens, strict=True)
    )
    return tokens


def manage_link_resolve(*, token: str, now: datetime | None = None) -> Appointment:
    """The appointment a link opens, or ManageLinkInvalid (404) for an unknown, revoked or expired one."""
    now = now or timezone.now()
    link = ManageLink.objects.filter(token_hash=_hash(token or ""), revoked_at__isnull=True).first()
    if link is None:
        raise ManageLinkInvalid()
    appointment = (
        Appointment.objects.select_related("service", "branch", "doctor__user", "patient")
        .filter(pk=link.appointment_id)
        .first()
    )
    if appointment is None or appointment.span.upper + settings.BOOKING_LINK_GRACE <= now:
        raise ManageLinkInvalid()
    return appointment


def manage_link_read(*, token: str, now: datetime | None = None) -> Appointment:
    """What a link may still show: its appointment while the link works, and, once the appointment is
    cancelled, that cancelled appointment (to say so at the same address, until the grace after its
    time ends). Nothing can be done with it then: cancel and move resolve the live link only. An
    unknown link, or one closed by a visit that happened or was missed, is ManageLinkInvalid (404)."""
    now = now or timezone.now()
    link = ManageLink.objects.filter(token_hash=_hash(token or "")).first()
    if link is None:
        raise ManageLinkInvalid()
    if link.revoked_at is None:
        return manage_link_resolve(token=token, now=now)
    appointment = (
        Appointment.objects.select_related("service", "branch", "doctor__user", "patient")
        .filter(pk=link.appointment_id, status=Status.CANCELLED)
        .first()
    )
    if appointment is None or appointment.span.upper + settings.BOOKING_LINK_GRACE <= now:
        raise ManageLinkInvalid()
    return appointment


def manage_links_revoke(*, appointment_id: int, now: datetime | None = None) -> int:
    """Close every link of an appointment. Called by the calendar inside the change that ends it."""
    return ManageLink.objects.filter(appointment_id=appointment_id, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
