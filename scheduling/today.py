"""Today's work for the home page, per role, from one read: the desk's arrivals and waiting patients,
a doctor's next patient and the rest of her day, a manager's branches at a glance, and the chain's
totals for an owner. "Today" is each branch's own local day; what is shown is scoped by
tenants.org.selectors (the branches a user sees, the branches a user manages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils import timezone
from psycopg.types.range import Range

from scheduling.models import Appointment, Status
from tenants.authz import Actor
from tenants.org.models import Branch, Role
from tenants.org.rules import staff_of
from tenants.org.selectors import branch_ids_managed, branch_ids_visible, chain_settings_get

WAITING = (Status.CHECKED_IN,)
EXPECTED = (Status.BOOKED, Status.CONFIRMED)
# Still to happen or happening: what a doctor's day is made of (a held time is not a patient yet).
ON_THE_DAY = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_PROGRESS)
ARRIVED = (Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED)


@dataclass(frozen=True)
class Visit:
    """One appointment as a home page lists it."""

    id: int
    start: datetime
    end: datetime
    status: str
    status_label: str
    patient_id: int | None
    patient_name: str
    patient_mrn: str
    service_name: str
    doctor_id: int
    doctor_name: str
    branch_id: int
    branch_name: str
    timezone: str
    checked_in_at: datetime | None
    minutes_waiting: int | None
    minutes_late: int | None = None  # expected, not arrived, and past its start: by how much
    overdue: bool = False  # expected and its time is over: most likely a no-show

    @property
    def late(self) -> str:
        """The late cue in words ("12 min late", "no-show?"); empty when on time or arrived."""
        if self.minutes_late is None:
            return ""
        return "no-show?" if self.overdue else f"{self.minutes_late} min late"


@dataclass
class DayCounts:
    """A branch's day (or the chain's) at a glance."""

    name: str
    branch_id: int | None = None
    appointments: int = 0
    expected: int = 0
    arrived: int = 0
    waiting: int = 0
    completed: int = 0
    no_shows: int = 0
    cancelled: int = 0

    def add(self, visit: Visit) -> None:
        if visit.status == Status.CANCELLED:
            self.cancelled += 1
            return
        if visit.status in (Status.HELD, Status.EXPIRED):
            return
        self.appointments += 1
        self.expected += visit.status in EXPECTED
        self.arrived += visit.status in ARRIVED
        self.waiting += visit.status in WAITING
        self.completed += visit.status == Status.COMPLETED
        self.no_shows += visit.status == Status.NO_SHOW


@dataclass
class Today:
    """What one person's home page shows; a section is empty when the person's roles do not ask for it."""

    now: datetime
    day: date
    desk: bool = False
    arrivals: list[Visit] = field(default_factory=list)
    waiting: list[Visit] = field(default_factory=list)
    doctor: bool = False
    next_visit: Visit | None = None
    rest_of_day: list[Visit] = field(default_factory=list)
    seen_today: int = 0
    manages: bool = False
    branches: list[DayCounts] = field(default_factory=list)
    chain: DayCounts | None = None

    def shown(self) -> list[Visit]:
        """Every appointment with a patient the page shows (for the access log)."""
        visits = [*self.arrivals, *self.waiting, *self.rest_of_day]
        if self.next_visit:
            visits.append(self.next_visit)
        return [v for v in visits if v.patient_id]


def _visits(*, now: datetime, branch_ids: frozenset[int] | None, doctor_id: int | None) -> list[Visit]:
    """Appointments on each branch's local today, of the branches given (None: all) or of one doctor.
    One query over a window that holds every time zone's today; the local day then decides."""
    window = Range(now - timedelta(hours=30), now + timedelta(hours=30), "[)")
    qs = Appointment.objects.filter(span__overlap=window)
    if branch_ids is not None:
        qs = qs.filter(branch_id__in=branch_ids)
    if doctor_id is not None:
        qs = qs.filter(doctor_id=doctor_id)
    rows = qs.values(
        "id",
        "status",
        "patient_id",
        "doctor_id",
        "branch_id",
        "checked_in_at",
        "span",
        patient_first=F("patient__first_name"),
        patient_last=F("patient__last_name"),
        mrn=F("patient__mrn"),
        service_name=F("service__name"),
        doctor_first=F("doctor__user__first_name"),
        doctor_last=F("doctor__user__last_name"),
        branch_name=F("branch__name"),
        tz=F("branch__timezone"),
    )
    labels = dict(Status.choices)
    visits = []
    for r in rows:
        start, end = r["span"].lower, r["span"].upper
        tz = ZoneInfo(r["tz"])
        if start.astimezone(tz).date() != now.astimezone(tz).date():
            continue
        waited = r["checked_in_at"] if r["status"] in WAITING else None
        late = r["status"] in EXPECTED and now > start
        visits.append(
            Visit(
                id=r["id"],
                start=start,
                end=end,
                status=r["status"],
                status_label=str(labels[r["status"]]),
                patient_id=r["patient_id"],
                patient_name=f"{r['patient_first'] or ''} {r['patient_last'] or ''}".strip(),
                patient_mrn=r["mrn"] or "",
                service_name=r["service_name"] or "",
                doctor_id=r["doctor_id"],
                doctor_name=f"{r['doctor_first']} {r['doctor_last']}".strip(),
                branch_id=r["branch_id"],
                branch_name=r["branch_name"],
                timezone=r["tz"],
                checked_in_at=r["checked_in_at"],
                minutes_waiting=max(0, int((now - waited).total_seconds() // 60)) if waited else None,
                minutes_late=int((now - start).total_seconds() // 60) if late else None,
                overdue=late and now >= end,
            )
        )
    visits.sort(key=lambda v: (v.start, v.doctor_name, v.id))
    return visits


def _counts(visits: list[Visit], branches: list[Branch]) -> list[DayCounts]:
    by_branch = {b.pk: DayCounts(name=b.name, branch_id=b.pk) for b in branches}
    for visit in visits:
        if visit.branch_id in by_branch:
            by_branch[visit.branch_id].add(visit)
    return list(by_branch.values())


def today_for(*, actor: Actor, now: datetime | None = None) -> Today:
    """The home page of ``actor`` today: each of their roles adds its section. Front desk (and
    anyone who books at the desk): arrivals (booked or confirmed, not checked in, by time) and
    waiting patients (checked in, minutes waiting) at the branches they see. Doctor: her next
    patient and the rest of her day (every other appointment not done yet). Expected patients past
    their start carry a late cue. Branch manager: each branch they manage at a glance. Owner: the
    same for every branch, and the chain's total."""
    now = now or timezone.now()
    staff = staff_of(actor)
    roles = set(staff.roles) if staff else set()
    today = Today(now=now, day=now.astimezone(ZoneInfo(chain_settings_get().default_timezone)).date())
    if not roles:
        return today
    desk = bool(roles & {Role.RECEPTIONIST, Role.BRANCH_MANAGER, Role.OWNER})
    manages = bool(roles & {Role.BRANCH_MANAGER, Role.OWNER})
    visible = branch_ids_visible(actor=actor)
    managed = branch_ids_managed(actor=actor) if manages else frozenset()
    # One read of the calendar serves every section: the branches seen (which hold those managed).
    seen = _visits(now=now, branch_ids=visible, doctor_id=None) if desk or manages else []
    if desk:
        today.desk = True
        today.arrivals = [v for v in seen if v.status in EXPECTED and v.patient_id]
        today.waiting = sorted(
            (v for v in seen if v.status in WAITING), key=lambda v: (-(v.minutes_waiting or 0), v.start)
        )
    if Role.DOCTOR in roles and staff is not None:
        today.doctor = True
        mine = _visits(now=now, branch_ids=None, doctor_id=staff.pk)
        # A booked time already over without a check-in is a likely no-show, not her next patient.
        ahead = [v for v in mine if v.status in ON_THE_DAY and (v.end > now or v.status not in EXPECTED)]
        # Someone already with her or waiting comes first; otherwise the next by time.
        ahead.sort(key=lambda v: (v.status not in (Status.IN_PROGRESS,), v.status not in WAITING, v.start))
        today.next_visit = ahead[0] if ahead else None
        # The rest of her day: every other appointment not done yet, as My day lists them (those whose
        # time is over without a check-in included, marked late).
        today.rest_of_day = [v for v in mine if v.status in ON_THE_DAY and v != today.next_visit]
        today.seen_today = sum(v.status == Status.COMPLETED for v in mine)
    if manages:
        today.manages = True
        branches = Branch.objects.filter(is_active=True).order_by("name")
        if managed is not None:
            branches = branches.filter(pk__in=managed)
        today.branches = _counts(seen, list(branches))
        if managed is None:  # an owner: the whole chain
            total = DayCounts(name="All branches")
            for visit in seen:
                total.add(visit)
            today.chain = total
    return today
