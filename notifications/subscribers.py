"""What notifications sends when modules below it announce something. Subscribers run inside the
announcing transaction; the message itself goes out after commit, so a rolled-back change sends
nothing."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction

from config.events import subscribe
from invoicing.events import CardLinkIssued, FeeCharged, PaymentRecorded
from notifications import notices, waitlist_messages
from notifications.sms import send_sms
from patients.events import CodePurpose, PatientsMerged, PortalCodeIssued
from scheduling.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentNoShow,
    AppointmentRescheduled,
)
from tenants.org.selectors import chain_settings_get


def send_portal_code(event: PortalCodeIssued) -> None:
    """A sign-in or booking code, by e-mail or SMS, after commit."""
    chain = chain_settings_get().name
    if event.purpose == CodePurpose.BOOKING:
        subject, text = "Confirm your booking", f"Your {chain} booking code is {event.code}."
    else:
        subject = f"{chain} sign-in code"
        text = f"Your {chain} sign-in code is {event.code}. It expires in {event.minutes} minutes."
    destination = event.destination
    if event.channel == "email":
        transaction.on_commit(lambda: send_mail(subject, text, None, [destination]))
    else:
        transaction.on_commit(lambda: send_sms(to=destination, body=text))


def send_card_link(event: CardLinkIssued) -> None:
    """The link to save a card for the clinic's fees, by e-mail, after commit."""
    chain = chain_settings_get().name
    subject = f"{chain}: save a card for your appointments"
    text = (
        f"{chain} asks you to save a card for its no-show and late-cancellation fees. Nothing is charged now.\n\n"
        f"Save your card on Stripe's secure page (the link stays open for {event.hours} hours):\n{event.url}\n\n"
        "If you did not expect this message, contact the clinic."
    )
    destination = event.destination
    transaction.on_commit(lambda: send_mail(subject, text, None, [destination]))


def connect() -> None:
    subscribe(PortalCodeIssued, send_portal_code)
    subscribe(CardLinkIssued, send_card_link)
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
