"""What patients texted back (/messages/replies/): each text, whom it was matched to, which appointment,
what was done and what we answered, for the desk. Reads one selector; the texts are access-logged."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.errors import ApplicationError
from notifications.reply_selectors import inbound_list
from tenants.audit.services import access_log_records


@login_required
def reply_list(request: HttpRequest) -> HttpResponse:
    try:
        rows = list(inbound_list(actor=request.user))
    except ApplicationError as refused:
        raise PermissionDenied(refused.message) from refused
    access_log_records(request, action="list", object_type="inbound_sms", records=rows)
    return render(request, "replies/list.html", {"rows": rows})
