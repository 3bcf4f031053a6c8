"""What the holder of a booking link may do with it: cancel the appointment, or move it.

The link proves the appointment is the patient's, so the change is made as the patient's own
(portal) account, under the online rules (the cancellation window, notice, horizon and grid), and
is one transaction: a refusal leaves no portal account made for it and the appointment as it was.
An unknown, revoked or expired link, or one of another chain, is ManageLinkInvalid (404)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from patients.portal import portal_user_for
from scheduling.exceptions import ManageLinkInvalid
from scheduling.models import Appointment
from scheduling.services.lifecycle import appointment_cancel, appointment_reschedule
from scheduling.services.links import manage_link_resolve
from tenants.authz import Actor

CANCELLED_FROM_LINK = "Cancelled online from the booking link"


def _linked(token: str, now: datetime) -> tuple[Appointment, Actor]:
    appointment = manage_link_resolve(token=token, now=now)
    if appointment.patient is None:
        raise ManageLinkInvalid()
    return appointment, portal_user_for(patient=appointment.patient)


@transaction.atomic
def manage_link_cancel(*, token: str, reason: str = "", now: datetime | None = None) -> Appointment:
    """Cancel the appointment a booking link opens, as its patient (refused inside the window), with
    the reason the patient gave, if any, for the desk to read."""
    now = now or timezone.now()
    appointment, patient_user = _linked(token, now)
    said = " ".join(reason.split())
    return appointment_cancel(
        actor=patient_user,
        appointment=appointment,
        reason=f"{CANCELLED_FROM_LINK}: {said}"[:300] if said else CANCELLED_FROM_LINK,
        by_patient=True,
        now=now,
    )


@transaction.atomic
def manage_link_reschedule(*, token: str, start: datetime, now: datetime | None = None) -> Appointment:
    """Move the appointment a booking link opens to `start`, with the same doctor, as its patient."""
    now = now or timezone.now()
    appointment, patient_user = _linked(token, now)
    return appointment_reschedule(actor=patient_user, appointment=appointment, start=start, by_patient=True, now=now)
