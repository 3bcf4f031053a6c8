"""Sending the outbox: claim due rows, send each once, retry with backoff, mark permanent failures,
and recover rows whose worker died mid-send.

1. **Claim** (one short transaction, one statement): the oldest due ``pending`` rows, ``FOR UPDATE
   SKIP LOCKED`` so dispatchers running at once take disjoint rows, become ``sending`` with
   ``claimed_at`` (the lease) and ``attempts + 1`` (the fence: only this attempt may settle the row).
2. Each row is asked ``policy.refusal`` (-> ``skipped``) and ``policy.postponed`` (-> back to
   ``pending`` at the new time), then composed (the batch's appointments read in one query for
   both, the manage links its messages carry issued in one INSERT). The texts kept for the log
   (secrets masked) and the SHA-256 of the exact text sent are written for the whole batch in one
   statement *before* the provider is called.
3. **Send** through the provider (Twilio's SDK for SMS, Django's e-mail backend for e-mail), then
   **settle** the batch in bulk: ``sent`` with the provider's id (and the secret values removed from
   the context), ``pending`` again after a transient failure (1 min, 5, 30, 2 h, 6 h; then
   ``failed``), ``failed`` at once when the provider refuses for good (invalid number, unsubscribed,
   not a mobile, invalid e-mail address). A settle only touches the row if its ``attempts`` is still
   the claim's.
4. **Recover**: a row left ``sending`` longer than the lease (its worker was killed) is leased again
   and the provider is asked whether it holds the message (Twilio lists messages by ``To``; the
   copy is recognised by the digest of its body, and a sid already recorded on another row is never
   taken). Found: ``sent`` with that id, nothing is sent again. Not found, or no digest written (the
   worker died before calling the provider): back to ``pending``, sent again. E-mail cannot be asked:
   it is sent again with the same Message-ID (notifications/email.py).

The lease (settings.OUTBOX_SENDING_LEASE_SECONDS) is longer than any provider call may last
(settings.TWILIO_TIMEOUT_SECONDS), and a batch begins no call after half of it (what it has not
reached by then goes back to ``pending``, unattempted), so the sweep never takes a row whose worker
is still sending it or has yet to. A row Twilio already reported by a status callback (queued,
sending…) carries Twilio's id: the sweep takes that as Twilio holding it."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.utils import timezone

from notifications.compose import Composed, compose
from notifications.email import (
    EmailNotSent,
    EmailRefused,
    Sender,
    chain_sender,
    email_connection,
    email_send,
    message_id,
)
from notifications.memo import batch_memo
from notifications.models import Channel, Message, MessageStatus, MessagingSettings
from notifications.placeholders import manage_links_issue_for
from notifications.policy import appointments_read, chain_settings, postponed, refusal
from notifications.sms import Sms, SmsBackend, SmsNotSent, SmsOutcomeUnknown, SmsRefused, sms_backend
from tenants.selectors import clinic_host, current_clinic, current_schema, site_url

log = logging.getLogger(__name__)
TABLE = Message._meta.db_table


@dataclass
class Settlement:
    """What becomes of one claimed row."""

    pk: int
    attempts: int
    status: str
    due_at: datetime | None = None
    error: str = ""
    provider_id: str = ""
    context: dict[str, object] | None = None
    #: Added to attempts: -1 when the row was not attempted (postponed, recovered unsent).
    attempts_delta: int = 0


@dataclass
class Tally:
    claimed: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, settlements: list[Settlement]) -> None:
        for item in settlements:
            self.counts[item.status] = self.counts.get(item.status, 0) + 1

    def merge(self, other: Tally) -> None:
        self.claimed += other.claimed
        for status, count in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + count

    def as_dict(self) -> dict[str, int]:
        return {"claimed": self.claimed, **self.counts}


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the ``attempts``-th failed try; None when no try is left."""
    waits = settings.OUTBOX_RETRY_MINUTES
    return timedelta(minutes=waits[attempts - 1]) if attempts <= len(waits) else None


