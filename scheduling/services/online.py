"""Booking online, without an account: hold a time, prove an e-mail or phone by a one-time code
(patients' portal codes), and have the held time become the patient's appointment. The booking
pages and the API call these; neither opens a transaction of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from config import throttle
from config.errors import NotFound, Throttled, ValidationFailed
from patients.models import Patient
from patients.selectors import patient_named
from patients.services import patient_proved_by_code
from scheduling.engine import Problem
from scheduling.exceptions import BookingRefused, HoldConfirmed
from scheduling.models import Appointment, Service, Status
from scheduling.selectors import policy_get, slot_list_available
from scheduling.services import appointment_hold, appointment_hold_confirm, manage_link_issue
from scheduling.services.holds import _held_for
from tenants.org.models import Branch, StaffMember

HOLDS_PER_ADDRESS_PER_HOUR = 30

#: Checks that modules above scheduling add (invoicing: the chain asks a deposit for this time, or
#: of this patient) before a held time is booked online for the proved patient without a payment;
#: each raises to refuse (OnlinePaymentRequired). A paid checkout confirms its hold through
#: appointment_hold_confirm.
ONLINE_CONFIRM_CHECKS: list[Callable[[Appointment, Patient], None]] = []


@dataclass(frozen=True)
class OnlineBooking:
    appointment: Appointment
    manage_token: str  # the raw token of the booking link: shown once, never stored
    # Said to the visitor when the record their contact found is under another name ("" if not).
    notice: str = ""


def online_hold(
    *, branch_id: int, service_id: int, doctor_id: int | None, start: datetime | None, ip: str | None
) -> Appointment:
    """Hold a time for a visitor while they give their details. Every attempt counts against the
    address (at most 30 an hour, whatever was asked for), so nobody can keep a clinic's calendar
    full of holds or probe it for free; then the branch, service and doctor must exist and be
    bookable online (NotFound), and the time be a time (ValidationFailed). With no doctor
    (`doctor_id` None) the first doctor free at that time is held, as the booking page's "anyone"."""
    if not throttle.hit(f"booking:hold:{ip}", limit=HOLDS_PER_ADDRESS_PER_HOUR):
        raise Throttled("Too many attempts from here. Please try again later or call us.")
    branch = Branch.objects.filter(pk=branch_id, is_active=True).first()
    service = Service.objects.filter(pk=service_id, bookable_online=True).first()
    doctor = None if doctor_id is None else StaffMember.objects.filter(pk=doctor_id).first()
    if branch is None or service is None or (doctor_id is not None and doctor is None):
        raise NotFound("No such branch, service or doctor.")
    if start is None:
        raise ValidationFailed(fields={"start": ["Choose one of the times offered."]})
    if doctor is None:
        doctor = _first_free_doctor(branch=branch, service=service, start=start)
    return appointment_hold(actor=None, doctor=doctor, branch=branch, service=service, start=start)


def _first_free_doctor(*, branch: Branch, service: Service, start: datetime) -> StaffMember:
    """The doctor the booking page offers first at `start` (its slots, under the online rules)."""
    if timezone.is_naive(start):
        raise ValidationFailed(fields={"start": ["Give the time with its UTC offset."]})
    day = start.astimezone(ZoneInfo(branch.timezone)).date()
    slots = slot_list_available(
        service=service,
        branch=branch,
        date_from=day,
        date_to=day,
        step=policy_get().online_slot_step_minutes,
        online=True,
    )
    doctor_id = next((slot.doctor_id for slot in slots if slot.start == start), None)
    if doctor_id is None:
        raise BookingRefused(Problem.DOCTOR_BUSY, "No doctor offering this service is free at that time.")
    return StaffMember.objects.get(pk=doctor_id)


@dataclass(frozen=True)
class OnlineVisitor:
    """Who an online booking is for, once their code proved the contact: the hold (row-locked until
    the caller's transaction ends), the patient found or registered, the desk's note and what the
    visitor is told."""

    hold: Appointment
    patient: Patient
    notes: str
    notice: str


def online_booking_identify(
    *,
    hold_id: int,
    hold_token: str,
    first_name: str,
    last_name: str,
    challenge: str,
    code: str,
    ip: str | None,
    request: HttpRequest | None = None,
) -> OnlineVisitor:
    """The hold locked and its visitor proved and registered, inside the caller's transaction (the
    code is spent when it commits). A hold that is not there (or not a hold, or whose token is
    wrong) is EntryNotFound, and one confirmed before is HoldConfirmed, both before the code is tried."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A visitor is identified inside the transaction that books for them.")
    # Locked first, so that a confirmation running at the same time finishes before this one looks.
    hold = _held_for(hold_id=hold_id, hold_token=hold_token)
    if hold.status not in (Status.HELD, Status.EXPIRED, Status.CANCELLED):
        raise HoldConfirmed()
    patient, contact = patient_proved_by_code(
        first_name=first_name, last_name=last_name, challenge=challenge, code=code, ip=ip, request=request
    )
    # The code proves the contact, not the name: families share an e-mail or a phone, so a booking
    # made under another name lands on the contact's record, and the desk is told who booked.
    named = patient_named(patient=patient, first_name=first_name, last_name=last_name)
    as_typed = " ".join(f"{first_name} {last_name}".split())
    return OnlineVisitor(
        hold=hold,
        patient=patient,
        notes="" if named else f"Booked online as {as_typed}",
        notice="" if named else _other_name_notice(contact.channel, as_typed),
    )


@transaction.atomic
def online_booking_confirm(
    *,
    hold_id: int,
    hold_token: str,
    first_name: str,
    last_name: str,
    challenge: str,
    code: str,
    ip: str | None,
    request: HttpRequest | None = None,
) -> OnlineBooking:
    """Self-registration and confirmation in one transaction: the code proves the contact, the
    patient is found by it or registered, the held time becomes theirs and a booking link is
    issued. A refusal anywhere (a wrong code, a hold that ran out) leaves no patient behind, and a
    right code stays usable until a booking with it commits (``online_booking_identify``)."""
    visitor = online_booking_identify(
        hold_id=hold_id,
        hold_token=hold_token,
        first_name=first_name,
        last_name=last_name,
        challenge=challenge,
        code=code,
        ip=ip,
        request=request,
    )
    for check in ONLINE_CONFIRM_CHECKS:
        check(visitor.hold, visitor.patient)
    booked = appointment_hold_confirm(
        actor=None, hold=visitor.hold, hold_token=hold_token, patient=visitor.patient, notes=visitor.notes
    )
    return OnlineBooking(appointment=booked, manage_token=manage_link_issue(appointment=booked), notice=visitor.notice)


def _other_name_notice(channel: str, as_typed: str) -> str:
    # Names nothing of the record: only that one exists under another name, which the code's holder may know.
    contact = "e-mail address" if channel == "email" else "mobile number"
    return (
        f"This {contact} is already on a patient record under another name, so the appointment was booked "
        f"on that record. The clinic will see that you booked as {as_typed}."
    )
