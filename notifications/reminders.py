"""An appointment's reminders, kept in step with it inside the transaction that changes it.

``reminders_sync`` is the one rule, run on every change the calendar announces (booked, moved,
cancelled, checked in, completed, missed): an upcoming appointment (booked or confirmed) has one
reminder per offset of the chain (``MessagingSettings.reminder_offsets_minutes``) whose moment is
still ahead; anything else has none.

- Booked: the reminders still ahead are written (an offset already past is skipped).
- Moved: a pending reminder gets the new due time (the row is kept, so it is sent once); a reminder
  already sent for the old time stays sent, and a new one is written for the new time when that is
  still ahead. A reminder already sent for the very same time (moved away and back) is not sent again.
- Cancelled, missed, checked in, completed: the pending reminders are dropped (status cancelled).
- New reminder times or quiet hours (``reminders_replan``): a waiting reminder keeps its row and gets
  its new due time; one of an offset the chain no longer has takes a new offset's time (largest
  with largest); only a reminder the new settings no longer want is dropped, with the reason.

Each reminder's key is ``reminder:<appointment>:<offset>:<start>``: the same event handled twice,
or a series whose occurrences each announce their booking, writes each reminder once. The
calendar locks the appointment's row for every change, so two changes of one appointment never
sync at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import KICK_WITHIN, dispatch_on_commit
from notifications.policy import UPCOMING, language_of, messaging_settings, reminder_moments, routes
from scheduling.models import CalendarEntry
from scheduling.models import Kind as EntryKind


def reminder_key(appointment_id: int, offset: int, start: datetime) -> str:
    return f"reminder:{appointment_id}:{offset}:{int(start.timestamp())}"


def reminders_planned(appointment: CalendarEntry, *, now: datetime) -> dict[int, datetime]:
    """offset (minutes) -> due moment of each reminder ``appointment`` should have now: the chain's
    offsets by the quiet-hours rule (``policy.reminder_moments``), those still ahead."""
    if appointment.status not in UPCOMING or appointment.patient_id is None or appointment.branch is None:
        return {}
    settings = messaging_settings()
    moments = reminder_moments(
        start=appointment.span.lower,
        offsets=list(settings.reminder_offsets_minutes),
        tz=ZoneInfo(appointment.branch.timezone),
        settings=settings,
    )
    return {offset: due for offset, due in moments.items() if due > now}


@dataclass
class _Changes:
    """What bringing reminders to their plan does: pending rows given a new key, time or address,
    rows to write, pending rows no longer needed."""

    moved: list[Message] = field(default_factory=list)
    written: list[Message] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


def _reconcile(
    appointment: CalendarEntry,
    *,
    planned: dict[int, datetime],
    channels: list[tuple[Channel, str]],
    pending: list[Message],
    keyed: dict[str, Message],
    into: _Changes,
) -> bool:
    """Add to ``into`` what makes ``appointment``'s reminders its plan (the rule in this module's
    docstring): ``pending`` are its reminders still waiting (locked), ``keyed`` every reminder row by
    key, whatever its status (one already sent for the same time is not written again). Returns
    whether anything changes."""
    by_offset = {(m.context.get("offset"), m.channel): m for m in pending}
    # pending reminders of offsets the plan no longer has, largest first (paired in order with the
    # plan's new offsets, largest first)
    spare = sorted(
        (m for m in pending if m.context.get("offset") not in planned),
        key=lambda m: (-int(m.context.get("offset") or 0), m.pk),
    )
    kept: set[int] = set()
    used = {channel for channel, _ in channels}
    live = {m.pk for m in pending}
    changed = False
    start = appointment.span.lower
    for offset, due in sorted(planned.items(), key=lambda item: -item[0]):
        for channel, recipient in channels:
            key = f"{reminder_key(appointment.pk, offset, start)}:{channel}"
            same = keyed.get(key)
            if same is not None:  # already written (or sent) for this very time
                # Only a row held here is changed: a waiting one (locked), or one an earlier plan
                # dropped (nobody else changes those). A row the dispatcher handed back since the lock
                # was taken is its own again: it keeps its time rather than being written unlocked.
                revived = same.status == MessageStatus.CANCELLED  # dropped by an earlier plan, never sent
                if revived:
                    same.status, same.last_error, same.recipient = MessageStatus.PENDING, "", recipient
                if revived or (same.pk in live and same.due_at != due):
                    same.due_at = due
                    into.moved.append(same)
                    changed = True
                kept.add(same.pk)
                continue
            moving = by_offset.get((offset, channel))
            if moving is None or moving.pk in kept:
                # the same reminder on a channel no longer used goes on the one used now (the patient
                # agreed to texts since it was written): the row is kept
                moving = next(
                    (
                        m
                        for m in pending
                        if m.context.get("offset") == offset and m.channel not in used and m.pk not in kept
                    ),
                    None,
                )
            if moving is None or moving.pk in kept:
                # a waiting reminder of an offset the plan no longer has takes the new offset's time
                # (the chain's two-hour reminder becomes its three-hour one): the row is kept
                moving = next((m for m in spare if m.channel == channel and m.pk not in kept), None)
            if moving is not None and moving.pk not in kept:
                moving.key, moving.due_at, moving.recipient, moving.channel = key, due, recipient, channel
                moving.context = {**moving.context, "offset": offset}
                into.moved.append(moving)
                kept.add(moving.pk)
                changed = True
                continue
            into.written.append(
                Message(
                    kind=Kind.REMINDER,
                    channel=channel,
                    recipient=recipient,
                    due_at=due,
                    language=language_of(appointment.patient),
                    patient_id=appointment.patient_id,
                    appointment_id=appointment.pk,
                    branch_id=appointment.branch_id,
                    context={"offset": offset},
                    key=key,
                )
            )
            changed = True
    stale = [m.pk for m in pending if m.pk not in kept]
    into.dropped.extend(stale)
    return changed or bool(stale)


def _apply(changes: _Changes, *, reason: str, reasons: dict[int, str] | None = None) -> None:
    """Write ``changes``; a dropped reminder reads ``reason`` (or its own, in ``reasons``)."""
    if changes.moved:
        Message.objects.bulk_update(
            changes.moved, ["key", "due_at", "recipient", "channel", "context", "status", "last_error"], batch_size=500
        )
    if changes.written:
        Message.objects.bulk_create(changes.written, batch_size=500)
        if min(m.due_at for m in changes.written) <= timezone.now() + KICK_WITHIN:
            dispatch_on_commit()
    said: dict[str, list[int]] = {}
    for pk in changes.dropped:
        said.setdefault((reasons or {}).get(pk, reason), []).append(pk)
    for text, pks in said.items():
        Message.objects.filter(pk__in=pks, status=MessageStatus.PENDING).update(
            status=MessageStatus.CANCELLED, last_error=text
        )


def _channels(appointment: CalendarEntry, planned: dict[int, datetime]) -> list[tuple[Channel, str]]:
    return routes(appointment.patient, kind=Kind.REMINDER) if planned and appointment.patient else []


@transaction.atomic
def reminders_sync(*, appointment: CalendarEntry, now: datetime | None = None) -> None:
    """Make ``appointment``'s reminders what its current time and status call for (the rule above),
    in the caller's transaction."""
    now = now or timezone.now()
    planned = reminders_planned(appointment, now=now)
    rows = Message.objects.filter(appointment_id=appointment.pk, kind=Kind.REMINDER)
    pending = list(rows.select_for_update().filter(status=MessageStatus.PENDING))
    keyed = {m.key: m for m in rows.exclude(key=None) if m.key}
    keyed |= {m.key: m for m in pending if m.key}
    channels = _channels(appointment, planned)
    changes = _Changes()
    _reconcile(appointment, planned=planned, channels=channels, pending=pending, keyed=keyed, into=changes)
    if appointment.status not in UPCOMING:
        reason = f"The appointment is {appointment.get_status_display().lower()}."
    else:
        reason = "The appointment moved." if channels else "The patient can no longer be reached."
    _apply(changes, reason=reason)


