"""Scheduling test data, built through the catalogue services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from patients.models import Patient
from patients.services import patient_create
from scheduling import services as sched
from scheduling.models import Room, Service
from tenants.org.models import Branch, Role, StaffMember
from tests.factories import Chain, user_with_roles

_seq = itertools.count(1)
MONDAY = date(2027, 6, 7)  # a Monday ahead of every test run (until then), with no DST change near


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
    valid_from: date = date(2025, 1, 1),
) -> Clinic:
    """A branch open every day, doctors on shift every day, one service they all offer."""
    owner = chain.users["owner"]
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
    room_list = [sched.room_create(actor=owner, branch=branch, name=f"Room {next(_seq)}") for _ in range(rooms)]
    return Clinic(chain=chain, branch=branch, service=service, doctors=docs, rooms=room_list)


def next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


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

    from tenants.org import services as org

    tz = next(z for z in DAYTIME_ZONES if 7 <= _dt.now(ZoneInfo(z)).hour <= 16)
    return org.branch_create(actor=chain.users["owner"], name=f"Daytime {next(_seq)}", timezone_name=tz)
