"""The API's exception handler: the kernel's error format, plus the access-log rows of what a
refusal shows (a duplicate warning names patients; a conflict list names appointments)."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from config.api import exception_handler as render_error
from config.errors import ApplicationError
from tenants.audit.services import access_log_disclosure


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = render_error(exc, context)
    request = context.get("request")
    if response is not None and isinstance(exc, ApplicationError) and exc.disclosure and request is not None:
        access_log_disclosure(actor=request.user, exc=exc, request=request._request)
    return response