def _claim(*, limit: int, now: datetime, only: Collection[int] | None = None) -> list[int]:
    only_ids = None if only is None else list(only)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {TABLE} SET status = 'sending', claimed_at = %s, attempts = attempts + 1, updated_at = %s
                WHERE id IN (SELECT id FROM {TABLE} WHERE status = 'pending' AND due_at <= %s
                                    AND (%s::bigint[] IS NULL OR id = ANY(%s::bigint[]))
                             ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING id""",  # noqa: S608 (the table name is ours)
            [now, now, now, only_ids, only_ids, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _write_texts(rows: list[tuple[Message, Composed]]) -> None:
    """The log's texts and the digest of what is about to be sent, for the batch, before sending."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {TABLE} AS m SET subject = v.subject, body = v.body, digest = v.digest, written_at = %s
                FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::text[])
                     AS v(id, attempts, subject, body, digest)
                WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = 'sending'""",  # noqa: S608
            [
                timezone.now(),  # the clock the calendar's history is written on
                [m.pk for m, _ in rows],
                [m.attempts for m, _ in rows],
                [c.subject[:200] for _, c in rows],
                [c.logged_body for _, c in rows],
                [digest(c.body) for _, c in rows],
            ],
        )


def _settle(settlements: list[Settlement], *, now: datetime, lease: datetime | None = None) -> int:
    """Write the outcome of each row in one statement. Only rows still in this attempt change (a
    claim's ``attempts``; a recovery's lease); a row the recovery sweep put back to ``pending``
    before this attempt's answer came is still this attempt's and is settled."""
    if not settlements:
        return 0
    fence = "m.claimed_at = %s AND m.status = 'sending'" if lease else "m.status IN ('sending', 'pending')"
    params: list[object] = [
        now,
        now,
        [s.pk for s in settlements],
        [s.attempts for s in settlements],
        [s.status for s in settlements],
        [s.due_at for s in settlements],
        [s.error[:500] for s in settlements],
        [s.provider_id for s in settlements],
        [None if s.context is None else json.dumps(s.context) for s in settlements],
        [s.attempts_delta for s in settlements],
    ]
    if lease:
        params.append(lease)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {TABLE} AS m SET
                    status = v.status,
                    due_at = COALESCE(v.due_at, m.due_at),
                    last_error = v.error,
                    provider_id = CASE WHEN v.provider_id = '' THEN m.provider_id ELSE v.provider_id END,
                    sent_at = CASE WHEN v.status = 'sent' THEN %s ELSE m.sent_at END,
                    context = COALESCE(v.context::jsonb, m.context),
                    attempts = m.attempts + v.delta,
                    claimed_at = CASE WHEN v.status = 'sending' THEN m.claimed_at ELSE NULL END,
                    updated_at = %s
                FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::timestamptz[], %s::text[], %s::text[],
                            %s::text[], %s::int[])
                     AS v(id, attempts, status, due_at, error, provider_id, context, delta)
                WHERE m.id = v.id AND m.attempts = v.attempts AND {fence}""",  # noqa: S608
            params,  # type: ignore[arg-type]
        )
        return cursor.rowcount


def digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _without_secrets(message: Message) -> dict[str, object]:
    """The context kept after sending: the secret values (a code, a link's token) dropped."""
    names = set(message.context.get("secret") or [])
    return {k: v for k, v in message.context.items() if k not in names}


def _failure(message: Message, error: str, *, now: datetime) -> Settlement:
    """A transient failure: retried after the backoff, failed once no try is left."""
    wait = retry_delay(message.attempts)
    if wait is None:
        return Settlement(message.pk, message.attempts, MessageStatus.FAILED, error=f"Gave up: {error}")
    return Settlement(message.pk, message.attempts, MessageStatus.PENDING, due_at=now + wait, error=error)


