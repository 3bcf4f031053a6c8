"""Messages for the message-log tests: written to the outbox through its real door
(notifications.outbox.message_enqueue), then given the state the dispatcher would have left them
in (sent, failed with the provider's error, delivered)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from patients.models import Patient
from patients.services import consent_set
from scheduling.models import Appointment
from tenants.org.models import Role, StaffMember


def written(
    *,
    patient: Patient | None,
    appointment: Appointment | None = None,
    kind: Kind = Kind.REMINDER,
    channel: Channel = Channel.SMS,
    recipient: str = "+447700900123",
    branch_id: int | None = None,
    due_at: datetime | None = None,
    consented: bool = True,
) -> Message:
    """A message to ``patient``, who (``consented``) agreed to texts at the desk."""
    if consented and patient is not None and channel == Channel.SMS and not patient.consents_to("sms"):
        owner = StaffMember.objects.filter(roles__contains=[Role.OWNER]).order_by("pk").first()
        assert owner is not None
        patient = consent_set(actor=owner.user, patient=patient, channel="sms", given=True)
    return message_enqueue(
        kind=kind,
        channel=channel,
        recipient=recipient,
        due_at=due_at or timezone.now() - timedelta(hours=1),
        patient_id=patient.pk if patient else None,
        appointment_id=appointment.pk if appointment else None,
        branch_id=branch_id if branch_id is not None else (appointment.branch_id if appointment else None),
        context={"patient": patient.first_name if patient else "", "service": "Consultation"},
    )


def settled(message: Message, status: MessageStatus, *, error: str = "", body: str = "Reminder: ...") -> Message:
    """The message as the dispatcher leaves it: sent (or failed) with the provider's answer."""
    now = timezone.now()
    sent = status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
    Message.objects.filter(pk=message.pk).update(
        status=status,
        attempts=1,
        sent_at=now if sent else None,
        delivered_at=now if status == MessageStatus.DELIVERED else None,
        provider_id="SM" + f"{message.pk:032d}" if sent else "",
        last_error=error,
        body=body,
    )
    message.refresh_from_db()
    return message
