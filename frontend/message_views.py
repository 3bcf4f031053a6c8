"""Message pages: the message log (/messages/: status, kind, channel, recipient, the appointment it
is about, due and sent times, failures with their error; filters). It opens on what matters: the
messages due next (the soonest first) above those sent (the latest first), with tabs for all that
is due and for the failures, their counts shown. One message (/messages/<pk>/): the appointment it
is about, its text as sent (or, while it waits, as it would be sent now) and "Send again"; and a
patient's messages on their record (/patients/<pk>/messages/). What names a patient is
access-logged. Each action calls one service or selector."""

from __future__ import annotations

from dataclasses import replace
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
from notifications.selectors import (
    SHOW_DUE,
    SHOW_SENT,
    SHOWS,
    TROUBLE,
    MessageFilters,
    language_name,
    message_get,
    message_list,
    message_log_counts,
    message_preview,
    message_resends,
    patient_messages,
)
from patients.models import Patient
from tenants.audit.services import access_log_patients, access_log_records
from tenants.org.selectors import branch_list, chain_settings_get

PAGE_SIZE = 50
#: How many of the messages due next the log's first view shows above those sent.
DUE_NEXT = 10


def _zone() -> ZoneInfo:
    return ZoneInfo(chain_settings_get().default_timezone)


@login_required
def message_log(request: HttpRequest) -> HttpResponse:
    q = request.GET
    show = q.get("show", "") if q.get("show") in SHOWS else ""
    filters = MessageFilters(
        status=q.get("status", "") if q.get("status") in MessageStatus.values else "",
        kind=q.get("kind", "") if q.get("kind") in Kind.values else "",
        channel=q.get("channel", "") if q.get("channel") in Channel.values else "",
        branch_id=to_int(q.get("branch")),
        recipient=q.get("recipient", "")[:100],
        # the first view: those sent (the latest first), the ones due next above them
        show=show or SHOW_SENT,
    )
    rows = message_list(actor=request.user, filters=filters)
    due_next = (
        [] if show else list(message_list(actor=request.user, filters=replace(filters, show=SHOW_DUE))[:DUE_NEXT])
    )
    zone = _zone()
    page = Paginator(rows, PAGE_SIZE).get_page(to_int(q.get("page")) or 1)
    access_log_records(request, action="list", object_type="message", records=[*due_next, *page.object_list])
    context = {
        "page": page,
        "due_next": due_next,
        "show": show,
        "counts": message_log_counts(actor=request.user, filters=filters),
        "filters": filters,
        "statuses": MessageStatus.choices,
        "kinds": Kind.choices,
        "channels": Channel.choices,
        "branches": list(branch_list(actor=request.user)),
        "trouble": TROUBLE,
        "query": _without(request, "page"),
        "tab_query": _without(request, "page", "show", "status"),
        "see_settings": request.user.has_perm("notifications.view_templates"),
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "messages/log.html", context)


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
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
        "preview": message_preview(message=message),
        "language": language_name(message.language),
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
        lambda: services.message_resend(
            actor=request.user, message=message, confirm=request.POST.get("confirm") == "1"
        ),
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
