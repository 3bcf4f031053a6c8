"""Turning the database's verdict on a race into the error people see."""

from __future__ import annotations

from django.db import IntegrityError
from psycopg.types.range import Range

from scheduling.engine import Problem
from scheduling.exceptions import BookingRefused
from scheduling.models import ACTIVE_STATUSES, Leave

CONSTRAINT_PROBLEMS = {
    "calendar_patient_no_overlap": Problem.PATIENT_BUSY,
    "calendar_room_no_overlap": Problem.ROOM_TAKEN,
}


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def refusal_from(exc: IntegrityError, *, doctor_id: int, busy: Range) -> BookingRefused | None:
    """The BookingRefused an exclusion violation stands for, or None if it is something else.

    By the time PostgreSQL reports the violation the other transaction has committed, so the row
    that won is visible and tells whether the doctor was booked or on leave."""
    name = constraint_name(exc)
    if name == "calendar_doctor_no_overlap":
        on_leave = Leave.objects.filter(doctor_id=doctor_id, status__in=ACTIVE_STATUSES, busy__overlap=busy).exists()
        return BookingRefused(Problem.DOCTOR_ON_LEAVE if on_leave else Problem.DOCTOR_BUSY)
    if name in CONSTRAINT_PROBLEMS:
        return BookingRefused(CONSTRAINT_PROBLEMS[name])
    return None
