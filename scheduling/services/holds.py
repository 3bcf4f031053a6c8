"""Holding a time for a few minutes while someone finishes booking, confirming and releasing it."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.events import publish
from patients.models import Patient
from scheduling import events
from scheduling.exceptions import EntryNotFound, HoldExpired, HoldReleased, IdempotencyKeyReused, IllegalTransition
from scheduling.models import Appointment, Service, Source, Status
from scheduling.selectors import policy_get
from scheduling.services.booking import (
    _actor_id,
    _aware,
    _care_from_booking,
    _check_catalogue,
    _claim,
    _digest,
    _idempotency_key,
    _keyed,
    _replay,
    _save_entry,
)
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, StaffMember


@transaction.atomic
def appointment_hold(
    *,
    actor: Actor | None,
    doctor: StaffMember,
    branch: Branch,
    service: Service,
    start: datetime,
    source: str = Source.ONLINE,
    now: datetime | None = None,
) -> Appointment:
    """Keep a slot for a few minutes (the chain's hold_minutes) while someone finishes booking.

    Online holds need no account. The hold frees itself when it runs out: availability stops
    counting it and the next booking of that time marks it expired."""
    start = _aware(start)
    now = now or timezone.now()
    online = source == Source.ONLINE
    if not online:
        authorize(actor, "scheduling.book", branch)
    _check_catalogue(service=service, branch=branch, online=online)
    hold = _claim(
        actor=actor,
        doctor=doctor,
        branch=branch,
        service=service,
        start=start,
        source=source,
        patient=None,
        room=None,
        override=False,
        now=now,
        status=Status.HELD,
        hold_expires_at=now + timedelta(minutes=policy_get().hold_minutes),
        hold_token=secrets.token_urlsafe(24),
    )
    _save_entry(hold, actor=actor)
    return hold


def _held_for(*, hold_id: int, hold_token: str) -> Appointment:
    """The hold, row-locked until the caller's transaction ends, for the one who holds its token.
    To anyone else it is EntryNotFound: a wrong token must not tell that a hold exists."""
    hold = Appointment.objects.select_for_update().exclude(hold_token="").filter(pk=hold_id).first()
    # compare_digest takes ASCII text only; a token is never anything else.
    if hold is None or not hold_token.isascii() or not secrets.compare_digest(hold.hold_token, hold_token):
        raise EntryNotFound("No such hold.")
    return hold


@transaction.atomic
def appointment_hold_confirm(
    *,
    actor: Actor | None,
    hold: Appointment,
    hold_token: str,
    patient: Patient,
    idempotency_key: str | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Turn a hold into a booking for `patient`, with `notes` for the desk if any. The hold token
    proves it is the holder asking."""
    now = now or timezone.now()
    key = _idempotency_key(idempotency_key)
    digest = _digest(hold=hold, patient=patient)
    if key:
        existing = _keyed(actor, key)
        if existing is not None:
            return _replay(existing, digest=digest)
    hold = _held_for(hold_id=hold.pk, hold_token=hold_token)
    if hold.status == Status.BOOKED and hold.patient_id == patient.pk:
        return hold  # the same confirmation, again
    if hold.status == Status.CANCELLED:
        raise HoldReleased()
    if hold.status != Status.HELD or (hold.hold_expires_at and hold.hold_expires_at <= now):
        if hold.status == Status.HELD:
            hold.status = Status.EXPIRED
            hold.save(update_fields=["status", "updated_at"])
        raise HoldExpired()
    hold.patient = patient
    hold.placed_by_id = _actor_id(actor) or hold.booked_by_id  # the one who chose the patient
    hold.status = Status.BOOKED
    hold.hold_expires_at = None
    if notes:
        hold.notes = notes[: Appointment._meta.get_field("notes").max_length]
    hold.idempotency_key = key
    hold.idempotency_user_id = _actor_id(actor) if key else None
    hold.idempotency_digest = digest if key else ""
    try:
        _save_entry(hold, actor=actor)
    except IntegrityError as exc:  # the key was taken meanwhile by another request of this user
        if key and _keyed(actor, key) is not None:
            raise IdempotencyKeyReused() from exc
        raise
    _care_from_booking(hold, by={hold.booked_by_id, _actor_id(actor)})
    publish(events.AppointmentBooked(hold.pk, _actor_id(actor)))
    return hold


@transaction.atomic
def appointment_hold_release(*, actor: Actor, hold: Appointment) -> Appointment:
    """Give a held time back before it runs out. Only its holder may: to anyone else the hold is
    answered as missing (not "forbidden"), so holds do not reveal that they exist."""
    hold = Appointment.objects.select_for_update().get(pk=hold.pk)
    if not hold.hold_token or hold.booked_by_id is None or hold.booked_by_id != _actor_id(actor):
        raise EntryNotFound("No such hold.")
    if hold.status in (Status.EXPIRED, Status.CANCELLED):
        return hold  # it already gave the time back: releasing again changes nothing
    if hold.status != Status.HELD:
        raise IllegalTransition("This hold was already confirmed; cancel the appointment instead.")
    hold.status = Status.CANCELLED
    hold.cancelled_at = timezone.now()
    _save_entry(hold, actor=actor)
    return hold


@transaction.atomic
def appointment_hold_extend(
    *, hold_id: int, hold_token: str, until: datetime, now: datetime | None = None
) -> Appointment:
    """Keep a hold that is still running until ``until`` (never shorter), while its holder pays for
    it elsewhere (a checkout page with its own expiry). One that ran out, was released or became a
    booking is refused as HoldExpired / HoldReleased / IllegalTransition."""
    now = now or timezone.now()
    hold = _held_for(hold_id=hold_id, hold_token=hold_token)
    if hold.status == Status.CANCELLED:
        raise HoldReleased()
    if hold.status != Status.HELD:
        raise IllegalTransition("This hold is no longer held.")
    if hold.hold_expires_at is None or hold.hold_expires_at <= now:
        raise HoldExpired()
    if until > hold.hold_expires_at:
        hold.hold_expires_at = until
        hold.save(update_fields=["hold_expires_at", "updated_at"])
    return hold


@transaction.atomic
def appointment_hold_lapse(*, hold_id: int, hold_token: str) -> Appointment:
    """Give back a held time its holder will not book (an online payment that was never made): the
    token proves the caller acts for the holder. A hold already given back or booked is left as it is."""
    hold = _held_for(hold_id=hold_id, hold_token=hold_token)
    if hold.status != Status.HELD:
        return hold
    hold.status = Status.CANCELLED
    hold.cancelled_at = timezone.now()
    _save_entry(hold, actor=None)
    return hold
