"""Fees follow the calendar: a no-show, or a cancellation the patient asked for inside the chain's
cancellation window (the event's ``late``, decided by scheduling/cancel_window.py), raises the
chain's fee in the same transaction. The clinic's own cancellations, and the doctor's leave, carry
none."""

from __future__ import annotations

from config.events import subscribe
from invoicing.fees import FeeKind
from invoicing.services.fees import fee_raise
from scheduling.events import AppointmentCancelled, AppointmentNoShow, Cause
from tenants.accounts.models import User


def _actor(actor_id: int | None) -> User | None:
    return User.objects.filter(pk=actor_id).first() if actor_id else None


def fee_for_no_show(event: AppointmentNoShow) -> None:
    fee_raise(appointment_id=event.appointment_id, kind=FeeKind.NO_SHOW, actor=_actor(event.actor_id))


def fee_for_late_cancellation(event: AppointmentCancelled) -> None:
    if event.late and event.by_patient and event.cause == Cause.REQUEST:
        fee_raise(appointment_id=event.appointment_id, kind=FeeKind.LATE_CANCELLATION, actor=_actor(event.actor_id))


def connect() -> None:
    subscribe(AppointmentNoShow, fee_for_no_show)
    subscribe(AppointmentCancelled, fee_for_late_cancellation)
