"""What the chain site's schema adds to every operation: a suspended chain answers every request
with 403 ``clinic_suspended`` (tenants.middleware.ClinicStatusMiddleware), before any view."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.openapi import error_schema
from tenants.exceptions import ClinicSuspended

_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def _urlconf_name(urlconf: Any) -> str:
    urlconf = urlconf or settings.ROOT_URLCONF
    return urlconf if isinstance(urlconf, str) else getattr(urlconf, "__name__", "")


def document_suspension(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: on the chain site, every operation may answer 403 clinic_suspended."""
    if _urlconf_name(getattr(generator, "urlconf", None)) != settings.ROOT_URLCONF:
        return result  # the public site has no chain to suspend
    code = str(ClinicSuspended.code)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            forbidden = responses.get(str(ClinicSuspended.status))
            codes = {code}
            if forbidden:
                # config.openapi documents every error status with error_schema(codes)
                schema = forbidden["content"]["application/json"]["schema"]
                codes.update(schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"])
            responses[str(ClinicSuspended.status)] = {
                "content": {"application/json": {"schema": error_schema(codes)}},
                "description": "Refused: " + ", ".join(sorted(codes)) + ".",
            }
            operation["responses"] = dict(sorted(responses.items()))
    return result