class _Sender:
    """What one batch sends through: the SMS backend, one e-mail connection, the chain's addresses
    (its e-mails come from its own name, answers go to its contact address)."""

    def __init__(self) -> None:
        self.sms: SmsBackend = sms_backend()
        self.schema = current_schema()
        self.host = clinic_host(current_clinic())
        self.site = site_url(self.host)
        configured = MessagingSettings.objects.filter(pk=1).values_list("twilio_messaging_service_sid", flat=True)
        self.service = configured.first() or settings.TWILIO_MESSAGING_SERVICE_SID
        self._mail: BaseEmailBackend | None = None
        chain = chain_settings()
        self.sender: Sender = chain_sender(chain_name=chain.name, reply_to=chain.contact_email)

    def send(self, message: Message, composed: Composed) -> str:
        if message.channel == Channel.SMS:
            return self.sms.send(
                Sms(
                    to=message.recipient,
                    body=composed.body,
                    status_callback=f"{self.site}/twilio/status/?m={message.pk}",
                    messaging_service_sid=self.service,
                )
            )
        if self._mail is None:
            self._mail = email_connection()
            self._mail.open()
        return email_send(
            connection=self._mail,
            sender=self.sender,
            to=message.recipient,
            composed=composed,
            message_id=message_id(pk=message.pk, schema=self.schema, host=self.host),
        )

    def close(self) -> None:
        if self._mail is not None:
            self._mail.close()


def messages_dispatch(
    *, limit: int | None = None, now: datetime | None = None, only: Collection[int] | None = None
) -> Tally:
    """Claim up to ``limit`` due messages of the current chain (of ``only`` these, when given) and
    send them (see the module)."""
    now = now or timezone.now()
    # The batch hands nothing to a provider after half the lease, on the clock the recovery sweep
    # reads: every call it began has ended (a call lasts at most the provider's timeout) before the
    # sweep may take one of its rows as abandoned.
    last_start = timezone.now() + timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS / 2)
    ids = _claim(limit=limit or settings.OUTBOX_BATCH_SIZE, now=now, only=only)
    tally = Tally(claimed=len(ids))
    if not ids:
        return tally
    messages = Message.objects.filter(pk__in=ids).select_related("patient", "branch").order_by("due_at", "pk")
    with batch_memo():
        done, ready = _prepare(list(messages), now=now)
    _write_texts(ready)
    return _send(done, ready, now=now, tally=tally, last_start=last_start)


def _prepare(messages: list[Message], *, now: datetime) -> tuple[list[Settlement], list[tuple[Message, Composed]]]:
    """Each claimed message asked the policy and composed: settled at once (skipped, postponed, not
    composed) or ready to send."""
    done: list[Settlement] = []
    ready: list[tuple[Message, Composed]] = []
    allowed: list[Message] = []
    appointments_read(messages)  # the batch's appointments, one query, shared by policy and wording
    for message in messages:
        reason = refusal(message)
        if reason:
            done.append(
                Settlement(message.pk, message.attempts, MessageStatus.SKIPPED, error=reason, attempts_delta=-1)
            )
            continue
        later = postponed(message, now=now)
        if later is not None:
            done.append(
                Settlement(message.pk, message.attempts, MessageStatus.PENDING, due_at=later, attempts_delta=-1)
            )
            continue
        allowed.append(message)
    manage_links_issue_for(allowed)  # the links these messages carry, one INSERT
    for message in allowed:
        try:
            ready.append((message, compose(message)))
        except Exception as exc:  # a template or a value that cannot be read: visible, never retried blindly
            log.exception("message %s could not be composed", message.pk)
            done.append(Settlement(message.pk, message.attempts, MessageStatus.FAILED, error=f"Not composed: {exc}"))
    return done, ready


def _send(
    done: list[Settlement],
    ready: list[tuple[Message, Composed]],
    *,
    now: datetime,
    tally: Tally,
    last_start: datetime,
) -> Tally:
    sender = _Sender()

    def send(item: tuple[Message, Composed]) -> Settlement:
        message, composed = item
        if timezone.now() > last_start:  # a slow batch: what it has not begun goes back, due now, unattempted
            return Settlement(
                message.pk, message.attempts, MessageStatus.PENDING, error=message.last_error, attempts_delta=-1
            )
        try:
            provider_id = sender.send(message, composed)
        except (SmsRefused, EmailRefused) as exc:
            return Settlement(message.pk, message.attempts, MessageStatus.FAILED, error=str(exc))
        except SmsOutcomeUnknown as exc:  # Twilio may hold it: left to the recovery sweep, which asks first
            return Settlement(message.pk, message.attempts, MessageStatus.SENDING, error=str(exc))
        except (SmsNotSent, EmailNotSent) as exc:
            return _failure(message, str(exc), now=now)
        except Exception as exc:  # anything else fails this message alone (retried): the batch goes on
            log.exception("message %s could not be sent", message.pk)
            return _failure(message, f"Not sent: {exc}", now=now)
        context = _without_secrets(message)
        return Settlement(
            message.pk, message.attempts, MessageStatus.SENT, provider_id=provider_id[:64], context=context
        )

    try:
        # SMS over a few threads (each call mostly waits for the provider; the SDK's client and its
        # connection pool are shared); e-mail over the batch's one SMTP connection, in order.
        texts = [item for item in ready if item[0].channel == Channel.SMS]
        emails = [item for item in ready if item[0].channel != Channel.SMS]
        threads = min(settings.OUTBOX_SEND_THREADS, len(texts))
        if threads > 1:
            with ThreadPoolExecutor(threads, thread_name_prefix="outbox-send") as pool:
                done.extend(pool.map(send, texts))
        else:
            done.extend(map(send, texts))
        done.extend(map(send, emails))
    finally:
        sender.close()
        _settle(done, now=timezone.now())
    tally.add(done)
    return tally


