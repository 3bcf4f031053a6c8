"""Reading what patients texted back (notifications.replies records it): the desk's list of replies."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from notifications.models import InboundMessage, Kind, Message
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible


def inbound_list(*, actor: Actor, limit: int = 200) -> list[InboundMessage]:
    """The latest texts patients sent, newest first. Replies are read by whoever reads the message log
    (notifications.view_message: owners, branch managers, reception, billing), for the branches they
    see: those about an appointment at such a branch, and those about none (a STOP, a question, an
    unknown number), which belong to the chain as a message of no branch does. Doctors, patients and
    visitors are refused.

    Each text carries ``thread``: the messages that answered it, oldest first: the automatic answer (or
    the cancellation notice that answered an X) and every answer staff wrote, with who and when."""
    rows = list(_readable(actor).order_by("-received_at", "-id")[:limit])
    by_text: dict[int, list[Message]] = {row.pk: [] for row in rows}
    if rows:
        written = Message.objects.filter(
            kind=Kind.REPLY,
            key__startswith="answer:",
            recipient__in={row.from_number for row in rows},
        ).select_related("staff_user")
        for message in written:
            text_id = (message.key or "").split(":")[1]
            if text_id.isdigit() and int(text_id) in by_text:
                by_text[int(text_id)].append(message)
    for row in rows:
        answers = by_text[row.pk] + ([row.reply] if row.reply is not None else [])
        row.thread = sorted(answers, key=lambda m: (m.created_at, m.pk))  # type: ignore[attr-defined]
    return rows


def inbound_get(*, actor: Actor, inbound_id: int) -> InboundMessage | None:
    """One text a patient sent, for whoever reads it on the replies list; None when not there."""
    return _readable(actor).filter(pk=inbound_id).first()


def _readable(actor: Actor) -> QuerySet[InboundMessage]:
    authorize(actor, "notifications.view_message")
    rows = InboundMessage.objects.select_related("patient", "appointment__branch", "reply")
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        rows = rows.filter(Q(appointment__isnull=True) | Q(appointment__branch_id__in=visible))
    return rows


__all__ = ["inbound_get", "inbound_list"]
