"""What the desk is told after it cancels or moves a visit: whether the patient is told (by which channel, or
why not: no address, no consent, the chain's switch), and what became of the freed time (offered to
whom on the waitlist, or why to nobody)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from notifications.models import OPEN_STATUSES, Channel, Kind, Message, MessageStatus
from notifications.policy import consent_refusal, messaging_settings
from scheduling.models import CalendarEntry
from scheduling.waitlist import waitlist_freed_of, waitlist_freed_said

NOT_TOLD = (MessageStatus.CANCELLED, MessageStatus.SKIPPED)


LABELS = {Channel.SMS: "SMS", Channel.EMAIL: "e-mail"}


def _why_untold(appointment: CalendarEntry, kind: Kind) -> str:
    patient = appointment.patient
    if patient is None:
        return ""
    settings = messaging_settings()
    reasons = []
    for channel, address, on in (
        (Channel.SMS, patient.phone, settings.sms_enabled),
        (Channel.EMAIL, patient.email, settings.email_enabled),
    ):
        label = LABELS[channel]
        why = consent_refusal(patient, channel=channel, kind=kind) if address and on else None
        if not address:
            reasons.append("no mobile number on file" if channel == Channel.SMS else "no e-mail address on file")
        elif not on:
            reasons.append(f"{label} messages are turned off")
        elif why:
            reasons.append(f"opted out of {label}" if "opted out" in why else f"no {label} consent on record")
    return ("The patient is not told: " + ", ".join(reasons) + ".") if reasons else "The patient is not told."


def cancellation_said(*, appointment_id: int) -> str:
    """After a cancellation: who was told how, and where the freed time went (the desk's words)."""
    return _said(appointment_id=appointment_id, kinds=(Kind.CANCELLED, Kind.LEAVE_CANCELLED))


def move_said(*, appointment_id: int, since: datetime) -> str:
    """After a move made at ``since``: who was told of the new time how (or that the confirmation
    still to go gives it), and where the old time went."""
    return _said(appointment_id=appointment_id, kinds=(Kind.RESCHEDULED, Kind.LEAVE_MOVED), since=since)


def _said(*, appointment_id: int, kinds: tuple[Kind, ...], since: datetime | None = None) -> str:
    appointment = CalendarEntry.objects.select_related("patient", "branch").filter(pk=appointment_id).first()
    if appointment is None or appointment.patient is None:
        return ""
    rows = Message.objects.filter(appointment_id=appointment_id, kind__in=kinds).exclude(status__in=NOT_TOLD)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    told = list(rows.order_by("channel"))
    confirming = Message.objects.filter(appointment_id=appointment_id, kind=Kind.CONFIRMATION, status__in=OPEN_STATUSES)
    if not told and Kind.RESCHEDULED in kinds and confirming.exists():
        said = "The confirmation still to be sent gives the new time."  # a move before it went is not told apart
    elif told:
        sent = {m.channel for m in told}
        channels = " and ".join(label for channel, label in LABELS.items() if channel in sent)
        said = f"The patient is told by {channels}"
        now = timezone.now()
        later = [m.due_at for m in told if m.status == MessageStatus.PENDING and m.due_at > now]
        if later and appointment.branch is not None:
            at = min(later).astimezone(ZoneInfo(appointment.branch.timezone))
            said += f" (after quiet hours, at {at:%H:%M})"
        said += "."
    else:
        said = _why_untold(appointment, kinds[0])
    freed = waitlist_freed_of(appointment_id=appointment_id)
    if freed is not None and (since is None or freed.created_at >= since):
        said = f"{said} {waitlist_freed_said(freed=freed)}"
    return said
