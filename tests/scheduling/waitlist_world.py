"""Waitlist test data, through the real services: patients with an e-mail, entries joined in order,
a booked time that frees up, and the offer links as the patients receive them (the outbox)."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta

from django.core import mail

from notifications.models import Message
from patients.models import Patient
from patients.services import patient_create
from scheduling import services as sched
from scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from tenants.org.models import StaffMember
from tests.factories.scheduling import MONDAY, Clinic, book

_seq = itertools.count(1)
DAY = MONDAY + timedelta(days=7)


def patient(clinic: Clinic, name: str = "") -> Patient:
    n = next(_seq)
    return patient_create(
        actor=clinic.owner, first_name=name or f"Wait{n}", last_name=f"Er{n}", email=f"wait{n}@example.com"
    )


def join(
    clinic: Clinic,
    who: Patient | None = None,
    *,
    doctor: StaffMember | None = None,
    day: date = DAY,
    times: tuple[time, time] = (time(9), time(13)),
    weekdays: tuple[int, ...] = (),
) -> WaitlistEntry:
    window = sched.Window(
        date_from=day - timedelta(days=3),
        date_to=day + timedelta(days=3),
        time_from=times[0],
        time_to=times[1],
        weekdays=weekdays,
    )
    return sched.waitlist_join(
        actor=clinic.owner,
        patient=who or patient(clinic),
        branch=clinic.branch,
        service=clinic.service,
        doctor=doctor,
        window=window,
    ).entry


def booked_at(clinic: Clinic, hour: int = 10, *, day: date = DAY) -> Appointment:
    return book(clinic, clinic.at(day, hour), doctor=clinic.doctors[0], actor=clinic.owner)


def cancel(clinic: Clinic, appointment: Appointment) -> None:
    sched.appointment_cancel(actor=clinic.owner, appointment=appointment, reason="patient called")


def offers_of(entry: WaitlistEntry) -> list[WaitlistOffer]:
    return list(WaitlistOffer.objects.filter(entry=entry).order_by("pk"))


def link_token(offer: WaitlistOffer) -> str:
    """The token in the offer's e-mail, as the patient clicks it: from the outbox row while it waits,
    else from the e-mail sent (sending drops the secrets from the row)."""
    message = Message.objects.get(key=f"waitlist-offer:{offer.pk}:email")
    link = message.context.get("link")
    if not link:
        sent = [m.body for m in mail.outbox if m.to == [message.recipient] and "/waitlist/offer/" in m.body]
        link = re.findall(r"https?://\S+/waitlist/offer/[^/\s]+/", sent[-1])[-1]
    return str(link).rstrip("/").rsplit("/", 1)[-1]


def expire_at(offer: WaitlistOffer) -> datetime:
    return offer.expires_at + timedelta(seconds=1)
