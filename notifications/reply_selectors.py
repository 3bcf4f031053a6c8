"""Reading what patients texted back (notifications.replies records it): the desk's list of replies."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from config.errors import PermissionDenied
from notifications.models import InboundMessage
from tenants.authz import Actor
from tenants.org.rules import staff_of
from tenants.org.selectors import branch_ids_visible


def inbound_list(*, actor: Actor, limit: int = 200) -> QuerySet[InboundMessage]:
    """The latest texts patients sent, newest first, for staff: those about an appointment at a branch
    the actor sees, and those about none (a STOP, a question, an unknown number), which belong to the
    chain. Patients and visitors are refused."""
    if staff_of(actor) is None:
        raise PermissionDenied()
    rows = InboundMessage.objects.select_related("patient", "appointment__branch", "reply")
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        rows = rows.filter(Q(appointment__isnull=True) | Q(appointment__branch_id__in=visible))
    return rows.order_by("-received_at", "-id")[:limit]


__all__ = ["inbound_list"]
