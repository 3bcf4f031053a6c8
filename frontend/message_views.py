"""Message pages: the message log (/messages/: status, kind, channel, recipient, due and sent times,
failures with their error; filters), one message with its text as sent and "Send again"
(/messages/<pk>/), and a patient's messages on their record (/patients/<pk>/messages/). What names a
patient is access-logged. Each action calls one service or selector."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from frontend.forms import flash, to_int
from notifications import services
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.selectors import MessageFilters, message_get, message_list, message_resends, patient_messages
from patients.models import Patient
from tenants.audit.services import access_log_patients, access_log_records
from tenants.org.selectors import branch_list, chain_settings_get

PAGE_SIZE = 50
#: What needs someone: said in words beside the colour.
TROUBLE = {MessageStatus.FAILED, MessageStatus.UNDELIVERED}


def _zone() -> ZoneInfo:
    return ZoneInfo(chain_settings_get().default_timezone)


@login_required
def message_log(request: HttpRequest) -> HttpResponse:
    q = request.GET
    filters = MessageFilters(
        status=q.get("status", "") if q.get("status") in MessageStatus.values else "",
        kind=q.get("kind", "") if q.get("kind") in Kind.values else "",
        channel=q.get("channel", "") if q.get("channel") in Channel.values else "",
        branch_id=to_int(q.get("branch")),
        recipient=q.get("recipient", "")[:100],
    )
    rows = message_list(actor=request.user, filters=filters)
    zone = _zone()
    page = Paginator(rows, PAGE_SIZE).get_page(to_int(q.get("page")) or 1)
    access_log_records(request, action="list", object_type="message", records=page.object_list)
    context = {
        "page": page,
        "filters": filters,
        "statuses": MessageStatus.choices,
        "kinds": Kind.choices,
        "channels": Channel.choices,
        "branches": list(branch_list(actor=request.user)),
        "trouble": TROUBLE,
        "query": _without_page(request),
        "see_settings": request.user.has_perm("notifications.view_templates"),
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "messages/log.html", context)


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _message(request: HttpRequest, pk: int) -> Message:
    found = message_get(actor=request.user, pk=pk)
    if found is None:
        raise Http404
    return found


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(request, pk)
    resends = list(message_resends(message=message))
    zone = _zone()
    access_log_records(request, action="view", object_type="message", records=[message, *resends])
    context = {
        "message": message,
        "resends": resends,
        "trouble": TROUBLE,
        "can_resend": request.user.has_perm("notifications.resend_message", message),
        "blocked": services.resend_blocked(message=message),
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "messages/detail.html", context)


@login_required
@require_POST
def message_resend(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(request, pk)
    resent = flash(
        request,
        lambda: services.message_resend(actor=request.user, message=message),
        "Sent again: the new message below goes out now.",
    )
    if resent is not None:
        access_log_records(request, action="create", object_type="message", records=[resent])
        return redirect("message-detail", pk=resent.pk)
    return redirect("message-detail", pk=message.pk)


@login_required
def patient_message_list(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    rows = patient_messages(actor=request.user, patient=patient)
    # the page names the patient, messages or none: the read is logged either way
    if rows:
        access_log_records(request, action="list", object_type="message", records=rows)
    else:
        access_log_patients(request, action="view", patients=[patient])
    zone = _zone()
    context = {"patient": patient, "rows": rows, "trouble": TROUBLE, "zone": zone}
    with timezone.override(zone):
        return render(request, "messages/patient.html", context)
