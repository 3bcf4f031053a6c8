"""What the calendar announces. Subscribers run inside the same transaction (config.events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from config.events import Event


class Cause(StrEnum):
    """Why an appointment was moved or cancelled, for whoever tells the patient (notifications):
    someone asked for it (the desk, the portal, the API), or the doctor's leave made it necessary
    (scheduling.services.leave_resolution, the manager's decision for each appointment)."""

    REQUEST = "request"
    LEAVE = "leave"


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
    previous_doctor_id: int | None = field(default=None, kw_only=True)
    cause: Cause = field(default=Cause.REQUEST, kw_only=True)


@dataclass(frozen=True)
class AppointmentCancelled(AppointmentEvent):
    """``late``: inside the chain's cancellation window (scheduling/cancel_window.py).
    ``by_patient``: the patient cancelled (online, by the booking link) or asked staff to (a phone
    call the desk records as the patient's); False is the clinic's own cancellation, which carries
    no fee (invoicing/fees.py)."""

    late: bool
    reason: str = field(default="", kw_only=True)
    cause: Cause = field(default=Cause.REQUEST, kw_only=True)
    by_patient: bool = field(default=False, kw_only=True)


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


@dataclass(frozen=True)
class WaitlistJoined(Event):
    """A patient joined the waitlist. ``token``: the raw secret of the patient's link to leave the
    list, for the message that carries it (only its hash is stored)."""

    entry_id: int
    token: str = field(repr=False)


@dataclass(frozen=True)
class WaitlistOffered(Event):
    """A freed time is held and offered to a waiting patient. ``token``: the raw secret of the offer's
    link (accept or decline), for the message that carries it (only its hash is stored)."""

    offer_id: int
    token: str = field(repr=False)


@dataclass(frozen=True)
class WaitlistOfferTaken(Event):
    """Another patient accepted the time this open offer was for: its patient is told, kindly, and
    stays on the list."""

    offer_id: int
