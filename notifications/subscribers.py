"""What notifications sends when modules below it announce something. Subscribers run inside the
announcing transaction and only write outbox rows (notifications.outbox); the dispatcher sends them
after commit, so a rolled-back change sends nothing. The handlers live in modules named for their job."""

from __future__ import annotations

from config.events import subscribe
from invoicing.events import CardLinkIssued, FeeCharged, PaymentRecorded
from notifications import codes, notices, waitlist_messages
from patients.events import PatientsMerged, PortalCodeIssued
from scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentNoShow,
    AppointmentRescheduled,
)


def connect() -> None:
    # Codes and card links: outbox rows like every message, sent within seconds of the commit (codes.py).
    subscribe(PortalCodeIssued, codes.portal_code_send)
    subscribe(CardLinkIssued, codes.card_link_send)
    # What the patient is told about their appointments and payments, and their reminders (notices.py).
    subscribe(AppointmentBooked, notices.on_booked)
    subscribe(AppointmentRescheduled, notices.on_rescheduled)
    subscribe(AppointmentCancelled, notices.on_cancelled)
    subscribe(AppointmentNoShow, notices.on_no_show)
    subscribe(AppointmentCheckedIn, notices.on_visit)
    subscribe(AppointmentCompleted, notices.on_visit)
    subscribe(PaymentRecorded, notices.on_payment)
    subscribe(FeeCharged, notices.on_fee)
    subscribe(PatientsMerged, notices.on_merged)
    waitlist_messages.connect()  # offers, "taken" and "you are on the list" (notifications/waitlist_messages.py)
