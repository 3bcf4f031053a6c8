"""Changing a visit's length on the book (dragging its end), where its service allows it.

Staff lengthen or shorten a visit in 5-minute steps, from 5 minutes to 12 hours (as Cliniko and Jane
let them), only for services marked ``length_adjustable``; other visits last as their service does.
A resize is judged by the same booking door as a move (``_place``: branch hours, shift, breaks,
leave, the doctor's, patient's and room's other visits, with the buffers around the new length),
under the same row lock, and the exclusion constraints decide a race with another booking."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from scheduling.exceptions import IllegalTransition, InvalidScheduling, LengthNotAdjustable
from scheduling.models import Appointment
from scheduling.services.booking import _aware, _expire_stale_holds, _place, _save_entry
from scheduling.services.lifecycle import _locked_to_change
from tenants.authz import Actor

STEP_MINUTES = 5
SHORTEST = timedelta(minutes=5)
LONGEST = timedelta(hours=12)  # the longest a service may last (service_duration_range)


@transaction.atomic
def appointment_resize(
    *, actor: Actor, appointment: Appointment, end: datetime, now: datetime | None = None
) -> Appointment:
    """Give a booked visit a new end, keeping its start, doctor and room (another room if its own
    is taken by the longer visit and the service needs one). Atomic: the new length is won, or the
    visit keeps its old one. Refused with length_not_adjustable for a service that does not allow it,
    with the booking rule's code (outside_shift, doctor_busy, ...) for a time that cannot be booked."""
    end = _aware(end)
    now = now or timezone.now()
    appointment = _locked_to_change(appointment, actor=actor, verb="changed")
    service, branch = appointment.service, appointment.branch
    if service is None or branch is None:  # only leave rows lack them
        raise IllegalTransition("Only appointments can be resized.")
    if not service.length_adjustable:
        raise LengthNotAdjustable(f"A {service.name} lasts {service.duration_minutes} minutes: its length is fixed.")
    start = appointment.span.lower
    length = end - start
    if length < SHORTEST or length > LONGEST or length % timedelta(minutes=STEP_MINUTES):
        raise InvalidScheduling(
            f"A visit lasts from 5 minutes to 12 hours, in steps of {STEP_MINUTES} minutes.",
            fields={"end": [f"End 5 minutes to 12 hours after the start, on a {STEP_MINUTES}-minute step."]},
        )
    room = appointment.room if appointment.room and appointment.room.is_active else None
    placed = _place(
        service=service,
        branch=branch,
        doctor=appointment.doctor,
        start=start,
        room=room,
        online=False,
        override=False,
        patient_id=appointment.patient_id,
        ignore_entry_id=appointment.pk,
        now=now,
        minutes=int(length.total_seconds() // 60),
    )
    _expire_stale_holds(doctor_id=appointment.doctor_id, room_id=placed.room_id, busy=placed.busy, now=now)
    appointment.span, appointment.busy, appointment.room_id = placed.span, placed.busy, placed.room_id
    appointment.is_override, appointment.override_reason = False, ""
    _save_entry(appointment, actor=actor)  # the history row records who changed the length
    return appointment
