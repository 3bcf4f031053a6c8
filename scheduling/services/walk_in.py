"""A walk-in: the first free doctor for a service at a branch, from now on today."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from patients.models import Patient
from scheduling.engine import Problem
from scheduling.exceptions import BookingRefused, NoSlotToday
from scheduling.models import Appointment, Service, Source
from scheduling.selectors import slot_list_available
from scheduling.services.booking import appointment_book
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember


def walk_in_book(
    *, actor: Any, patient: Patient, branch: Branch, service: Service, now: datetime | None = None
) -> Appointment:
    """The first free doctor for this service at this branch, from now on today."""
    now = now or timezone.now()
    authorize(actor, "scheduling.book", branch)
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    slots = slot_list_available(service=service, branch=branch, date_from=today, date_to=today, step=5, now=now)
    doctors = {d.pk: d for d in StaffMember.objects.filter(pk__in={s.doctor_id for s in slots})}
    for slot in slots[:20]:
        try:
            return appointment_book(
                actor=actor,
                patient=patient,
                doctor=doctors[slot.doctor_id],
                branch=branch,
                service=service,
                start=slot.start,
                source=Source.WALK_IN,
                now=now,
            )
        except BookingRefused as exc:
            if exc.code == Problem.PATIENT_BUSY:
                raise
            continue  # someone took that slot a moment ago: try the next one
    raise NoSlotToday()
