"""Booking, holding, moving and closing appointments: the one door to the calendar.

Every rule is judged twice. First by the plan (scheduling.engine), for a precise answer naming the
rule; then by PostgreSQL's exclusion constraints when the row is written, which settle any race
between concurrent transactions that both passed the first check. The second verdict is turned
into the same errors as the first (services.conflicts).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.range import Range

from config.events import publish
from config.fields import InputError, max_length, parse_token, visible_text
from patients.models import Patient
from patients.services import care_relation_grant, care_relation_withdraw, encounter_close, encounter_open
from scheduling import events
from scheduling import intervals as iv
from scheduling.engine import STAFF_HORIZON, Problem
from scheduling.exceptions import (
    STAFF_TOO_FAR_AHEAD,
    BookingRefused,
    EntryNotFound,
    HoldExpired,
    HoldReleased,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidScheduling,
    NoSlotToday,
    SeriesConflicts,
    TooLateToCancel,
)
from scheduling.models import Appointment, CalendarEntry, Kind, Room, Series, Service, Source, Status
from scheduling.selectors import plan_load, policy_get, slot_list_available
from scheduling.services.conflicts import doctor_busy, refusal_from, save_entry
from scheduling.services.links import manage_links_revoke
from tenants.authz import authorize
from tenants.org.models import Branch, StaffMember

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


def _actor_id(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def _grant(appointment: Appointment, patient_id: int, *, reason: str, at: datetime, by: int | None) -> None:
    care_relation_grant(
        reason=reason,
        patient_id=patient_id,
        doctor_id=appointment.doctor_id,
        appointment_id=appointment.pk,
        at=at,
        granted_by_id=by,
    )


def _care_from_booking(appointment: Appointment, *, by: set[int | None]) -> None:
    """A booking lets its doctor prepare (patients.rules) only when someone else put the patient
    with her: reception, a colleague, the patient. `by` are the users who chose this doctor for
    this patient (the booker; the mover when a move changed the doctor). Her own booking grants
    nothing, and a move onto the doctor who made it withdraws the grant."""
    if appointment.patient_id is None:
        return
    if appointment.doctor.user_id in by:
        care_relation_withdraw(appointment_id=appointment.pk)
        return
    _grant(appointment, appointment.patient_id, reason="booked", at=appointment.span.upper, by=appointment.booked_by_id)


def _care_from_visit(appointment: Appointment, *, actor: Any, at: datetime) -> None:
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


def _aware(start: datetime) -> datetime:
    if timezone.is_naive(start):
        raise InvalidScheduling(fields={"start": ["Give the time with its UTC offset."]})
    return start.astimezone(iv.UTC)


def _check_catalogue(*, service: Service, branch: Branch, online: bool) -> None:
    if not service.is_active:
        raise InvalidScheduling(fields={"service": ["This service is no longer offered."]})
    if not branch.is_active:
        raise InvalidScheduling(fields={"branch": ["This branch is closed."]})
    if online and not service.bookable_online:
        raise InvalidScheduling(fields={"service": ["This service cannot be booked online."]})


def _expire_stale_holds(*, doctor_id: int, room_id: int | None, busy: Range, now: datetime) -> None:
    """Holds that ran out still sit in the constrained calendar; free the ones in our way.

    This runs in the booking's own transaction, so an expired hold never needs a task to free it."""
    who = Q(doctor_id=doctor_id) | (Q(room_id=room_id) if room_id else Q(pk__in=[]))
    CalendarEntry.objects.filter(who, status=Status.HELD, hold_expires_at__lte=now, busy__overlap=busy).update(
        status=Status.EXPIRED
    )


def _save_entry(entry: CalendarEntry, *, actor: Any) -> None:
    """Write the row in a savepoint; a constraint violation becomes the matching BookingRefused."""
    entry._history_user = actor if getattr(actor, "is_authenticated", False) else None  # type: ignore[attr-defined]
    try:
        save_entry(entry)
    except IntegrityError as exc:
        refusal = refusal_from(exc, doctor_id=entry.doctor_id, busy=entry.busy)
        if refusal is None:
            raise
        raise refusal from exc


@dataclass(frozen=True)
class _Placement:
    span: Range
    busy: Range
    room_id: int | None


