"""Booking an appointment: the one door to the calendar, and the placement, idempotency and care
grants that holds (services.holds), the status lifecycle (services.lifecycle), series
(services.series) and walk-ins (services.walk_in) share.

Every rule is judged twice. First by the plan (scheduling.engine), for a precise answer naming the
rule; then by PostgreSQL's exclusion constraints when the row is written, which settle any race
between concurrent transactions that both passed the first check. The second verdict is turned
into the same errors as the first (services.conflicts).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.range import Range

from config.events import publish
from config.fields import InputError, max_length, parse_datetime, parse_token, visible_text
from patients.models import Patient
from patients.services import care_relation_grant, care_relation_withdraw
from scheduling import events
from scheduling import intervals as iv
from scheduling.engine import STAFF_HORIZON, Problem
from scheduling.exceptions import STAFF_TOO_FAR_AHEAD, BookingRefused, IdempotencyKeyReused, InvalidScheduling
from scheduling.models import Appointment, CalendarEntry, Room, Series, Service, Source, Status
from scheduling.selectors import plan_load
from scheduling.services.conflicts import doctor_busy, refusal_from, save_entry
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize, user_of
from tenants.org.models import Branch, StaffMember


def _actor_id(actor: Actor | None) -> int | None:
    user = user_of(actor)
    return user.pk if user else None


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


def _aware(start: datetime) -> datetime:
    """The start in UTC, judged as every date-time the API reads (config.fields.parse_datetime): with
    its UTC offset, and within the years the calendar plans (a day beyond them overflows the plan's
    arithmetic, as year 1 at +05:00 overflows the conversion to UTC itself)."""
    if timezone.is_naive(start):
        raise InvalidScheduling(fields={"start": ["Give the time with its UTC offset."]})
    try:
        return parse_datetime(start)
    except InputError as exc:  # the pages show the message, the API the field too
        raise InvalidScheduling(f"No such time can be booked. {exc.message}", fields={"start": [exc.message]}) from exc


def _check_catalogue(*, service: Service, branch: Branch, online: bool) -> None:
    if not service.is_active:
        raise InvalidScheduling(fields={"service": ["This service is no longer offered."]})
    if not branch.is_active:
        raise InvalidScheduling(fields={"branch": ["This branch is closed."]})
    if online and not service.bookable_online:
        raise InvalidScheduling(fields={"service": ["This service cannot be booked online."]})


def _expire_stale_holds(*, doctor_id: int, room_id: int | None, busy: Range[datetime], now: datetime) -> None:
    """Holds that ran out still sit in the constrained calendar; free the ones in our way.

    This runs in the booking's own transaction, so an expired hold never needs a task to free it."""
    who = Q(doctor_id=doctor_id) | (Q(room_id=room_id) if room_id else Q(pk__in=[]))
    CalendarEntry.objects.filter(who, status=Status.HELD, hold_expires_at__lte=now, busy__overlap=busy).update(
        status=Status.EXPIRED
    )


def _save_entry(entry: CalendarEntry, *, actor: Actor | None) -> None:
    """Write the row in a savepoint; a constraint violation becomes the matching BookingRefused."""
    changed_by(entry, actor)
    try:
        save_entry(entry)
    except IntegrityError as exc:
        refusal = refusal_from(exc, doctor_id=entry.doctor_id, busy=entry.busy)
        if refusal is None:
            raise
        raise refusal from exc


@dataclass(frozen=True)
class _Placement:
    span: Range[datetime]
    busy: Range[datetime]
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
    minutes: int | None = None,
) -> _Placement:
    """Judge a start time by the rules; return where the visit goes (spans and room). `minutes`: the
    visit's own length where the service lets staff change it (scheduling.services.resize)."""
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
        minutes=minutes,
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


class _Row(TypedDict, total=False):
    """The appointment's own columns a booking or a hold fills in beyond who, what, where and when."""

    status: str
    series: Series | None
    notes: str
    is_override: bool
    override_reason: str
    idempotency_key: str | None
    idempotency_user_id: int | None
    idempotency_digest: str
    hold_expires_at: datetime
    hold_token: str


def _claim(
    *,
    actor: Actor | None,
    doctor: StaffMember,
    branch: Branch,
    service: Service,
    start: datetime,
    source: str,
    patient: Patient | None,
    room: Room | None,
    override: bool,
    now: datetime,
    **row: Unpack[_Row],
) -> Appointment:
    """The unsaved appointment for a new visit (a booking, or a hold with no patient yet), placed
    by the rules, once stale holds in its way are freed."""
    placed = _place(
        service=service,
        branch=branch,
        doctor=doctor,
        start=start,
        room=room,
        online=source == Source.ONLINE,
        override=override,
        patient_id=patient.pk if patient else None,
        now=now,
    )
    _expire_stale_holds(doctor_id=doctor.pk, room_id=placed.room_id, busy=placed.busy, now=now)
    return Appointment(
        room_id=placed.room_id,
        span=placed.span,
        busy=placed.busy,
        booked_by_id=_actor_id(actor),
        placed_by_id=_actor_id(actor),
        doctor=doctor,
        branch=branch,
        service=service,
        source=source,
        patient=patient,
        **row,
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


def _keyed(actor: Actor | None, key: str) -> Appointment | None:
    return Appointment.objects.filter(idempotency_user_id=_actor_id(actor), idempotency_key=key).first()


def _replay(existing: Appointment, *, digest: str) -> Appointment:
    if not secrets.compare_digest(existing.idempotency_digest, digest):
        raise IdempotencyKeyReused()
    return existing


@dataclass(frozen=True)
class _Visit:
    """What a booking asks for: its idempotency digest is made of exactly these."""

    patient: Patient
    doctor: StaffMember
    branch: Branch
    service: Service
    start: datetime
    room: Room | None
    source: str
    override: bool
    override_reason: str
    notes: str
    series: Series | None


def _insert_booking(
    *, actor: Actor, visit: _Visit, idempotency_key: str | None, idempotency_digest: str, now: datetime
) -> Appointment:
    # A record merged into another takes no bookings. The row lock orders a booking after a merge
    # that is moving this patient's appointments, so none lands on the record merged away.
    kept = Patient.objects.select_for_update(no_key=True).filter(pk=visit.patient.pk, merged_into__isnull=True)
    if not kept.exists():
        raise InvalidScheduling(fields={"patient": ["This record was merged into another: book the record kept."]})
    appointment = _claim(
        actor=actor,
        doctor=visit.doctor,
        branch=visit.branch,
        service=visit.service,
        start=visit.start,
        source=visit.source,
        patient=visit.patient,
        room=visit.room,
        override=visit.override,
        now=now,
        status=Status.BOOKED,
        idempotency_key=idempotency_key,
        idempotency_user_id=_actor_id(actor) if idempotency_key else None,
        idempotency_digest=idempotency_digest if idempotency_key else "",
        is_override=visit.override,
        override_reason=visit.override_reason[:300] if visit.override else "",
        notes=visit.notes[:500],
        series=visit.series,
    )
    _save_entry(appointment, actor=actor)
    _care_from_booking(appointment, by={appointment.booked_by_id})
    return appointment


@transaction.atomic
def appointment_book(
    *,
    actor: Actor,
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
    visit = _Visit(
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
    digest = _digest(**{field.name: getattr(visit, field.name) for field in fields(visit)})
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
        appointment = _insert_booking(actor=actor, visit=visit, idempotency_key=key, idempotency_digest=digest, now=now)
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
