"""The access-log row each patients service writes for the patient it touched."""

from __future__ import annotations

from typing import Any

from tenants.audit.services import access_log_record


def _log(
    actor: Any, action: str, object_type: str, obj: Any, patient_id: int, request: Any = None, reason: str = ""
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
