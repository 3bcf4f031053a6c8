"""What patients texted back (/messages/replies/): each text, whom it was matched to, which appointment,
what was done and what we answered, for whoever reads the message log; and staff answering a text
(POST /messages/replies/<pk>/answer/). Each action calls one service or selector; the texts are
access-logged."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from config.errors import ApplicationError
from frontend.forms import flash
from notifications.reply_selectors import inbound_get, inbound_list
from notifications.reply_services import MAX_ANSWER, text_answer
from tenants.audit.services import access_log_records


@login_required
def reply_list(request: HttpRequest) -> HttpResponse:
    try:
        rows = list(inbound_list(actor=request.user))
    except ApplicationError as refused:
        raise PermissionDenied(refused.message) from refused
    access_log_records(request, action="list", object_type="inbound_sms", records=rows)
    can_answer = request.user.has_perm("notifications.answer_text")
    return render(request, "replies/list.html", {"rows": rows, "can_answer": can_answer, "max_answer": MAX_ANSWER})


@login_required
@require_POST
def reply_answer(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        text = inbound_get(actor=request.user, inbound_id=pk)
    except ApplicationError as refused:
        raise PermissionDenied(refused.message) from refused
    if text is None:
        raise Http404
    flash(
        request,
        lambda: text_answer(actor=request.user, text=text, answer=request.POST.get("answer", "")),
        f"Answer written: it goes to {text.from_number} now.",
    )
    return redirect(f"{reverse('message-replies')}#text-{pk}")
