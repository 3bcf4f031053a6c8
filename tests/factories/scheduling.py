"""Scheduling test data, built through the catalogue services."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone

from patients.models import Patient
from patients.services import patient_create
from scheduling import services as sched
from scheduling.models import Appointment, Room, Service
from scheduling.selectors import Slot, slot_list_available
from tenants.authz import Actor
from tenants.org import services as org
from tenants.org.models import Branch, Role, StaffMember
from tests.factories import Chain, user_with_roles

_seq = itertools.count(1)
# The zones of the test chains (tests/conftest.py): days picked for tests are clear of their clock changes.
CHAIN_ZONES = ("Europe/London", "America/New_York")


def local_today(tz: str | ZoneInfo = "Europe/London") -> date:
    """Today's date on the wall clock of a zone, by the (possibly travelled) clock of the run."""
    return timezone.now().astimezone(ZoneInfo(str(tz))).date()


def next_weekday(day: date, weekday: int) -> date:
    """The first day on or after ``day`` that falls on ``weekday`` (Monday is 0)."""
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _noon_offset(zone: ZoneInfo, day: date) -> timedelta | None:
    return datetime.combine(day, time(12), tzinfo=zone).utcoffset()


def clocks_change(zones: Iterable[str], first: date, last: date) -> bool:
    """Whether the clocks change in any of the zones on a day from ``first`` to ``last``."""
    days = [first + timedelta(days=n) for n in range(-1, (last - first).days + 1)]
    return any(len({_noon_offset(ZoneInfo(z), d) for d in days}) > 1 for z in zones)


def monday_ahead(*, min_days: int = 8, quiet_days: int = 35, zones: Iterable[str] = CHAIN_ZONES) -> date:
    """The first Monday at least ``min_days`` from today with no clock change in the zones from a
    week before it to ``quiet_days`` after it: tests on it mean the same whatever the date of the run."""
    zones = tuple(zones)
    day = next_weekday(local_today() + timedelta(days=min_days), 0)
    while clocks_change(zones, day - timedelta(days=7), day + timedelta(days=quiet_days)):
        day += timedelta(days=7)
    return day


def july_monday(*, min_days: int = 8) -> date:
    """A Monday in July at least ``min_days`` ahead: London and New York both on summer time."""
    earliest = local_today() + timedelta(days=min_days)
    year = earliest.year if earliest <= date(earliest.year, 7, 24) else earliest.year + 1
    return next_weekday(max(earliest, date(year, 7, 1)), 0)


def clock_changes(tz: str, *, after: date) -> tuple[date, date]:
    """The first day after ``after`` when the clocks of ``tz`` go forward, and the first when they go
    back (the day of the change on the wall clock), from the zone's own rules."""
    zone, forward, back = ZoneInfo(tz), None, None
    day = after + timedelta(days=1)
    while forward is None or back is None:
        before, now = _noon_offset(zone, day - timedelta(days=1)), _noon_offset(zone, day)
        assert before is not None
        assert now is not None
        if now > before and forward is None:
            forward = day
        elif now < before and back is None:
            back = day
        day += timedelta(days=1)
        assert day < after + timedelta(days=800), f"{tz} has no clock changes"
    return forward, back


def zulu(moment: datetime) -> str:
    """A moment as the API writes it: UTC, to the second, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Computed when first imported, after the run's clock has moved (tests/conftest.py, `make test-future`).
MONDAY = monday_ahead()


@dataclass
class Clinic:
    chain: Chain
    branch: Branch
    service: Service
    doctors: list[StaffMember]
    rooms: list[Room] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.branch.timezone)

    @property
    def owner(self):  # type: ignore[no-untyped-def]
        return self.chain.users["owner"]

    @property
    def receptionist(self):  # type: ignore[no-untyped-def]
        return self.chain.users["receptionist"]

    def at(self, day: date, hh: int, mm: int = 0) -> datetime:
        """A wall-clock time at the branch."""
        return datetime.combine(day, time(hh, mm), tzinfo=self.tz)

    def patient(self, name: str = "") -> Patient:
        n = next(_seq)
        return patient_create(actor=self.owner, first_name=name or f"Pat{n}", last_name=f"Ient{n}")

    def days_ahead(self, days: int) -> date:
        """The branch's date ``days`` from today (by the run's clock)."""
        return local_today(self.tz) + timedelta(days=days)

    @contextmanager
    def morning_of(self, day: date) -> Iterator[None]:
        """The run's clock at 10:00 on ``day`` on the branch's wall, ticking on: outside any quiet
        hours, so a text is sent when dispatched and an offer is held from the moment it is made,
        whatever the hour the suite runs at."""
        with time_machine.travel(self.at(day, 10), tick=True):
            yield

    def slots(self, day: date, *, step: int = 30) -> list[Slot]:
        """What the availability selector offers of the clinic's service at its branch that day."""
        return list(
            slot_list_available(service=self.service, branch=self.branch, date_from=day, date_to=day, step=step)
        )

    def free_slot(self, day: date, *, doctor: StaffMember | None = None, step: int = 30) -> datetime:
        """The first start the availability selector offers that day (for the doctor, if given)."""
        return next(s.start for s in self.slots(day, step=step) if doctor is None or s.doctor_id == doctor.pk)


