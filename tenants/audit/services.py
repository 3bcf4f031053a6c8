"""The one helper every module calls when patient data is read or changed."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest
from rest_framework.request import Request

from config.errors import ApplicationError
from tenants.accounts.models import User
from tenants.audit.models import AccessLog
from tenants.authz import Actor, user_of

COALESCED_ACTIONS = {AccessLog.Action.LIST, AccessLog.Action.SEARCH}


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
        "path": _path(request)[:300],
    }


# URL arguments that are bearer secrets (a manage link, a password-reset or invitation token): the
# access log records that such a link was used, never the link itself.
SECRET_URL_ARGUMENTS = {"token", "uidb64"}


def _path(request: HttpRequest) -> str:
    path = request.get_full_path()
    match = getattr(request, "resolver_match", None)
    for name, value in match.kwargs.items() if match else ():
        if name in SECRET_URL_ARGUMENTS and value:
            path = path.replace(str(value), "[redacted]")
    return path


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
    actor: Actor | None,
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
    user = user_of(actor)
    client = _client(request)
    coalesce_key = _coalesce_key(user, action, object_type, object_ids, client.get("path", ""))
    if coalesce_key is not None and cache.get(coalesce_key):
        return []  # the same user saw the same rows on the same page a moment ago: that row stands
    params = {
        "actor_id": user.pk if user else None,
        "actor_label": (user.get_username() if user else "anonymous")[:254],
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
        ids = [row[0] for row in cursor.fetchall()]
    if coalesce_key is not None:
        # Marked only once the rows are committed: a listing whose transaction rolls back must not
        # hide the next one.
        transaction.on_commit(lambda: cache.set(coalesce_key, 1, settings.ACCESS_LOG_COALESCE_SECONDS))
    return ids


def _coalesce_key(actor: User | None, action: str, object_type: str, object_ids: list[str], path: str) -> str | None:
    """Repeated identical listings by one user (the desk redraws its grid every few seconds) are
    coalesced into the first one for a short window: same user, same page, same rows. Anything
    else, and every view of a single record, is always written. The cache key carries the chain's
    schema (django-tenants' key function)."""
    if action not in COALESCED_ACTIONS or actor is None:
        return None
    if not settings.ACCESS_LOG_COALESCE_SECONDS:
        return None
    digest = hashlib.sha256("\x1f".join([action, object_type, path, *sorted(object_ids)]).encode()).hexdigest()
    return f"audit:seen:{actor.pk}:{digest}"


def access_log_response(
    request: HttpRequest | Request,
    *,
    action: str,
    object_type: str,
    object_ids: Iterable[Any],
    patient_ids: Iterable[int | None],
) -> None:
    """Access-log what a response shows or changes: one row per record, written as the request's
    signed-in user, with its address, agent and path; nothing when no record is shown. The one helper
    API views (a DRF Request) and pages (a Django HttpRequest) call for an answer that names patients."""
    objects = list(object_ids)
    if objects:
        access_log_record(
            actor=request.user,
            action=action,
            object_type=object_type,
            object_ids=objects,
            patient_ids=list(patient_ids),
            request=getattr(request, "_request", request),  # a DRF Request wraps the Django one
        )


class Shown(Protocol):
    """A record a response shows: anything with a primary key."""

    @property
    def pk(self) -> int: ...


class OfPatient(Shown, Protocol):
    """A record of one patient (an appointment, a note, a consent form...), or of none (a leave row)."""

    @property
    def patient_id(self) -> int | None: ...


def access_log_patients(request: HttpRequest | Request, *, action: str, patients: Iterable[Shown]) -> None:
    """Access-log the patient records a response shows or changes (each record is its own patient)."""
    ids = [p.pk for p in patients]
    access_log_response(request, action=action, object_type="patient", object_ids=ids, patient_ids=ids)


def access_log_records(
    request: HttpRequest | Request, *, action: str, object_type: str, records: Iterable[OfPatient]
) -> None:
    """Access-log records of patients that a response shows or changes, each under its own patient;
    a record of no patient (a leave row) names none and is not logged."""
    shown = [r for r in records if r.patient_id is not None]
    access_log_response(
        request,
        action=action,
        object_type=object_type,
        object_ids=[r.pk for r in shown],
        patient_ids=[r.patient_id for r in shown],
    )


def access_log_disclosure(*, actor: Actor, exc: ApplicationError, request: HttpRequest | None = None) -> None:
    """Log the records an error's answer shows (config.errors.Disclosure), where it is rendered."""
    shown = exc.disclosure
    if shown is not None and shown.object_ids:
        access_log_record(
            actor=actor,
            action=AccessLog.Action.VIEW,
            object_type=shown.object_type,
            object_ids=shown.object_ids,
            patient_ids=shown.patient_ids,
            request=request,
            reason=f"shown by a refusal ({exc.code})",
        )


def access_log_rows(
    *,
    actor: Actor,
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


def access_log_trail_read(*, actor: Actor, rows: Iterable[AccessLog], request: HttpRequest | None = None) -> None:
    """Reading the access log is itself a read about the patients it names: one row per patient
    shown (an owner's page of the trail names up to a hundred reads)."""
    patient_ids = sorted({row.patient_id for row in rows if row.patient_id is not None})
    if patient_ids:
        access_log_record(
            actor=actor,
            action=AccessLog.Action.VIEW,
            object_type="access_log",
            object_ids=patient_ids,
            patient_ids=patient_ids,
            request=request,
        )