FEWER_REMINDERS = "The chain's new reminder times have fewer reminders."
PASSED = "Its new time has already passed."
QUIET_DROPPED = (
    "The chain's quiet hours would move it to just before they begin, less than 24 hours after another "
    "reminder of this visit: the patient already hears that day."
)


def _why_dropped(
    dropped: list[int], *, pending: dict[int, list[Message]], visits: list[CalendarEntry]
) -> dict[int, str]:
    """Why each reminder a re-plan drops is no longer wanted: its offset is gone from the chain's
    reminder times, its new moment has passed, or the quiet-hours rule leaves it out (rule 3 of
    ``policy.reminder_moments``: another reminder of the visit goes less than 24 hours before)."""
    gone = set(dropped)
    settings = messaging_settings()
    offsets = list(settings.reminder_offsets_minutes)
    said: dict[int, str] = {}
    for visit in visits:
        rows = [m for m in pending.get(visit.pk, []) if m.pk in gone]
        if not rows or visit.branch is None:
            continue
        moments = reminder_moments(
            start=visit.span.lower, offsets=offsets, tz=ZoneInfo(visit.branch.timezone), settings=settings
        )
        for m in rows:
            offset = m.context.get("offset")
            if offset not in offsets:
                said[m.pk] = FEWER_REMINDERS
            elif offset in moments:
                said[m.pk] = PASSED
            else:
                said[m.pk] = QUIET_DROPPED
    return said


