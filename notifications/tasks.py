"""The outbox's background work (notifications/dispatch.py): thin, idempotent, safe to run twice and
at once. Beat fans ``outbox_dispatch`` out over the chains every 15 s (config/settings/base.py); a
message due now also kicks it after its commit (notifications.outbox.dispatch_on_commit).

A kick says when it was made (``kicked_at``). One made before a dispatch of its chain began is
dropped: that dispatch already saw its message. So when a worker starts after being down, the burst
of kicks queued meanwhile dispatches the outbox once, not once per kick."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

from notifications.dispatch import messages_dispatch_all, messages_recover
from tenants.selectors import current_schema

#: When a dispatch of the chain last began (the cache key carries the schema name).
STARTED = "outbox-dispatch-started"
#: A kick is dropped only when a dispatch began this much after it was made (clocks of the web and
#: worker hosts may differ a little; a kick dropped wrongly is sent by the periodic run).
KICK_SKEW = 1.0


def kick_answered(kicked_at: float) -> bool:
    """A dispatch of the current chain began after the kick made at ``kicked_at`` (Unix time)."""
    started = cache.get(STARTED)
    return started is not None and float(started) > kicked_at + KICK_SKEW


@shared_task(name="notifications.tasks.outbox_dispatch")
def outbox_dispatch(kicked_at: float | None = None) -> dict[str, object]:
    # a kick's time is a number; anything else is not a kick to drop: the outbox is dispatched
    if isinstance(kicked_at, int | float) and not isinstance(kicked_at, bool) and kick_answered(kicked_at):
        return {"schema": current_schema(), "dropped": "a dispatch began after this kick was made"}
    cache.set(STARTED, time.time(), timeout=3600)
    recovered = messages_recover()
    sent = messages_dispatch_all()
    return {"schema": current_schema(), "recovered": recovered.as_dict(), "dispatched": sent.as_dict()}
