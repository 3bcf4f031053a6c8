from __future__ import annotations

from config.error_codes import ErrorCode
from config.errors import Conflict, NotFound, ValidationFailed
from scheduling.engine import Problem
from scheduling.error_codes import SchedulingErrorCode

MESSAGES: dict[str, str] = {
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
# The same rules, where the wording above would name the wrong cause: staff are not held to the
# online horizon but to their own, and a doctor's time may be taken by a hold, not an appointment.
STAFF_TOO_FAR_AHEAD = "Staff can book at most {days} days ahead (the calendar's staff booking horizon)."
DOCTOR_HELD = "That time is held for a booking someone is completing; an unconfirmed hold frees itself within minutes."


class BookingRefused(Conflict):
    """A booking rule refused the time. ``code`` names the rule (doctor_busy, branch_closed, ...)."""

    # Every rule of the engine must have its code in SchedulingErrorCode: a new Problem without one
    # fails here, at import, rather than answering a code the schema does not list.
    codes = tuple(SchedulingErrorCode(value) for name, value in vars(Problem).items() if not name.startswith("_"))

    def __init__(self, problem: str, message: str | None = None, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message or MESSAGES.get(problem, "That time cannot be booked."), code=problem, fields=fields)


class IllegalTransition(Conflict):
    code = SchedulingErrorCode.ILLEGAL_TRANSITION


class LengthNotAdjustable(Conflict):
    """A visit of this service lasts as the service does: its length cannot be changed."""

    code = SchedulingErrorCode.LENGTH_NOT_ADJUSTABLE


class TooLateToCancel(Conflict):
    code = SchedulingErrorCode.TOO_LATE_TO_CANCEL


class HoldExpired(Conflict):
    code = SchedulingErrorCode.HOLD_EXPIRED
    default_message = "The time held for you has run out. Choose a time again."


class HoldReleased(Conflict):
    code = SchedulingErrorCode.HOLD_RELEASED
    default_message = "This hold was released and its time given back. Choose a time again."


class HoldConfirmed(Conflict):
    code = SchedulingErrorCode.HOLD_CONFIRMED
    default_message = (
        "This time is already booked. Use the link you were given when you booked it to see, move or cancel it."
    )


class OnlinePaymentRequired(Conflict):
    code = SchedulingErrorCode.ONLINE_PAYMENT_REQUIRED
    default_message = (
        "This clinic asks a deposit or payment when booking online: confirm the booking on the clinic's booking page."
    )


class IdempotencyKeyReused(Conflict):
    code = SchedulingErrorCode.IDEMPOTENCY_KEY_REUSED
    default_message = "This Idempotency-Key was already used for a different booking."


class LeaveConflicts(Conflict):
    code = SchedulingErrorCode.LEAVE_CONFLICTS_APPOINTMENTS


class LeaveDecisionsFailed(Conflict):
    """Saving a leave with a decision for each appointment in its way: some decision could not be
    carried out (the other doctor is busy, no free time, a visit already started). ``fields`` name
    each appointment (by id) and why; nothing was written."""

    code = SchedulingErrorCode.LEAVE_DECISIONS_FAILED


class SeriesConflicts(Conflict):
    code = SchedulingErrorCode.SERIES_CONFLICTS


class ShiftOverlap(Conflict):
    code = SchedulingErrorCode.SHIFT_OVERLAP
    default_message = "The doctor already works at that time."


class AppointmentsAffected(Conflict):
    """A change to shifts or opening hours would leave booked appointments outside them. The
    refusal names how many; ``scheduling.selectors.appointments_stranded`` lists them."""

    code = SchedulingErrorCode.APPOINTMENTS_AFFECTED


class NameTaken(Conflict):
    code = SchedulingErrorCode.NAME_TAKEN
    default_message = "That name is already used."


class NoSlotToday(Conflict):
    code = SchedulingErrorCode.NO_FREE_SLOT
    default_message = "No doctor offering this service has a free slot at this branch today."


class InvalidScheduling(ValidationFailed):
    """Field errors of the scheduling services."""


class EntryNotFound(NotFound):
    code = ErrorCode.NOT_FOUND


class ManageLinkInvalid(NotFound):
    code = SchedulingErrorCode.MANAGE_LINK_INVALID
    default_message = "This booking link is not valid any more. Please call the clinic."


class CalendarBusy(Conflict):
    code = SchedulingErrorCode.CALENDAR_BUSY
    default_message = "Many changes reached this calendar at once. Please try again."


class WaitlistLinkInvalid(NotFound):
    code = SchedulingErrorCode.WAITLIST_LINK_INVALID
    default_message = "This waitlist link is not valid. Please call the clinic."


class WaitlistOfferTaken(Conflict):
    code = SchedulingErrorCode.WAITLIST_OFFER_TAKEN
    default_message = (
        "Sorry, someone else took this time a moment before you. You are still on the waitlist: "
        "we will send you the next time that suits you."
    )


class WaitlistOfferClosed(Conflict):
    code = SchedulingErrorCode.WAITLIST_OFFER_CLOSED
    default_message = "This offer can no longer be accepted."
