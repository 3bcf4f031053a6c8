"""The access-log row each patients service writes for the patient it touched."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import HttpRequest

from tenants.audit.history import changed_by
from tenants.audit.services import access_log_record
from tenants.authz import Actor


def _log(
    actor: Actor | None,
    action: str,
    object_type: str,
    obj: models.Model,
    patient_id: int,
    request: HttpRequest | None = None,
    reason: str = "",
) -> None:
    access_log_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_ids=[obj.pk],
        patient_ids=[patient_id],
        request=request,
        reason=reason,
    )


M = TypeVar("M", bound=models.Model)


def _saved(
    obj: M,
    actor: Actor,
    action: str,
    object_type: str,
    patient_id: int,
    request: HttpRequest | None = None,
    reason: str = "",
) -> M:
    """Save `obj` as `actor` made it (its history row names them) and access-log it for the patient."""
    changed_by(obj, actor).save()
    _log(actor, action, object_type, obj, patient_id, request, reason)
    return obj
