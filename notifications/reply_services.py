"""Staff answering a patient's text from the replies page: a REPLY message to the number through the
outbox (sent by the dispatcher like any other), written by the staff member, on the access log.
Refused after the number texted STOP (until it texts START): nothing more is texted to it."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.validation import text_error
from notifications.exceptions import ReplyInvalid, ReplyOptedOut
from notifications.models import Channel, InboundMessage, Intent, Kind, Message, ReplyOutcome
from notifications.outbox import message_enqueue
from notifications.policy import language_of
from patients.models import Patient
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_record
from tenants.authz import Actor, authorize
from tenants.org.selectors import chain_settings_get

#: About four SMS: an answer, not a letter.
MAX_ANSWER = 600


def opted_out(number: str) -> bool:
    """Whether the number's latest STOP or START text (to the chain's own service) was STOP."""
    last = (
        InboundMessage.objects.filter(from_number=number, intent__in=(Intent.STOP, Intent.START))
        .exclude(outcome=ReplyOutcome.OTHER_SERVICE)
        .order_by("-received_at", "-id")
        .values_list("intent", flat=True)
        .first()
    )
    return last == Intent.STOP


@transaction.atomic
def text_answer(*, actor: Actor, text: InboundMessage, answer: str, now: datetime | None = None) -> Message:
    """Answer a patient's ``text`` by SMS: the answer, headed with the clinic's name, goes to the number
    now. Whoever reads the replies at the text's branch may answer (notifications.answer_text).
    Refused when empty or too long, and when the number has texted STOP since it last texted START."""
    authorize(actor, "notifications.answer_text", text)
    words = answer.strip()
    problem = text_error(words, limit=MAX_ANSWER, empty=f"Write an answer of at most {MAX_ANSWER} characters.")
    if problem is None and text.outcome == ReplyOutcome.OTHER_SERVICE:
        problem = "This text did not come to the clinic's own number, so it cannot be answered from here."
    if problem is not None:
        raise ReplyInvalid(fields={"answer": [problem]})
    if opted_out(text.from_number):
        raise ReplyOptedOut()
    patient = Patient.objects.filter(pk=text.patient_id).first() if text.patient_id else None
    settings = chain_settings_get()
    message = message_enqueue(
        kind=Kind.REPLY,
        channel=Channel.SMS,
        recipient=text.from_number,
        due_at=now or timezone.now(),
        language=language_of(patient),
        patient_id=text.patient_id,
        appointment_id=text.appointment_id,
        branch_id=text.appointment.branch_id if text.appointment is not None else None,
        staff_user_id=getattr(actor, "pk", None),
        context={"text": f"{settings.name}: {words}"},
        key=f"answer:{text.pk}:{uuid.uuid4().hex}",
    )
    access_log_record(
        actor=actor,
        action=AccessLog.Action.CREATE,
        object_type="message",
        object_ids=[message.pk],
        patient_ids=[text.patient_id],
        reason=f"Answered the text of {text.received_at:%Y-%m-%d %H:%M}",
    )
    return message


__all__ = ["MAX_ANSWER", "opted_out", "text_answer"]
