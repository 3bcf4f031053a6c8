"""Turning the database's verdict on a race into the error people see."""

from __future__ import annotations

import time
from datetime import datetime

from django.db import IntegrityError, OperationalError, transaction
from psycopg.types.range import Range

from scheduling.engine import Problem
from scheduling.exceptions import DOCTOR_HELD, BookingRefused, CalendarBusy
from scheduling.models import ACTIVE_STATUSES, CalendarEntry, Leave, Status

DEADLOCK = "40P01"
ATTEMPTS = 4


CONSTRAINT_PROBLEMS = {
    "calendar_patient_no_overlap": Problem.PATIENT_BUSY,
    "calendar_room_no_overlap": Problem.ROOM_TAKEN,
}


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def refusal_from(exc: IntegrityError, *, doctor_id: int, busy: Range[datetime]) -> BookingRefused | None:
    """The BookingRefused an exclusion violation stands for, or None if it is something else.

    By the time PostgreSQL reports the violation the other transaction has committed, so the row
    that won is visible and tells whether the doctor was booked or on leave."""
    name = constraint_name(exc)
    if name == "calendar_doctor_no_overlap":
        on_leave = Leave.objects.filter(doctor_id=doctor_id, status__in=ACTIVE_STATUSES, busy__overlap=busy).exists()
        return BookingRefused(Problem.DOCTOR_ON_LEAVE) if on_leave else doctor_busy(doctor_id=doctor_id, busy=busy)
    if name in CONSTRAINT_PROBLEMS:
        return BookingRefused(CONSTRAINT_PROBLEMS[name])
    return None


def doctor_busy(*, doctor_id: int, busy: Range[datetime], ignore_entry_id: int | None = None) -> BookingRefused:
    """doctor_busy, in words naming what is in the way: an appointment, or only a hold."""
    blocking = CalendarEntry.objects.filter(doctor_id=doctor_id, status__in=ACTIVE_STATUSES, busy__overlap=busy)
    if ignore_entry_id is not None:
        blocking = blocking.exclude(pk=ignore_entry_id)
    only_holds = blocking.exists() and not blocking.exclude(status=Status.HELD).exists()
    return BookingRefused(Problem.DOCTOR_BUSY, DOCTOR_HELD if only_holds else None)


def save_entry(entry: CalendarEntry) -> None:
    """Write a calendar row in a savepoint, surviving deadlocks between the exclusion constraints.

    Two inserts can each wait for the other: one on the doctor's constraint, the other on the
    patient's or the room's, checked in the opposite order. PostgreSQL breaks the tie by failing one
    statement (40P01). Rolling back to the savepoint releases what it held, so the retry then sees
    the other row committed and gets the ordinary verdict (a constraint violation, or success).
    IntegrityError is left for the caller to interpret."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                entry.save()
            return
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:
                raise
            if attempt == ATTEMPTS:
                raise CalendarBusy() from exc
            time.sleep(0.005 * attempt)
