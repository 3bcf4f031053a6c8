"""The one helper every module calls when patient data is read or changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from tenants.audit.models import AccessLog


def _client(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
    return {
        "ip_address": ip or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "path": request.get_full_path()[:300],
    }


def access_log_record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_ids: Iterable[Any] = ("",),
    patient_ids: Iterable[int | None] | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
) -> list[AccessLog]:
    """Append one row per object read or changed. For a list or a search, pass every id shown."""
    object_ids = list(object_ids)
    patients = list(patient_ids) if patient_ids is not None else [None] * len(object_ids)
    authenticated = getattr(actor, "is_authenticated", False)
    common = {
        "actor_id": actor.pk if authenticated else None,
        "actor_label": (actor.get_username() if authenticated else "anonymous")[:254],
        "action": action,
        "object_type": object_type,
        "reason": reason[:300],
        **_client(request),
    }
    rows = [
        AccessLog(object_id=str(oid)[:64], patient_id=pid, **common)
        for oid, pid in zip(object_ids, patients, strict=True)
    ]
    return AccessLog.objects.bulk_create(rows)