def _place(
    *,
    service: Service,
    branch: Branch,
    doctor: StaffMember,
    start: datetime,
    room: Room | None,
    online: bool,
    override: bool,
    patient_id: int | None,
    ignore_entry_id: int | None = None,
    now: datetime,
) -> _Placement:
    """Judge a start time by the rules; return where the visit goes (spans and room)."""
    if room is not None and room.branch_id != branch.pk:
        raise InvalidScheduling(fields={"room": ["The room belongs to another branch."]})
    tz = ZoneInfo(branch.timezone)
    plan = plan_load(
        service=service,
        branch=branch,
        days=[start.astimezone(tz).date()],
        doctor_ids=[doctor.pk],
        online=online,
        now=now,
        patient_id=patient_id,
        ignore_entry_id=ignore_entry_id,
        override=override,
    )
    problem = plan.problem(doctor.pk, start, room.pk if room else None)
    if problem == Problem.OFF_GRID:
        step = plan.online_step if online else 5
        raise InvalidScheduling(fields={"start": [f"Start on a {step}-minute boundary of the branch's clock."]})
    span, busy = plan.shape.spans(start)
    if problem == Problem.TOO_FAR_AHEAD and not online:
        raise BookingRefused(problem, STAFF_TOO_FAR_AHEAD.format(days=STAFF_HORIZON.days))
    if problem == Problem.DOCTOR_BUSY:
        raise doctor_busy(doctor_id=doctor.pk, busy=Range(*busy, "[)"), ignore_entry_id=ignore_entry_id)
    if problem:
        raise BookingRefused(problem)
    room_id = room.pk if room else (plan.free_room(busy) if service.requires_room else None)
    return _Placement(Range(*span, "[)"), Range(*busy, "[)"), room_id)


def _claim(placed: _Placement, *, now: datetime, actor: Any, **fields: Any) -> Appointment:
    """The unsaved appointment for a placement, once stale holds in its way are freed."""
    _expire_stale_holds(doctor_id=fields["doctor"].pk, room_id=placed.room_id, busy=placed.busy, now=now)
    return Appointment(
        room_id=placed.room_id,
        span=placed.span,
        busy=placed.busy,
        booked_by_id=_actor_id(actor),
        placed_by_id=_actor_id(actor),
        **fields,
    )


# --- idempotency ---------------------------------------------------------------------------------
# A key is the client's own: scoped to the user who sent it (another user's same key is another
# key, and never shows them someone else's booking), and bound to what was asked: the same key with
# any other request is refused, the same request replays the first answer.
def _idempotency_key(key: str | None) -> str | None:
    if not key:
        return None
    try:
        return parse_token(key, max_length=max_length(CalendarEntry, "idempotency_key"))
    except InputError as exc:
        raise InvalidScheduling(fields={"Idempotency-Key": [exc.message]}) from exc