def messages_dispatch_all(
    *, seconds: float | None = None, now: datetime | None = None, only: Collection[int] | None = None
) -> Tally:
    """Dispatch batch after batch until nothing is due or ``seconds`` have passed (a periodic run
    leaves the rest to the next one)."""
    budget = settings.OUTBOX_DISPATCH_SECONDS if seconds is None else seconds
    started = time.monotonic()
    total = Tally()
    while True:
        tally = messages_dispatch(now=now, only=only)
        total.merge(tally)
        if tally.claimed == 0 or time.monotonic() - started > budget:
            return total


def messages_recover(*, now: datetime | None = None, limit: int = 200) -> Tally:
    """Rows left ``sending`` past the lease (their worker died): ask the provider, never send twice."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""WITH stale AS (SELECT id, claimed_at FROM {TABLE} WHERE status = 'sending' AND claimed_at < %s
                               ORDER BY claimed_at LIMIT %s FOR UPDATE SKIP LOCKED)
                UPDATE {TABLE} AS m SET claimed_at = %s FROM stale WHERE m.id = stale.id
                RETURNING m.id, stale.claimed_at""",  # noqa: S608
            [cutoff, limit, now],
        )
        stale = dict(cursor.fetchall())
    tally = Tally(claimed=len(stale))
    if not stale:
        return tally
    backend = sms_backend()
    done: list[Settlement] = []
    for message in Message.objects.filter(pk__in=stale).order_by("pk"):
        unsent = Settlement(
            message.pk,
            message.attempts,
            MessageStatus.PENDING,
            due_at=now,
            error="The worker stopped before the provider had the message; sent again.",
        )
        if message.provider_id:  # Twilio already reported it (queued, sending…) under this id: it holds it
            context = _without_secrets(message)
            done.append(
                Settlement(
                    message.pk, message.attempts, MessageStatus.SENT, provider_id=message.provider_id, context=context
                )
            )
            continue
        if message.channel == Channel.EMAIL or not message.digest:
            done.append(unsent)  # e-mail: again, with the same Message-ID; no digest: never handed over
            continue
        try:
            found = _provider_copy(backend, message, since=stale[message.pk] - timedelta(minutes=5))
        except SmsNotSent as exc:
            log.warning("recovery of message %s: the provider could not be asked: %s", message.pk, exc)
            continue  # leased again; the next sweep asks again
        if found:
            context = _without_secrets(message)
            done.append(
                Settlement(message.pk, message.attempts, MessageStatus.SENT, provider_id=found, context=context)
            )
        else:
            done.append(unsent)
    _settle(done, now=now, lease=now)
    tally.add(done)
    return tally


def _provider_copy(backend: SmsBackend, message: Message, *, since: datetime) -> str | None:
    """The provider's id of ``message`` if it holds it: same number, same text, an id no other row has."""
    candidates = [
        m.provider_id for m in backend.recent(to=message.recipient, since=since) if digest(m.body) == message.digest
    ]
    if not candidates:
        return None
    others = Message.objects.filter(provider_id__in=candidates).exclude(pk=message.pk)
    taken = set(others.values_list("provider_id", flat=True))
    return next((sid for sid in reversed(candidates) if sid not in taken), None)
