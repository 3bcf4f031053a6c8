"""Twilio's delivery reports (status callbacks on /twilio/status/): what became of an SMS we sent.

A report names the message by Twilio's MessageSid (our ``Message.provider_id``), looked up in the
chain whose site it was posted to, and only there. The sending side puts our row's id in the callback
URL (``?m=<pk>``), so a report that arrives before the worker has written the sid still finds its
row. Reports come out of order and more than once: a status is only ever replaced by a later one
(queued < sending < sent < delivered, undelivered or failed < read), so a late 'sent' after
'delivered', or the same report twice, changes nothing. A report of a message we do not know is
answered like any other (Twilio would otherwise retry it) and changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from notifications.models import Message, MessageStatus

log = logging.getLogger(__name__)

# Twilio's message statuses, in the order they happen.
RANK: dict[str, int] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
# What a provider status makes of our row (others leave it as it is).
OURS: dict[str, MessageStatus] = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}
# The common reasons, said plainly in the message log (Twilio's error dictionary has the rest).
ERRORS: dict[str, str] = {
    "30003": "the phone is switched off or out of reach",
    "30004": "the recipient blocks this sender",
    "30005": "the number is unknown or no longer in use",
    "30006": "a landline, or a carrier that cannot take SMS",
    "30007": "filtered by the carrier as unwanted",
    "30008": "an unknown error at the carrier",
    "21610": "the recipient has replied STOP",
    "21211": "not a valid phone number",
    "21614": "not a mobile number",
}


class Report(StrEnum):
    RECORDED = "recorded"
    STALE = "stale"  # older than (or the same as) what the row already says
    UNKNOWN_MESSAGE = "unknown_message"
    UNKNOWN_STATUS = "unknown_status"


def _error_text(status: str, error_code: str) -> str:
    if not error_code:
        return f"Twilio reports the message {status}."
    reason = ERRORS.get(error_code)
    return f"Twilio reports the message {status} (error {error_code}{': ' + reason if reason else ''})."


def _message_of(*, sid: str, message_id: int | None) -> Message | None:
    """Our row for Twilio's sid, under its row lock; by our id from the callback URL when the worker
    has not written the sid yet (never a row that already has another sid)."""
    found = Message.objects.select_for_update().filter(provider_id=sid).first()
    if found is None and message_id is not None:
        found = Message.objects.select_for_update().filter(pk=message_id, provider_id__in=("", sid)).first()
    return found


@transaction.atomic
def delivery_status_record(
    *, sid: str, status: str, error_code: str = "", message_id: int | None = None, now: datetime | None = None
) -> Report:
    """Record Twilio's report that message ``sid`` is now ``status`` (with Twilio's ErrorCode for an
    undelivered or failed one), unless the row already knows something later."""
    now = now or timezone.now()
    status = status.strip().lower()
    if status not in RANK:
        log.warning("twilio status %r for %s ignored", status, sid)
        return Report.UNKNOWN_STATUS
    message = _message_of(sid=sid, message_id=message_id)
    if message is None:
        log.info("twilio status %s for unknown message %s ignored", status, sid)
        return Report.UNKNOWN_MESSAGE
    if RANK[status] <= RANK.get(message.provider_status, -1):
        return Report.STALE
    message.provider_id = sid
    message.provider_status = status
    ours = OURS.get(status)
    if ours is not None:
        message.status = ours
        message.sent_at = message.sent_at or now  # a report can beat the worker's own 'sent'
    if ours == MessageStatus.DELIVERED:
        message.delivered_at = message.delivered_at or now
    if ours in (MessageStatus.UNDELIVERED, MessageStatus.FAILED):
        message.last_error = _error_text(status, error_code)[:500]
    message.save(
        update_fields=[
            "provider_id",
            "provider_status",
            "status",
            "sent_at",
            "delivered_at",
            "last_error",
            "updated_at",
        ]
    )
    return Report.RECORDED


__all__ = ["Report", "delivery_status_record"]
