"""The outbox: every SMS and e-mail is a ``Message`` row written inside the transaction of the change
that calls for it, and sent later by the dispatcher (claim due rows with ``FOR UPDATE SKIP LOCKED``,
send once, retry with backoff, mark permanent failures).

Writers call ``message_enqueue`` (idempotent by ``key``) and ``messages_cancel`` (a cancelled
appointment's reminders, a moved one's old ones). Nothing here talks to a provider inside a caller's
transaction."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import OPEN_STATUSES, Channel, Kind, Message, MessageStatus
from patients.models import Patient
from tenants.selectors import current_schema

JsonValue = str | int | bool | None | list[str] | list[int]


@transaction.atomic
def message_enqueue(
    *,
    kind: Kind,
    channel: Channel,
    recipient: str,
    due_at: datetime,
    language: str | None = None,
    patient_id: int | None = None,
    appointment_id: int | None = None,
    branch_id: int | None = None,
    staff_user_id: int | None = None,
    context: Mapping[str, JsonValue] | None = None,
    key: str | None = None,
) -> Message:
    """Write one message to the outbox, due at ``due_at`` (UTC). With a ``key``, the same message is
    written once: a second call with the same key returns the first row unchanged. Without a
    ``language``, the one the patient is written to (``policy.language_of``: theirs, else the chain's),
    never a bare "en" in a chain that writes "en-gb"."""
    if language is None:
        from notifications.policy import language_of  # the policy reads the outbox's rows

        patient = Patient.objects.filter(pk=patient_id).first() if patient_id is not None else None
        language = language_of(patient)
    values = {
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "due_at": due_at,
        "language": language,
        "patient_id": patient_id,
        "appointment_id": appointment_id,
        "branch_id": branch_id,
        "staff_user_id": staff_user_id,
        "context": dict(context or {}),
    }
    if key is None:
        message = Message.objects.create(**values)
    else:
        message, _ = Message.objects.get_or_create(key=key, defaults=values)
    if message.status == MessageStatus.PENDING and message.due_at <= timezone.now() + KICK_WITHIN:
        dispatch_on_commit()
    return message


#: A message due this soon is sent by a kick after its commit, not left for the next periodic run.
KICK_WITHIN = timedelta(minutes=1)


class _Kick:
    """The after-commit callback that starts the dispatcher in one chain (once per transaction)."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        # Django names a robust callback that raised by its __qualname__ when it logs the error.
        self.__qualname__ = f"dispatch_on_commit[{schema}]"

    def __call__(self) -> None:
        from django_tenants.utils import schema_context

        with schema_context(self.schema):
            if settings.NOTIFICATIONS_DISPATCH_INLINE:
                from notifications.dispatch import messages_dispatch_all

                messages_dispatch_all()
            else:
                from notifications.tasks import outbox_dispatch

                outbox_dispatch.delay(kicked_at=time.time())


def dispatch_on_commit() -> None:
    """After the current transaction commits, send what is due now (a sign-in code, a confirmation)
    within seconds instead of at the next periodic run. Once per transaction however many messages
    it wrote; a failed kick loses nothing (the periodic run sends the message)."""
    connection = transaction.get_connection()
    schema = current_schema()
    # Inline (tests), a kick registered earlier may never run: one made before a test's
    # captureOnCommitCallbacks block is outside it, and the test's transaction is rolled back. Inline
    # dispatch is idempotent, so each writer kicks; a worker's task is asked once per transaction.
    if not settings.NOTIFICATIONS_DISPATCH_INLINE and any(
        isinstance(callback, _Kick) and callback.schema == schema for _, callback, _ in connection.run_on_commit
    ):
        return
    transaction.on_commit(_Kick(schema), robust=True)


def messages_open(*, appointment_id: int, kinds: tuple[Kind, ...] | None = None) -> QuerySet[Message]:
    """An appointment's messages still waiting to go out (optionally of some kinds)."""
    rows = Message.objects.filter(appointment_id=appointment_id, status=MessageStatus.PENDING)
    return rows.filter(kind__in=kinds) if kinds else rows


def messages_cancel(*, appointment_id: int, kinds: tuple[Kind, ...], reason: str) -> int:
    """Drop an appointment's pending messages of these kinds (its reminders when it is cancelled),
    in the caller's transaction. A message already being sent is left to finish."""
    return messages_open(appointment_id=appointment_id, kinds=kinds).update(
        status=MessageStatus.CANCELLED, last_error=reason[:500]
    )


__all__ = ["OPEN_STATUSES", "dispatch_on_commit", "message_enqueue", "messages_cancel", "messages_open"]