def book(
    clinic: Clinic,
    start: datetime,
    *,
    doctor: StaffMember | None = None,
    patient: Patient | None = None,
    actor: Actor | None = None,
    **extra: Any,
) -> Appointment:
    """One appointment booked through the real booking service: by the receptionist, for a new
    patient, with the clinic's first doctor unless told otherwise."""
    return sched.appointment_book(
        actor=actor or clinic.receptionist,
        patient=patient or clinic.patient(),
        doctor=doctor or clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=start,
        **extra,
    )


def doctor(chain: Chain, branch: Branch) -> StaffMember:
    user = user_with_roles(email=f"doc{next(_seq)}@{chain.clinic.slug}.example", roles=[Role.DOCTOR], branches=[branch])
    return user.staff


def clinic_setup(
    chain: Chain,
    *,
    branch: Branch | None = None,
    doctors: int = 2,
    duration: int = 30,
    before: int = 0,
    after: int = 0,
    requires_room: bool = False,
    rooms: int = 0,
    opens: time = time(8),
    closes: time = time(18),
    shift: tuple[time, time] = (time(9), time(17)),
    break_: tuple[time, time] | None = None,
    valid_from: date | None = None,
) -> Clinic:
    """A branch open every day, doctors on shift every day (from a year ago), one service they all offer."""
    owner = chain.users["owner"]
    valid_from = valid_from or local_today() - timedelta(days=366)
    branch = branch or chain.branches[0]
    service = sched.service_create(
        actor=owner,
        name=f"Consultation {next(_seq)}",
        duration_minutes=duration,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
        requires_room=requires_room,
    )
    sched.branch_hours_replace(actor=owner, branch=branch, hours=[(d, opens, closes) for d in range(7)])
    docs = [doctor(chain, branch) for _ in range(doctors)]
    for doc in docs:
        sched.offering_set(actor=owner, doctor=doc, branch=branch, service_ids=[service.pk])
        _every_day(owner, doc, branch, shift, valid_from=valid_from, break_=break_)
    room_list = [sched.room_create(actor=owner, branch=branch, name=f"Room {next(_seq)}") for _ in range(rooms)]
    return Clinic(chain=chain, branch=branch, service=service, doctors=docs, rooms=room_list)


def _every_day(
    owner: Actor,
    doc: StaffMember,
    branch: Branch,
    shift: tuple[time, time],
    *,
    valid_from: date,
    break_: tuple[time, time] | None = None,
) -> None:
    for weekday in range(7):
        sched.shift_pattern_create(
            actor=owner,
            doctor=doc,
            branch=branch,
            weekday=weekday,
            starts=shift[0],
            ends=shift[1],
            valid_from=valid_from,
            break_starts=break_[0] if break_ else None,
            break_ends=break_[1] if break_ else None,
        )


def works_also_at(clinic: Clinic, doc: StaffMember, branch: Branch, *, shift: tuple[time, time]) -> Clinic:
    """``doc`` of ``clinic`` also works at ``branch`` every day in ``shift``, offering a service of its own
    there (the returned clinic of that branch, with no doctors of its own)."""
    owner = clinic.chain.users["owner"]
    org.staff_update(actor=owner, staff=doc, branch_ids=[clinic.branch.pk, branch.pk])
    there = clinic_setup(clinic.chain, branch=branch, doctors=0)
    sched.offering_set(actor=owner, doctor=doc, branch=branch, service_ids=[there.service.pk])
    _every_day(owner, doc, branch, shift, valid_from=local_today() - timedelta(days=366))
    return there


# Whatever time the suite runs, one of these zones is inside its working day.
DAYTIME_ZONES = [
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "Asia/Kolkata",
]


def daytime_branch(chain: Chain) -> Branch:
    """A new branch in a zone where it is daytime now, for tests about "now" (walk-ins)."""
    from datetime import datetime as _dt

    tz = next(z for z in DAYTIME_ZONES if 7 <= _dt.now(ZoneInfo(z)).hour <= 16)
    return org.branch_create(actor=chain.users["owner"], name=f"Daytime {next(_seq)}", timezone_name=tz)
