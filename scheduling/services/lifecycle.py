"""The status lifecycle of an appointment: which status may follow which, moving and cancelling."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from config.events import publish
from config.fields import plain_text
from patients.services import care_relation_withdraw, encounter_close, encounter_open
from scheduling import events
from scheduling.cancel_window import call_the_branch, inside_cancellation_window
from scheduling.exceptions import IllegalTransition, TooLateToCancel
from scheduling.models import Appointment, CalendarEntry, Kind, Room, Status
from scheduling.selectors import policy_get
from scheduling.services.booking import (
    _actor_id,
    _aware,
    _care_from_booking,
    _expire_stale_holds,
    _grant,
    _place,
    _save_entry,
)
from scheduling.services.links import manage_links_revoke
from tenants.authz import Actor, authorize
from tenants.org.models import StaffMember

# Which status may follow which. Anything else is refused with illegal_transition.
TRANSITIONS: dict[str, set[str]] = {
    Status.HELD: {Status.BOOKED, Status.EXPIRED, Status.CANCELLED},
    Status.BOOKED: {Status.CONFIRMED, Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
    Status.CONFIRMED: {Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW},
    Status.CHECKED_IN: {Status.IN_PROGRESS, Status.CANCELLED},
    Status.IN_PROGRESS: {Status.COMPLETED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
    Status.NO_SHOW: set(),
    Status.EXPIRED: set(),
}
MOVABLE = {Status.BOOKED, Status.CONFIRMED}


def _care_from_visit(appointment: Appointment, *, actor: Actor, at: datetime) -> None:
    """The patient came (checked in, started): the doctor keeps the record for the care period.
    A doctor alone (she put the patient with herself, by booking, confirming a hold or moving
    someone else's appointment onto herself, and checks them in herself) certifies no visit: that
    would be self-granted access by two clicks."""
    if appointment.patient_id is None:
        return
    doctor_user_id = appointment.doctor.user_id
    placed_by_her = doctor_user_id in {appointment.booked_by_id, appointment.placed_by_id}
    if placed_by_her and _actor_id(actor) == doctor_user_id:
        return
    _grant(appointment, appointment.patient_id, reason="visit", at=at, by=_actor_id(actor))


def _described(entry: CalendarEntry) -> str:
    """What the entry is, in words: a hold is not an appointment, nor is leave."""
    if entry.kind == Kind.LEAVE:
        return "Leave"
    if entry.status in (Status.HELD, Status.EXPIRED):
        return "A hold" if entry.status == Status.HELD else "An expired hold"
    return f"A {entry.get_status_display().lower()} appointment"


def own_minutes(appointment: Appointment) -> int | None:
    """The visit's own length where its service lets staff change it (a move keeps it); else None,
    and the visit lasts as the service does."""
    if appointment.service is None or not appointment.service.length_adjustable:
        return None
    return int((appointment.span.upper - appointment.span.lower).total_seconds() // 60)


def _locked(appointment: CalendarEntry) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


def _locked_to_change(appointment: CalendarEntry, *, actor: Actor, verb: str) -> Appointment:
    """The appointment under its row lock, once ``actor`` may change it and its state lets it be moved
    or resized (booked or confirmed); IllegalTransition says "<it> cannot be <verb>" otherwise."""
    locked = _locked(appointment)
    authorize(actor, "scheduling.change_appointment", locked)
    if locked.status not in MOVABLE:
        raise IllegalTransition(f"{_described(locked)} cannot be {verb}.")
    return locked


class Stamps(TypedDict, total=False):
    """What a status change records beside the status."""

    cancelled_at: datetime
    cancellation_reason: str
    late_cancellation: bool
    cancelled_by_patient: bool
    checked_in_at: datetime
    started_at: datetime
    completed_at: datetime


def _move(appointment: Appointment, to: str, *, actor: Actor, **stamps: Unpack[Stamps]) -> Appointment:
    if to not in TRANSITIONS[appointment.status]:
        raise IllegalTransition(f"{_described(appointment)} cannot become {Status(to).label.lower()}.")
    appointment.status = to
    for name, value in stamps.items():
        setattr(appointment, name, value)
    _save_entry(appointment, actor=actor)
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    actor: Actor,
    appointment: Appointment,
    start: datetime,
    doctor: StaffMember | None = None,
    room: Room | None = None,
    by_patient: bool = False,
    now: datetime | None = None,
    cause: events.Cause = events.Cause.REQUEST,
) -> Appointment:
    """Move an appointment. Atomic: the new time is won, or the old one is kept untouched.
    A patient moving their own appointment is held to the online rules (notice, horizon, grid)
    and, like a cancellation, not inside the cancellation window. `cause` travels with the event
    (the doctor's leave, or someone's request) so that the patient is told why."""
    start = _aware(start)
    now = now or timezone.now()
    appointment = _locked_to_change(appointment, actor=actor, verb="moved")
    if by_patient and inside_cancellation_window(start=appointment.span.lower, now=now):
        raise TooLateToCancel(f"This appointment is too close to change online. {call_the_branch(appointment.branch)}")
    doctor = doctor or appointment.doctor
    if appointment.branch is None or appointment.service is None:  # only leave rows lack them
        raise IllegalTransition("Only appointments can be moved.")
    previous_start, previous_doctor_id = appointment.span.lower, appointment.doctor_id
    placed = _place(
        service=appointment.service,
        branch=appointment.branch,
        doctor=doctor,
        start=start,
        room=room or (appointment.room if appointment.room and appointment.room.is_active else None),
        online=by_patient,
        override=False,
        patient_id=appointment.patient_id,
        ignore_entry_id=appointment.pk,
        now=now,
        minutes=own_minutes(appointment),
    )
    _expire_stale_holds(doctor_id=doctor.pk, room_id=placed.room_id, busy=placed.busy, now=now)
    appointment.doctor = doctor
    if doctor.pk != previous_doctor_id:
        appointment.placed_by_id = _actor_id(actor)
    appointment.span, appointment.busy, appointment.room_id = placed.span, placed.busy, placed.room_id
    appointment.is_override, appointment.override_reason = False, ""
    _save_entry(appointment, actor=actor)
    # The grant follows the appointment's time and doctor; a new doctor is chosen by the mover too.
    movers = {appointment.booked_by_id} | ({_actor_id(actor)} if doctor.pk != previous_doctor_id else set())
    _care_from_booking(appointment, by=movers)
    publish(
        events.AppointmentRescheduled(
            appointment.pk, _actor_id(actor), previous_start, previous_doctor_id=previous_doctor_id, cause=cause
        )
    )
    return appointment


@transaction.atomic
def appointment_cancel(
    *,
    actor: Actor,
    appointment: Appointment,
    reason: str = "",
    by_patient: bool = False,
    patient_asked: bool = False,
    now: datetime | None = None,
    cause: events.Cause = events.Cause.REQUEST,
) -> Appointment:
    """Cancel. Inside the chain's cancellation window a patient is refused (too_late_to_cancel);
    staff may still cancel, and the cancellation is flagged late. ``patient_asked``: staff record a
    cancellation the patient asked for (a phone call), which counts as the patient's (a late one may
    carry the chain's fee) without holding staff to the online window; otherwise a staff
    cancellation is the clinic's own and carries none."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    authorize(actor, "scheduling.change_appointment", appointment)
    late = appointment.status != Status.HELD and inside_cancellation_window(start=appointment.span.lower, now=now)
    if late and by_patient:
        raise TooLateToCancel(
            f"Appointments can be cancelled online up to {policy_get().cancellation_window_hours} hours "
            f"before they start. {call_the_branch(appointment.branch)}"
        )
    unseen = appointment.status == Status.CHECKED_IN  # arrived, but left before the doctor started
    patients_own = (by_patient or patient_asked) and cause == events.Cause.REQUEST
    _move(
        appointment,
        Status.CANCELLED,
        actor=actor,
        cancelled_at=now,
        cancellation_reason=plain_text(reason)[:300],
        late_cancellation=late,
        cancelled_by_patient=patients_own,
    )
    # A booking cancelled before the visit grants nothing; its booking link dies with it.
    care_relation_withdraw(appointment_id=appointment.pk, unseen_visit=unseen)
    manage_links_revoke(appointment_id=appointment.pk, now=now)
    publish(
        events.AppointmentCancelled(
            appointment.pk,
            _actor_id(actor),
            late,
            reason=appointment.cancellation_reason,
            cause=cause,
            by_patient=patients_own,
        )
    )
    return appointment


def _status_change(
    appointment: Appointment,
    to: str,
    *,
    actor: Actor,
    event: type[events.AppointmentEvent] | None = None,
    **stamps: Unpack[Stamps],
) -> Appointment:
    with transaction.atomic():
        appointment = _locked(appointment)
        authorize(actor, "scheduling.change_appointment", appointment)
        _move(appointment, to, actor=actor, **stamps)
        if event is not None:
            publish(event(appointment.pk, _actor_id(actor)))
    return appointment


def appointment_confirm(*, actor: Actor, appointment: Appointment) -> Appointment:
    return _status_change(appointment, Status.CONFIRMED, actor=actor)


def check_in_early(appointment: CalendarEntry, *, now: datetime) -> bool:
    """Before the appointment's own day in the branch's clock: no arrival is recorded days ahead."""
    if appointment.branch is None:
        return False
    tz = ZoneInfo(appointment.branch.timezone)
    return bool(now.astimezone(tz).date() < appointment.span.lower.astimezone(tz).date())


def no_show_early(appointment: CalendarEntry, *, now: datetime) -> bool:
    """Before the appointment's start: nobody has missed it yet."""
    return bool(appointment.span.lower > now)


def appointment_check_in(*, actor: Actor, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """The patient arrived: the visit's doctor joins the care team (patients.rules). Only on the
    appointment's own day in the branch's clock: an arrival cannot be recorded days ahead."""
    now = now or timezone.now()
    if check_in_early(appointment, now=now):
        raise IllegalTransition("A patient can be checked in only on the day of the appointment.")
    with transaction.atomic():
        checked = _status_change(
            appointment, Status.CHECKED_IN, actor=actor, event=events.AppointmentCheckedIn, checked_in_at=now
        )
        _care_from_visit(checked, actor=actor, at=now)
    return checked


def appointment_start(*, actor: Actor, appointment: Appointment) -> Appointment:
    """The doctor starts the visit: the patient's record opens an encounter for it."""
    now = timezone.now()
    with transaction.atomic():
        started = _status_change(appointment, Status.IN_PROGRESS, actor=actor, started_at=now)
        _care_from_visit(started, actor=actor, at=now)
        if started.patient_id:
            encounter_open(patient_id=started.patient_id, doctor_id=started.doctor_id, appointment_id=started.pk)
    return started


def appointment_complete(*, actor: Actor, appointment: Appointment) -> Appointment:
    with transaction.atomic():
        completed = _status_change(
            appointment, Status.COMPLETED, actor=actor, event=events.AppointmentCompleted, completed_at=timezone.now()
        )
        encounter_close(appointment_id=completed.pk)
        manage_links_revoke(appointment_id=completed.pk)
    return completed


def appointment_mark_no_show(*, actor: Actor, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """The patient did not come: the booking's access and link end with it."""
    if no_show_early(appointment, now=now or timezone.now()):
        raise IllegalTransition("An appointment can be marked as a no-show only once its start time has passed.")
    with transaction.atomic():
        missed = _status_change(appointment, Status.NO_SHOW, actor=actor, event=events.AppointmentNoShow)
        care_relation_withdraw(appointment_id=missed.pk)
        manage_links_revoke(appointment_id=missed.pk)
    return missed
