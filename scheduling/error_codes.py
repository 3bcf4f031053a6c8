"""Error codes of the calendar. The booking rules' codes are the engine's problems
(``scheduling.engine.Problem``): a refused booking answers with the rule that refused it."""

from enum import StrEnum


class SchedulingErrorCode(StrEnum):
    # The booking rules (scheduling.engine.Problem), carried by BookingRefused.
    IN_THE_PAST = "in_the_past"
    TOO_SOON = "too_soon"
    TOO_FAR_AHEAD = "too_far_ahead"
    OFF_GRID = "off_grid"
    SERVICE_NOT_OFFERED = "service_not_offered"
    BRANCH_CLOSED = "branch_closed"
    OUTSIDE_SHIFT = "outside_shift"
    DOCTOR_ON_LEAVE = "doctor_on_leave"
    DOCTOR_BUSY = "doctor_busy"
    PATIENT_BUSY = "patient_busy"
    ROOM_TAKEN = "room_taken"
    # The calendar's other refusals.
    ILLEGAL_TRANSITION = "illegal_transition"
    # The appointment's service does not let staff change a visit's length (Service.length_adjustable).
    LENGTH_NOT_ADJUSTABLE = "length_not_adjustable"
    TOO_LATE_TO_CANCEL = "too_late_to_cancel"
    HOLD_EXPIRED = "hold_expired"
    HOLD_RELEASED = "hold_released"
    HOLD_CONFIRMED = "hold_confirmed"
    # The chain asks a deposit or prepayment for this online booking: it is confirmed by paying.
    ONLINE_PAYMENT_REQUIRED = "online_payment_required"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    LEAVE_CONFLICTS_APPOINTMENTS = "leave_conflicts_appointments"
    # Saving a leave with a decision per appointment in its way: one or more could not be carried out.
    LEAVE_DECISIONS_FAILED = "leave_decisions_failed"
    SERIES_CONFLICTS = "series_conflicts"
    SHIFT_OVERLAP = "shift_overlap"
    NAME_TAKEN = "name_taken"
    NO_FREE_SLOT = "no_free_slot"
    CALENDAR_BUSY = "calendar_busy"
    MANAGE_LINK_INVALID = "manage_link_invalid"
    # A set-up change (ending a shift, closing a day) would strand booked appointments.
    APPOINTMENTS_AFFECTED = "appointments_affected"
    # The waitlist (scheduling.services.waitlist): a link that opens nothing here, a freed time someone
    # else took first, an offer that can no longer be answered (declined, withdrawn, the entry closed).
    WAITLIST_LINK_INVALID = "waitlist_link_invalid"
    WAITLIST_OFFER_TAKEN = "waitlist_offer_taken"
    WAITLIST_OFFER_CLOSED = "waitlist_offer_closed"