def _digest(**asked: object) -> str:
    """A fingerprint of a request's meaning: rows by id, times in UTC."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(iv.UTC).isoformat()
        return getattr(value, "pk", value)

    text = json.dumps({name: plain(value) for name, value in asked.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _keyed(actor: Any, key: str) -> Appointment | None:
    return Appointment.objects.filter(idempotency_user_id=_actor_id(actor), idempotency_key=key).first()


def _replay(existing: Appointment, *, digest: str) -> Appointment:
    if not secrets.compare_digest(existing.idempotency_digest, digest):
        raise IdempotencyKeyReused()
    return existing


def _insert_booking(
    *,
    actor: Any,
    patient: Patient,
    doctor: StaffMember,
    branch: Branch,
    service: Service,
    start: datetime,
    room: Room | None,
    source: str,
    idempotency_key: str | None,
    idempotency_digest: str,
    override: bool,
    override_reason: str,
    notes: str,
    series: Series | None,
    now: datetime,
) -> Appointment:
    placed = _place(
        service=service,
        branch=branch,
        doctor=doctor,
        start=start,
        room=room,
        online=source == Source.ONLINE,
        override=override,
        patient_id=patient.pk,
        now=now,
    )
    appointment = _claim(
        placed,
        now=now,
        actor=actor,
        doctor=doctor,
        branch=branch,
        service=service,
        source=source,
        patient=patient,
        status=Status.BOOKED,
        idempotency_key=idempotency_key,
        idempotency_user_id=_actor_id(actor) if idempotency_key else None,
        idempotency_digest=idempotency_digest if idempotency_key else "",
        is_override=override,
        override_reason=override_reason[:300] if override else "",
        notes=notes[:500],
        series=series,
    )
    _save_entry(appointment, actor=actor)
    _care_from_booking(appointment, by={appointment.booked_by_id})
    return appointment


@transaction.atomic
def appointment_book(
    *,
    actor: Any,
    patient: Patient,
    doctor: StaffMember,
    branch: Branch,
    service: Service,
    start: datetime,
    room: Room | None = None,
    source: str = Source.STAFF,
    idempotency_key: str | None = None,
    override: bool = False,
    override_reason: str = "",
    notes: str = "",
    series: Series | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book `patient` with `doctor` for `service` at `branch`, starting at `start`.

    Refuses with BookingRefused (409, code naming the rule) when any rule or a concurrent booking
    is in the way. With `idempotency_key` (scoped to the actor), asking twice with the same request
    returns the first appointment, never two; the same key with another request is refused
    (idempotency_key_reused). With `override=True`, a reason and the override permission, the
    doctor's calendar, shifts and the branch's hours are not checked: a deliberate, audited double
    booking. A reason without `override` asks for nothing.
    """
    start = _aware(start)
    now = now or timezone.now()
    reason = override_reason.strip() if override else ""
    if override and not visible_text(reason):
        raise InvalidScheduling(fields={"override_reason": ["An override needs a reason."]})
    key = _idempotency_key(idempotency_key)
    digest = _digest(
        patient=patient,
        doctor=doctor,
        branch=branch,
        service=service,
        start=start,
        room=room,
        source=source,
        override=override,
        override_reason=reason,
        notes=notes,
        series=series,
    )
    if key:
        existing = _keyed(actor, key)
        if existing is not None:
            return _replay(existing, digest=digest)
    authorize(actor, "scheduling.book", branch)
    if override:
        authorize(actor, "scheduling.override", branch)
    online = source == Source.ONLINE
    _check_catalogue(service=service, branch=branch, online=online)
    try:
        appointment = _insert_booking(
            actor=actor,
            patient=patient,
            doctor=doctor,
            branch=branch,
            service=service,
            start=start,
            room=room,
            source=source,
            idempotency_key=key,
            idempotency_digest=digest,
            override=override,
            override_reason=reason,
            notes=notes,
            series=series,
            now=now,
        )
    except (BookingRefused, IntegrityError):
        # Two requests with one key racing: the loser finds the time taken (by the plan, or by the
        # constraint once the winner commits); answer it with the winner's appointment.
        if key:
            winner = _keyed(actor, key)
            if winner is not None:
                return _replay(winner, digest=digest)
        raise
    publish(events.AppointmentBooked(appointment.pk, _actor_id(actor)))
    return appointment


