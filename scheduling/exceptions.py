from __future__ import annotations

from config.errors import Conflict, NotFound, ValidationFailed
from scheduling.engine import Problem

MESSAGES = {
    Problem.IN_THE_PAST: "That time has already passed.",
    Problem.TOO_SOON: "That time is too soon to book online.",
    Problem.TOO_FAR_AHEAD: "That time is too far ahead to book online.",
    Problem.OFF_GRID: "Appointments start on the booking grid of the clinic.",
    Problem.NOT_OFFERED: "The doctor does not offer this service at this branch.",
    Problem.BRANCH_CLOSED: "The branch is closed at that time.",
    Problem.OUTSIDE_SHIFT: "The doctor is not on shift at that time.",
    Problem.DOCTOR_ON_LEAVE: "The doctor is on leave at that time.",
    Problem.DOCTOR_BUSY: "The doctor already has an appointment at that time.",
    Problem.PATIENT_BUSY: "The patient already has an appointment at that time.",
    Problem.ROOM_TAKEN: "No suitable room is free at that time.",
}


class BookingRefused(Conflict):
    """A booking rule refused the time. ``code`` names the rule (doctor_busy, branch_closed, ...)."""

    def __init__(self, problem: str, message: str | None = None, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message or MESSAGES.get(problem, "That time cannot be booked."), code=problem, fields=fields)


class IllegalTransition(Conflict):
    code = "illegal_transition"


class TooLateToCancel(Conflict):
    code = "too_late_to_cancel"


class HoldExpired(Conflict):
    code = "hold_expired"
    default_message = "The time held for you has run out. Choose a time again."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different booking."


class LeaveConflicts(Conflict):
    code = "leave_conflicts_appointments"


class SeriesConflicts(Conflict):
    code = "series_conflicts"


class ShiftOverlap(Conflict):
    code = "shift_overlap"
    default_message = "The doctor already works at that time."


class NameTaken(Conflict):
    code = "name_taken"
    default_message = "That name is already used."


class NoSlotToday(Conflict):
    code = "no_free_slot"
    default_message = "No doctor offering this service has a free slot at this branch today."


class InvalidScheduling(ValidationFailed):
    """Field errors of the scheduling services."""


class EntryNotFound(NotFound):
    code = "not_found"


class ManageLinkInvalid(NotFound):
    code = "manage_link_invalid"
    default_message = "This booking link is not valid any more. Please call the clinic."
