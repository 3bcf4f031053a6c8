"""The one helper every module calls when patient data is read or changed."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from tenants.audit.models import AccessLog


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _client(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    from config.net import client_ip

    # The one client address of the app (config.net): X-Forwarded-For only as far as our proxies vouch.
    return {
        "ip_address": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "path": request.get_full_path()[:300],
    }


# One statement however many records were read: a day calendar shows a hundred patients, and
# building a hundred model instances would cost more than the read itself.
INSERT_SQL = """
INSERT INTO audit_accesslog
    (at, actor_id, actor_label, action, object_type, object_id, patient_id, reason, ip_address, user_agent, path)
SELECT now(), %(actor_id)s, %(actor_label)s, %(action)s, %(object_type)s, o.object_id, o.patient_id, %(reason)s,
       %(ip)s::inet, %(user_agent)s, %(path)s
  FROM unnest(%(object_ids)s::text[], %(patient_ids)s::bigint[]) AS o(object_id, patient_id)
RETURNING id
"""


def access_log_record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_ids: Iterable[Any] = ("",),
    patient_ids: Iterable[int | None] | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
) -> list[int]:
    """Append one row per object read or changed; returns their ids. For a list or a search, pass
    every id shown."""
    object_ids = [str(o)[:64] for o in object_ids]
    patients = list(patient_ids) if patient_ids is not None else [None] * len(object_ids)
    if len(patients) != len(object_ids):
        raise ValueError("object_ids and patient_ids must pair up")
    if not object_ids:
        return []
    if action not in AccessLog.Action.values:
        raise ValueError(f"unknown access-log action {action!r}")
    authenticated = getattr(actor, "is_authenticated", False)
    client = _client(request)
    params = {
        "actor_id": actor.pk if authenticated else None,
        "actor_label": (actor.get_username() if authenticated else "anonymous")[:254],
        "action": action,
        "object_type": object_type[:60],
        "reason": reason[:300],
        "ip": client.get("ip_address"),
        "user_agent": client.get("user_agent", ""),
        "path": client.get("path", ""),
        "object_ids": object_ids,
        "patient_ids": patients,
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, params)
        return [row[0] for row in cursor.fetchall()]


def access_log_rows(
    *,
    actor: Any,
    object_type: str,
    rows: Iterable[dict[str, Any]],
    request: HttpRequest | None = None,
    action: str = "list",
) -> None:
    """Log the rows of a calendar or list that carry a patient (dicts with "id" and "patient_id")."""
    shown = [r for r in rows if r.get("patient_id")]
    if shown:
        access_log_record(
            actor=actor,
            action=action,
            object_type=object_type,
            object_ids=[r["id"] for r in shown],
            patient_ids=[r["patient_id"] for r in shown],
            request=request,
        )
