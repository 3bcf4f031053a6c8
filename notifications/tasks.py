"""The outbox's background work (notifications/dispatch.py): thin, idempotent, safe to run twice and
at once. Beat fans ``outbox_dispatch`` out over the chains every 15 s (config/settings/base.py); a
message due now also kicks it after its commit (notifications.outbox.dispatch_on_commit)."""

from __future__ import annotations

from celery import shared_task

from notifications.dispatch import messages_dispatch_all, messages_recover
from tenants.selectors import current_schema


@shared_task(name="notifications.tasks.outbox_dispatch")
def outbox_dispatch() -> dict[str, object]:
    recovered = messages_recover()
    sent = messages_dispatch_all()
    return {"schema": current_schema(), "recovered": recovered.as_dict(), "dispatched": sent.as_dict()}