@dataclass(frozen=True)
class Replanned:
    """What planning the reminders of upcoming visits again changed: visits whose reminders changed,
    reminders given a new time, written and no longer needed. Reminders already sent stay sent."""

    visits: int
    moved: int
    written: int
    dropped: int


@transaction.atomic
def reminders_replan(*, now: datetime | None = None) -> Replanned:
    """Plan the reminders of every upcoming visit again by the chain's current offsets and quiet
    hours (after the owner changed them), in the caller's transaction, in bulk.

    Reminders already sent (or being sent) stay as they are and are never written again for the same
    time (their key). The visits are locked (``FOR NO KEY UPDATE``: a booking change waits for the
    re-plan and then follows the new settings) before their pending reminders (``FOR UPDATE``): the
    dispatcher claims with ``SKIP LOCKED``, so it passes over a reminder being re-planned and claims
    it at its new time; one it claimed first is no longer pending here and is left alone. Running it
    twice changes nothing the second time."""
    now = now or timezone.now()
    visits = list(
        CalendarEntry.objects.select_for_update(of=("self",), no_key=True)
        .filter(
            kind=EntryKind.APPOINTMENT,
            status__in=UPCOMING,
            patient__isnull=False,
            branch__isnull=False,
            span__startswith__gt=now,
        )
        .select_related("branch", "patient")
        .order_by("pk")
    )
    ids = [v.pk for v in visits]
    rows = Message.objects.filter(kind=Kind.REMINDER, appointment_id__in=ids)
    pending: dict[int, list[Message]] = {}
    for m in rows.select_for_update().filter(status=MessageStatus.PENDING).order_by("pk"):
        pending.setdefault(m.appointment_id or 0, []).append(m)
    keyed = {m.key: m for m in rows.exclude(key=None) if m.key}
    keyed |= {m.key: m for ms in pending.values() for m in ms if m.key}
    changes = _Changes()
    touched = 0
    for visit in visits:
        planned = reminders_planned(visit, now=now)
        touched += _reconcile(
            visit,
            planned=planned,
            channels=_channels(visit, planned),
            pending=pending.get(visit.pk, []),
            keyed=keyed,
            into=changes,
        )
    _apply(changes, reason=FEWER_REMINDERS, reasons=_why_dropped(changes.dropped, pending=pending, visits=visits))
    return Replanned(
        visits=touched, moved=len(changes.moved), written=len(changes.written), dropped=len(changes.dropped)
    )
