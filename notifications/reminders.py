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

Each reminder's key is ``reminder:<appointment>:<offset>:<start>``: the same event handled twice,
or a series whose occurrences each announce their booking, writes each reminder once. The
calendar locks the appointment's row for every change, so two changes of one appointment never
sync at once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from notifications.models import Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from notifications.policy import UPCOMING, language_of, messaging_settings, reminder_due, routes
from scheduling.models import CalendarEntry


def reminder_key(appointment_id: int, offset: int, start: datetime) -> str:
    return f"reminder:{appointment_id}:{offset}:{int(start.timestamp())}"


def reminders_planned(appointment: CalendarEntry, *, now: datetime) -> dict[int, datetime]:
    """offset (minutes) -> due moment of each reminder ``appointment`` should have now. Two offsets
    that quiet hours bring to one moment make one reminder (the longer offset's)."""
    if appointment.status not in UPCOMING or appointment.patient_id is None or appointment.branch is None:
        return {}
    settings = messaging_settings()
    tz = ZoneInfo(appointment.branch.timezone)
    planned: dict[int, datetime] = {}
    for offset in sorted(set(settings.reminder_offsets_minutes), reverse=True):
        due = reminder_due(start=appointment.span.lower, offset_minutes=offset, tz=tz, settings=settings, now=now)
        if due is not None and due not in planned.values():
            planned[offset] = due
    return planned


@transaction.atomic
def reminders_sync(*, appointment: CalendarEntry, now: datetime | None = None) -> None:
    """Make ``appointment``'s reminders what its current time and status call for (the rule above),
    in the caller's transaction."""
    now = now or timezone.now()
    planned = reminders_planned(appointment, now=now)
    pending = {
        (m.context.get("offset"), m.channel): m
        for m in Message.objects.select_for_update().filter(
            appointment_id=appointment.pk, kind=Kind.REMINDER, status=MessageStatus.PENDING
        )
    }
    kept: set[int] = set()
    channels = routes(appointment.patient, kind=Kind.REMINDER) if planned and appointment.patient else []
    start = appointment.span.lower
    for offset, due in planned.items():
        for channel, recipient in channels:
            key = f"{reminder_key(appointment.pk, offset, start)}:{channel}"
            same = Message.objects.filter(key=key).first()
            if same is not None:  # already written (or sent) for this very time
                if same.status == MessageStatus.PENDING and same.due_at != due:
                    Message.objects.filter(pk=same.pk).update(due_at=due)
                kept.add(same.pk)
                continue
            moving = pending.get((offset, channel))
            if moving is not None and moving.pk not in kept:
                Message.objects.filter(pk=moving.pk).update(key=key, due_at=due, recipient=recipient)
                kept.add(moving.pk)
                continue
            written = message_enqueue(
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
            kept.add(written.pk)
    stale = [m.pk for m in pending.values() if m.pk not in kept]
    if stale:
        if appointment.status not in UPCOMING:
            reason = f"The appointment is {appointment.get_status_display().lower()}."
        else:
            reason = "The appointment moved." if channels else "The patient can no longer be reached."
        Message.objects.filter(pk__in=stale).update(status=MessageStatus.CANCELLED, last_error=reason)
