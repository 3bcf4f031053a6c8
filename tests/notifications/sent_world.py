"""Test data of what is sent: a clinic whose patients can be reached (phone and e-mail on file, SMS
consent given), and reads of the outbox rows an appointment has."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import time

from django_tenants.utils import schema_context

from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.policy import messaging_settings
from notifications.services import MessagingSettingsIn
from patients.models import Patient
from patients.services import consent_set, patient_create
from tests.factories import Chain
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import committed

_seq = itertools.count(1)


def reachable(clinic: Clinic, *, sms: bool = True, email: bool = True, language: str = "") -> Patient:
    """A patient with a mobile number and an e-mail address, who agreed to texts (``sms``)."""
    n = next(_seq)
    patient = patient_create(
        actor=clinic.owner,
        first_name=f"Rita{n}",
        last_name=f"Reach{n}",
        phone=f"+4479123{n:05d}" if sms else "",
        email=f"rita{n}@example.com" if email else "",
        ignore_duplicates=True,
        preferred_language=language,
    )
    if sms:
        patient = consent_set(actor=clinic.owner, patient=patient, channel="sms", given=True)
    return patient


def messaging(
    *, offsets: list[int] | None = None, quiet: tuple[time, time] | None = (time(21), time(8)), **switches: bool
) -> None:
    settings = messaging_settings()
    if offsets is not None:
        settings.reminder_offsets_minutes = offsets
    settings.quiet_hours_start, settings.quiet_hours_end = quiet if quiet else (None, None)
    for name, value in switches.items():
        setattr(settings, name, value)
    settings.save()


def reminders(
    appointment_id: int, *, status: str | None = MessageStatus.PENDING, channel: str = Channel.SMS
) -> list[Message]:
    rows = Message.objects.filter(appointment_id=appointment_id, kind=Kind.REMINDER, channel=channel)
    if status is not None:
        rows = rows.filter(status=status)
    return list(rows.order_by("due_at"))


def kinds(appointment_id: int) -> list[tuple[str, str]]:
    """(kind, channel) of an appointment's messages other than reminders, in the order written."""
    rows = Message.objects.filter(appointment_id=appointment_id).exclude(kind=Kind.REMINDER).order_by("pk")
    return [(m.kind, m.channel) for m in rows]


def settings_in(**changes: object) -> MessagingSettingsIn:
    """The chain's messaging settings as the settings page sends them, with ``changes``."""
    s = messaging_settings()
    current = MessagingSettingsIn(
        reminder_offsets_minutes=list(s.reminder_offsets_minutes),
        quiet_hours_start=s.quiet_hours_start,
        quiet_hours_end=s.quiet_hours_end,
        confirm_online=s.confirm_online,
        confirm_phone=s.confirm_phone,
        confirm_walk_in=s.confirm_walk_in,
        confirm_staff=s.confirm_staff,
        sms_enabled=s.sms_enabled,
        email_enabled=s.email_enabled,
    )
    return replace(current, **changes)  # type: ignore[arg-type]


@contextmanager
def shared_clinic(chain: Chain) -> Iterator[Clinic]:
    """A clinic of one doctor at ``chain``'s first branch on committed data (for tests on real
    concurrent connections), the chain's quiet hours put back afterwards. The caller clears what it
    wrote inside the ``with``, in ``chain``'s schema."""
    with committed(), schema_context(chain.schema):
        before = messaging_settings()
        saved = (before.quiet_hours_start, before.quiet_hours_end)
        clinic = clinic_setup(chain, branch=chain.branches[0], doctors=1)
    try:
        yield clinic
    finally:
        with committed(), schema_context(chain.schema):
            messaging(quiet=saved if saved[0] else None)