@transaction.atomic
def appointment_hold(
    *,
    actor: Any,
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
    placed = _place(
        service=service,
        branch=branch,
        doctor=doctor,
        start=start,
        room=None,
        online=online,
        override=False,
        patient_id=None,
        now=now,
    )
    hold = _claim(
        placed,
        now=now,
        actor=actor,
        doctor=doctor,
        branch=branch,
        service=service,
        source=source,
        status=Status.HELD,
        hold_expires_at=now + timedelta(minutes=policy_get().hold_minutes),
        hold_token=secrets.token_urlsafe(24),
    )
    _save_entry(hold, actor=actor)
    return hold


@transaction.atomic
def appointment_hold_confirm(
    *,
    actor: Any,
    hold: Appointment,
    hold_token: str,
    patient: Patient,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Turn a hold into a booking for `patient`. The hold token proves it is the holder asking."""
    now = now or timezone.now()
    key = _idempotency_key(idempotency_key)
    digest = _digest(hold=hold, patient=patient)
    if key:
        existing = _keyed(actor, key)
        if existing is not None:
            return _replay(existing, digest=digest)
    hold = Appointment.objects.select_for_update().get(pk=hold.pk)
    # compare_digest takes ASCII text only; a token is never anything else.
    if not hold.hold_token or not hold_token.isascii() or not secrets.compare_digest(hold.hold_token, hold_token):
        # Answered as a hold that does not exist: a wrong token must not tell that one does.
        raise EntryNotFound("No such hold.")
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


def _described(entry: CalendarEntry) -> str:
    """What the entry is, in words: a hold is not an appointment, nor is leave."""
    if entry.kind == Kind.LEAVE:
        return "Leave"
    if entry.status in (Status.HELD, Status.EXPIRED):
        return "A hold" if entry.status == Status.HELD else "An expired hold"
    return f"A {entry.get_status_display().lower()} appointment"


@transaction.atomic
def appointment_hold_release(*, actor: Any, hold: Appointment) -> Appointment:
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


def _locked(appointment: CalendarEntry) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


def _move(appointment: Appointment, to: str, *, actor: Any, **stamps: Any) -> Appointment:
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
    actor: Any,
    appointment: Appointment,
    start: datetime,
    doctor: StaffMember | None = None,
    room: Room | None = None,
    by_patient: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment. Atomic: the new time is won, or the old one is kept untouched.
    A patient moving their own appointment is held to the online rules (notice, horizon, grid)
    and, like a cancellation, not inside the cancellation window."""
    start = _aware(start)
    now = now or timezone.now()
    appointment = _locked(appointment)
    authorize(actor, "scheduling.change_appointment", appointment)
    if appointment.status not in MOVABLE:
        raise IllegalTransition(f"{_described(appointment)} cannot be moved.")
    if by_patient and appointment.span.lower - now < timedelta(hours=policy_get().cancellation_window_hours):
        raise TooLateToCancel("This appointment is too close to change online. Please call the clinic.")
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
    publish(events.AppointmentRescheduled(appointment.pk, _actor_id(actor), previous_start))
    return appointment


@transaction.atomic
def appointment_cancel(
    *, actor: Any, appointment: Appointment, reason: str = "", by_patient: bool = False, now: datetime | None = None
) -> Appointment:
    """Cancel. Inside the chain's cancellation window a patient is refused (too_late_to_cancel);
    staff may still cancel, and the cancellation is flagged late."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    authorize(actor, "scheduling.change_appointment", appointment)
    window = timedelta(hours=policy_get().cancellation_window_hours)
    late = appointment.status != Status.HELD and appointment.span.lower - now < window
    if late and by_patient:
        raise TooLateToCancel(
            f"Appointments can be cancelled online up to {policy_get().cancellation_window_hours} hours "
            "before they start. Please call the clinic."
        )
    unseen = appointment.status == Status.CHECKED_IN  # arrived, but left before the doctor started
    _move(
        appointment,
        Status.CANCELLED,
        actor=actor,
        cancelled_at=now,
        cancellation_reason=reason.strip()[:300],
        late_cancellation=late,
    )
    # A booking cancelled before the visit grants nothing; its booking link dies with it.
    care_relation_withdraw(appointment_id=appointment.pk, unseen_visit=unseen)
    manage_links_revoke(appointment_id=appointment.pk, now=now)
    publish(events.AppointmentCancelled(appointment.pk, _actor_id(actor), late))
    return appointment


def _status_change(
    appointment: Appointment, to: str, *, actor: Any, event: type[events.AppointmentEvent] | None = None, **stamps: Any
) -> Appointment:
    with transaction.atomic():
        appointment = _locked(appointment)
        authorize(actor, "scheduling.change_appointment", appointment)
        _move(appointment, to, actor=actor, **stamps)
        if event is not None:
            publish(event(appointment.pk, _actor_id(actor)))
    return appointment


def appointment_confirm(*, actor: Any, appointment: Appointment) -> Appointment:
    return _status_change(appointment, Status.CONFIRMED, actor=actor)


def appointment_check_in(*, actor: Any, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """The patient arrived: the visit's doctor joins the care team (patients.rules). Only on the
    appointment's own day in the branch's clock: an arrival cannot be recorded days ahead."""
    now = now or timezone.now()
    if appointment.branch is not None:
        tz = ZoneInfo(appointment.branch.timezone)
        if now.astimezone(tz).date() < appointment.span.lower.astimezone(tz).date():
            raise IllegalTransition("A patient can be checked in only on the day of the appointment.")
    with transaction.atomic():
        checked = _status_change(
            appointment, Status.CHECKED_IN, actor=actor, event=events.AppointmentCheckedIn, checked_in_at=now
        )
        _care_from_visit(checked, actor=actor, at=now)
    return checked


def appointment_start(*, actor: Any, appointment: Appointment) -> Appointment:
    """The doctor starts the visit: the patient's record opens an encounter for it."""
    now = timezone.now()
    with transaction.atomic():
        started = _status_change(appointment, Status.IN_PROGRESS, actor=actor, started_at=now)
        _care_from_visit(started, actor=actor, at=now)
        if started.patient_id:
            encounter_open(patient_id=started.patient_id, doctor_id=started.doctor_id, appointment_id=started.pk)
    return started


def appointment_complete(*, actor: Any, appointment: Appointment) -> Appointment:
    with transaction.atomic():
        completed = _status_change(
            appointment, Status.COMPLETED, actor=actor, event=events.AppointmentCompleted, completed_at=timezone.now()
        )
        encounter_close(appointment_id=completed.pk)
        manage_links_revoke(appointment_id=completed.pk)
    return completed


def appointment_mark_no_show(*, actor: Any, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """The patient did not come: the booking's access and link end with it."""
    if appointment.span.lower > (now or timezone.now()):
        raise IllegalTransition("An appointment can be marked as a no-show only once its start time has passed.")
    with transaction.atomic():
        missed = _status_change(appointment, Status.NO_SHOW, actor=actor, event=events.AppointmentNoShow)
        care_relation_withdraw(appointment_id=missed.pk)
        manage_links_revoke(appointment_id=missed.pk)
    return missed


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


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    appointment: Appointment | None
    problem: str | None
    message: str = ""


@transaction.atomic
def series_book(
    *,
    actor: Any,
    patient: Patient,
    doctor: StaffMember,
    branch: Branch,
    service: Service,
    first_start: datetime,
    count: int,
    every_days: int = 7,
    all_or_nothing: bool = True,
    room: Room | None = None,
    source: str = Source.STAFF,
    override: bool = False,
    override_reason: str = "",
    notes: str = "",
) -> tuple[Series, list[Occurrence]]:
    """Book a recurring series at the same wall-clock time every `every_days` days; each
    occurrence is booked like one appointment (with the override and notes, if given).

    all_or_nothing: every occurrence is booked, or none is and SeriesConflicts lists the problems.
    Otherwise the free occurrences are booked and the others reported; when none is free,
    SeriesConflicts all the same (nothing was booked)."""
    first_start = _aware(first_start)
    errors = {}
    if not 2 <= count <= 52:
        errors["count"] = ["Book between 2 and 52 occurrences."]
    if not 1 <= every_days <= 90:
        errors["every_days"] = ["Repeat every 1 to 90 days."]
    if errors:
        raise InvalidScheduling(fields=errors)
    authorize(actor, "scheduling.book", branch)
    tz = ZoneInfo(branch.timezone)
    local = first_start.astimezone(tz)
    starts = [
        iv.wall_clock(local.date() + timedelta(days=every_days * i), local.timetz().replace(tzinfo=None), tz)
        for i in range(count)
    ]
    series = Series.objects.create(created_by_id=_actor_id(actor), every_days=every_days, count=count)
    results: list[Occurrence] = []
    for start in starts:
        try:
            with transaction.atomic():
                booked = appointment_book(
                    actor=actor,
                    patient=patient,
                    doctor=doctor,
                    branch=branch,
                    service=service,
                    start=start,
                    room=room,
                    source=source,
                    series=series,
                    override=override,
                    override_reason=override_reason,
                    notes=notes,
                )
            results.append(Occurrence(start, booked, None))
        except (BookingRefused, InvalidScheduling) as exc:
            results.append(Occurrence(start, None, exc.code, exc.message))
    failed = [r for r in results if r.problem]
    if failed and (all_or_nothing or len(failed) == len(results)):
        fields = {r.start.astimezone(tz).isoformat(): [f"{r.problem}: {r.message}"] for r in failed}
        raise SeriesConflicts(
            f"{len(failed)} of {count} occurrences cannot be booked; nothing was booked.", fields=fields
        )
    return series, results
