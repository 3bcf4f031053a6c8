"""What the patient is told when the calendar or the ledger announces something: the booking
confirmation (as the chain chooses per booking source), a moved or cancelled appointment (in the
leave hook's words when the doctor's leave made it necessary), a missed one, a receipt, a fee.

Each handler runs inside the announcing transaction and only writes outbox rows (the dispatcher
sends them after commit, composed then). Every row has a key made of what it is about, so an event
handled twice (a retried task, a series announcing each occurrence) writes it once. The channels
and the consent rule are notifications.policy's; the reminders are notifications/reminders.py's."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import timezone

from invoicing.events import FeeCharged, PaymentRecorded
from invoicing.fees import FeeCharge
from invoicing.models import Invoice, InvoiceKind
from notifications.models import Kind, Message
from notifications.outbox import JsonValue, message_enqueue, messages_cancel, messages_open
from notifications.policy import language_of, messaging_settings, routes
from notifications.reminders import reminders_sync
from patients.events import PatientsMerged
from patients.models import Patient
from scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentNoShow,
    AppointmentRescheduled,
    Cause,
)
from scheduling.models import CalendarEntry, Source

#: Change notices still waiting that a later change makes pointless (they would tell an old story).
CHANGE_NOTICES = (Kind.CONFIRMATION, Kind.RESCHEDULED, Kind.LEAVE_MOVED)


def _appointment(appointment_id: int) -> CalendarEntry | None:
    return (
        CalendarEntry.objects.select_related("patient", "branch", "service", "doctor__user")
        .filter(pk=appointment_id, patient__isnull=False)
        .first()
    )


def tell(
    *,
    patient: Patient,
    kind: Kind,
    key: str,
    appointment: CalendarEntry | None = None,
    branch_id: int | None = None,
    context: Mapping[str, JsonValue] | None = None,
) -> int:
    """Write ``kind`` for ``patient`` on each channel that reaches them (policy.routes), due now, once
    per ``key``. Returns how many rows there are."""
    now = timezone.now()
    written = 0
    for channel, recipient in routes(patient, kind=kind):
        message_enqueue(
            kind=kind,
            channel=channel,
            recipient=recipient,
            due_at=now,
            language=language_of(patient),
            patient_id=patient.pk,
            appointment_id=appointment.pk if appointment is not None else None,
            branch_id=appointment.branch_id if appointment is not None else branch_id,
            context=context,
            key=f"{key}:{channel}",
        )
        written += 1
    return written


def confirms(source: str) -> bool:
    """Whether the chain confirms bookings of ``source`` (its messaging settings)."""
    settings = messaging_settings()
    return {
        Source.ONLINE: settings.confirm_online,
        Source.WAITLIST: settings.confirm_online,
        Source.PHONE: settings.confirm_phone,
        Source.WALK_IN: settings.confirm_walk_in,
        Source.STAFF: settings.confirm_staff,
    }.get(Source(source), settings.confirm_staff)


def on_booked(event: AppointmentBooked) -> None:
    """The confirmation, when the chain confirms bookings of this source (a series is confirmed once,
    with its first occurrence), and the reminders."""
    appointment = _appointment(event.appointment_id)
    if appointment is None or appointment.patient is None:
        return
    reminders_sync(appointment=appointment)
    if not confirms(appointment.source):
        return
    key = f"confirmation:series:{appointment.series_id}" if appointment.series_id else f"confirmation:{appointment.pk}"
    # The patient who booked online waits for this at any hour: quiet hours do not hold it back.
    asked = appointment.source in (Source.ONLINE, Source.WAITLIST)
    tell(
        patient=appointment.patient, kind=Kind.CONFIRMATION, key=key, appointment=appointment, context={"asked": asked}
    )


def on_rescheduled(event: AppointmentRescheduled) -> None:
    """The reminders move; the patient is told the new time (why, when the doctor's leave moved it),
    unless the confirmation has not gone yet (it will name the new time itself)."""
    appointment = _appointment(event.appointment_id)
    if appointment is None or appointment.patient is None:
        return
    reminders_sync(appointment=appointment)
    # An earlier move's notice not sent yet would tell an old time: this one replaces it.
    messages_cancel(appointment_id=appointment.pk, kinds=(Kind.RESCHEDULED, Kind.LEAVE_MOVED), reason="Moved again.")
    if messages_open(appointment_id=appointment.pk, kinds=(Kind.CONFIRMATION,)).exists():
        return
    kind = Kind.LEAVE_MOVED if event.cause == Cause.LEAVE else Kind.RESCHEDULED
    key = f"{kind}:{appointment.pk}:{int(appointment.span.lower.timestamp())}"
    tell(
        patient=appointment.patient,
        kind=kind,
        key=key,
        appointment=appointment,
        context={"asked": event.actor_id is None},
    )


def on_cancelled(event: AppointmentCancelled) -> None:
    """Its reminders and unsent notices are dropped; the patient is told (with the link to book
    again; in the leave hook's words when the doctor's leave cancelled it)."""
    appointment = _appointment(event.appointment_id)
    if appointment is None or appointment.patient is None:
        return
    reminders_sync(appointment=appointment)
    messages_cancel(appointment_id=appointment.pk, kinds=CHANGE_NOTICES, reason="The appointment was cancelled.")
    kind = Kind.LEAVE_CANCELLED if event.cause == Cause.LEAVE else Kind.CANCELLED
    tell(
        patient=appointment.patient,
        kind=kind,
        key=f"{kind}:{appointment.pk}",
        appointment=appointment,
        context={"asked": event.by_patient},
    )


def on_no_show(event: AppointmentNoShow) -> None:
    """A missed appointment: its reminders are dropped and the patient is told (with the link to book again)."""
    appointment = _appointment(event.appointment_id)
    if appointment is None or appointment.patient is None:
        return
    reminders_sync(appointment=appointment)
    messages_cancel(appointment_id=appointment.pk, kinds=CHANGE_NOTICES, reason="The appointment was missed.")
    tell(patient=appointment.patient, kind=Kind.NO_SHOW, key=f"no_show:{appointment.pk}", appointment=appointment)


def on_visit(event: AppointmentCheckedIn | AppointmentCompleted) -> None:
    """The patient came: no reminder is needed any more."""
    appointment = _appointment(event.appointment_id)
    if appointment is not None:
        reminders_sync(appointment=appointment)


def on_payment(event: PaymentRecorded) -> None:
    """A receipt for a payment (a fee's payment is told by its fee notice instead)."""
    invoice = Invoice.objects.select_related("patient").filter(pk=event.invoice_id).first()
    if invoice is None or invoice.kind == InvoiceKind.FEE:
        return
    tell(
        patient=invoice.patient,
        kind=Kind.RECEIPT,
        key=f"receipt:{event.payment_id}",
        branch_id=invoice.branch_id,
        context={"amount_minor": event.amount_minor, "currency": invoice.currency, "text": invoice.number or ""},
    )


def on_fee(event: FeeCharged) -> None:
    """A no-show or late-cancellation fee was charged (or paid by the deposit): the patient is told."""
    charge = FeeCharge.objects.select_related("patient").filter(pk=event.fee_charge_id).first()
    if charge is None:
        return
    appointment = _appointment(charge.appointment_id)
    tell(
        patient=charge.patient,
        kind=Kind.FEE_NOTICE,
        key=f"fee_notice:{charge.pk}",
        appointment=appointment,
        context={"amount_minor": charge.amount_minor, "currency": charge.currency},
    )


def on_merged(event: PatientsMerged) -> None:
    """A merged record's messages move to the record it was merged into (its chart lists them)."""
    Message.objects.filter(patient_id=event.merged_id).update(patient_id=event.kept_id)
