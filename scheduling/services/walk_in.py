"""A walk-in (or a caller on the phone): the first free doctor for a service at a branch from now
on today, or a time the desk chose; for a patient on file or for someone registered on the spot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from config.errors import ValidationFailed
from patients.models import Patient
from patients.services import consent_set, patient_create
from scheduling.engine import Problem
from scheduling.exceptions import BookingRefused, NoSlotToday
from scheduling.models import Appointment, Service, Source
from scheduling.selectors import slot_list_available
from scheduling.services.booking import appointment_book
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, StaffMember


@dataclass(frozen=True)
class NewPatient:
    """Who a walk-in is, when they are not on file yet."""

    first_name: str
    last_name: str
    phone: str = ""
    email: str = ""
    date_of_birth: date | None = None
    ignore_duplicates: bool = False  # the desk saw the likely duplicates and registers anyway
    # what they said on the phone or at the desk: the booking's confirmation and reminders by SMS;
    # follow-ups by e-mail too (e-mail about visits needs no consent); or no e-mails at all
    sms_consent: bool = False
    email_consent: bool = False
    email_withdrawn: bool = False


@transaction.atomic
def walk_in_book(
    *,
    actor: Actor,
    branch: Branch,
    service: Service,
    patient: Patient | None = None,
    new_patient: NewPatient | None = None,
    doctor: StaffMember | None = None,
    start: datetime | None = None,
    source: str = Source.WALK_IN,
    now: datetime | None = None,
    request: HttpRequest | None = None,
) -> Appointment:
    """Book a walk-in for `patient`, or register `new_patient` and book them, in one transaction:
    a time refused (taken a moment ago by another desk) leaves no new patient behind.

    With `doctor` and `start`, that time (the desk's choice; a phone booking any day); without,
    the first free doctor for the service at the branch from now on today."""
    now = now or timezone.now()
    authorize(actor, "scheduling.book", branch)
    if (patient is None) == (new_patient is None):
        raise ValidationFailed(fields={"patient": ["Give a patient on file or a new patient's details, not both."]})
    if (doctor is None) != (start is None):
        raise ValidationFailed(fields={"start": ["Give a doctor and a time together, or neither."]})
    if new_patient is not None:
        patient = patient_create(
            actor=actor,
            request=request,
            first_name=new_patient.first_name,
            last_name=new_patient.last_name,
            phone=new_patient.phone,
            email=new_patient.email,
            date_of_birth=new_patient.date_of_birth,
            ignore_duplicates=new_patient.ignore_duplicates,
        )
        # before booking: the confirmation the booking writes goes where they agreed to be told
        for channel, given in (("sms", new_patient.sms_consent), ("email", new_patient.email_consent)):
            if given:
                patient = consent_set(actor=actor, patient=patient, channel=channel, given=True, request=request)
        if new_patient.email_withdrawn and not new_patient.email_consent:
            patient = consent_set(actor=actor, patient=patient, channel="email", given=False, request=request)
    if patient is None:  # not reached: exactly one of the two was checked above
        raise ValidationFailed(fields={"patient": ["Give a patient."]})
    book = partial(
        appointment_book, actor=actor, patient=patient, branch=branch, service=service, source=source, now=now
    )
    if doctor is not None and start is not None:
        return book(doctor=doctor, start=start)
    today = now.astimezone(ZoneInfo(branch.timezone)).date()
    slots = slot_list_available(service=service, branch=branch, date_from=today, date_to=today, step=5, now=now)
    doctors = {d.pk: d for d in StaffMember.objects.filter(pk__in={s.doctor_id for s in slots})}
    for slot in slots[:20]:
        try:
            return book(doctor=doctors[slot.doctor_id], start=slot.start)
        except BookingRefused as exc:
            if exc.code == Problem.PATIENT_BUSY:
                raise
            continue  # someone took that slot a moment ago: try the next one
    raise NoSlotToday()
