"""What the calendar announces. Subscribers run inside the same transaction (config.events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from config.events import Event


@dataclass(frozen=True)
class AppointmentEvent(Event):
    appointment_id: int
    actor_id: int | None


@dataclass(frozen=True)
class AppointmentBooked(AppointmentEvent):
    pass


@dataclass(frozen=True)
class AppointmentRescheduled(AppointmentEvent):
    previous_start: datetime


@dataclass(frozen=True)
class AppointmentCancelled(AppointmentEvent):
    late: bool


@dataclass(frozen=True)
class AppointmentCheckedIn(AppointmentEvent):
    pass


@dataclass(frozen=True)
class AppointmentCompleted(AppointmentEvent):
    pass


@dataclass(frozen=True)
class AppointmentNoShow(AppointmentEvent):
    pass


@dataclass(frozen=True)
class LeaveCreated(Event):
    leave_id: int
    doctor_id: int
