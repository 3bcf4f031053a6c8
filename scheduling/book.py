"""The appointment book: the desk's day (doctors as columns) or one doctor's week, as the calendar
component in the browser reads it, and what the desk shows about one appointment.

Built from ``scheduling.selectors.desk_day``, the same plan as booking (closures, special hours,
shifts, breaks, leave): what the book shows as open is what ``appointment_book`` accepts. The
actions offered for an appointment come from the lifecycle's own rules (``TRANSITIONS``,
``MOVABLE``, the day and start-time checks) and the ``scheduling.change_appointment`` permission,
so the page never offers what the service would refuse for its state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.utils import timezone

from patients.models import Patient
from patients.selectors import patient_search
from scheduling import intervals as iv
from scheduling.models import Appointment, DoctorService, ExtraShift, Kind, Service, ShiftPattern, Status
from scheduling.no_shows import no_show_record, no_show_records
from scheduling.selectors import DeskDay, appointment_list, desk_day, series_appointments
from scheduling.services.lifecycle import MOVABLE, TRANSITIONS, check_in_early, no_show_early
from tenants.authz import Actor
from tenants.org.models import Branch, StaffMember
from tenants.org.rules import staff_of

OFF_LABELS = {"closed": "Closed", "off_shift": "Not on shift"}
#: After a flagged patient's name on the book (in words, never a colour only).
NO_SHOW_FLAG = "(no-show flag)"
#: The desk's actions, in the order the panel shows them: each is the status it moves to.
ACTIONS: dict[str, tuple[str, str]] = {
    "check-in": (Status.CHECKED_IN, "Check in"),
    "start": (Status.IN_PROGRESS, "Start visit"),
    "complete": (Status.COMPLETED, "Complete"),
    "no-show": (Status.NO_SHOW, "No-show"),
    "cancel": (Status.CANCELLED, "Cancel"),
}
#: Shown on the book but never moved or opened as a visit: a hold is an online booking under way.
NOT_SHOWN = {Status.EXPIRED}
#: Appointments whose time is free again: drawn behind the others, never blocking a click to book there.
FREED = {Status.CANCELLED, Status.NO_SHOW}
UPCOMING = [Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_PROGRESS]


class BookResource(TypedDict):
    id: int
    title: str


class BookEvent(TypedDict, total=False):
    id: str
    resourceIds: list[int]
    start: str
    end: str
    title: str
    display: str
    classNames: list[str]
    startEditable: bool
    durationEditable: bool
    extendedProps: dict[str, str | int | bool | None]


class BookFeed(TypedDict):
    view: str  # "day" (doctors as columns) or "week" (one doctor)
    date: str
    timeZone: str  # the branch's UTC offset on that date, e.g. "+01:00": the "now" line is the branch's
    slotMinTime: str
    slotMaxTime: str
    scrollTime: str  # where the grid opens: half an hour before the first appointment, else the opening
    resources: list[BookResource]
    events: list[BookEvent]
    closed: str  # why the branch is closed all day, "" when it opens
    shown: list[dict[str, int | None]]  # the appointments shown, for the access log ({"id", "patient_id"})


def _floating(moment: datetime, tz: ZoneInfo) -> str:
    """The branch's wall-clock time with no offset: the calendar places it as it reads."""
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def _offset(day: date, tz: ZoneInfo) -> str:
    """The zone's UTC offset at noon that day (read on the zone's own clock: a UTC datetime's offset
    is always +00:00, which put the now line of a Tokyo branch on the day before)."""
    minutes = int((datetime.combine(day, time(12), tzinfo=tz).utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _clock(moment: datetime, day: date, tz: ZoneInfo) -> str:
    """A time of the grid on the branch's wall clock, past the day's midnight (24:00:00 for the next
    midnight): the calendar lays its slots and the events' floating times out on the wall clock, so
    on the days the clocks change the hours are read there too, not counted from midnight (which
    would cut off the first or the last hour of the day)."""
    local = moment.astimezone(tz)
    hours = (local.date() - day).days * 24 + local.hour
    return f"{hours:02d}:{local.minute:02d}:00"


def _scroll(grids: list[DeskDay], tz: ZoneInfo) -> str:
    starts = [r["start"] for g in grids for r in g.entries if r["kind"] == Kind.APPOINTMENT]
    starts += [lo for g in grids for lo, _ in g.open]
    if not starts:
        return "08:00:00"
    first = min(s.astimezone(tz).time() for s in starts)
    minutes = max(0, first.hour * 60 + first.minute - 30)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def _editable(actor: Actor, branch: Branch) -> tuple[bool, int | None]:
    """Whether this user may move any appointment at the branch (owners and the front desk there,
    as ``scheduling.change_appointment`` has it), and their own staff id (a doctor moves her own)."""
    staff = staff_of(actor)
    return bool(actor.has_perm("scheduling.book", branch)), staff.pk if staff else None


def _events(grid: DeskDay, *, actor: Actor, tz: ZoneInfo, doctor_id: int | None) -> list[BookEvent]:
    everyone, own = _editable(actor, grid.branch)
    events: list[BookEvent] = []
    # Patients flagged for repeated no-shows (scheduling.no_shows): said in words on their block.
    records = no_show_records(patient_ids=[r["patient_id"] for r in grid.entries if r["patient_id"]])
    flagged = {pk for pk, record in records.items() if record.flagged}
    for column in grid.columns:
        if doctor_id is not None and column.doctor.pk != doctor_id:
            continue
        for (lo, hi), kind in column.off:
            background: BookEvent = {
                "start": _floating(lo, tz),
                "end": _floating(hi, tz),
                "display": "background",
                "classNames": ["book-off", f"book-{kind.replace('_', '-')}"],
                "title": OFF_LABELS[kind],
            }
            if doctor_id is None:
                background["resourceIds"] = [column.doctor.pk]
            events.append(background)
    for row in grid.entries:
        if row["status"] in NOT_SHOWN or (doctor_id is not None and row["doctor_id"] != doctor_id):
            continue
        event: BookEvent = {
            "id": str(row["id"]),
            "start": _floating(row["start"], tz),
            "end": _floating(row["end"], tz),
            "durationEditable": False,  # a visit lasts as its service does, unless the service says otherwise
        }
        if doctor_id is None:
            event["resourceIds"] = [row["doctor_id"]]
        if row["kind"] == Kind.LEAVE and max(row["start"], grid.first) >= min(row["end"], grid.last):
            continue  # wholly outside the hours the grid shows
        if row["kind"] == Kind.LEAVE:
            # Shown behind the day's appointments (squeezing none), for the part of it this day's grid
            # holds: a leave that ends days later runs to the grid's end, not to "00:00".
            event |= {
                "id": f"leave-{row['id']}-{grid.day}",
                "start": _floating(max(row["start"], grid.first), tz),
                "end": _floating(min(row["end"], grid.last), tz),
                "title": "Leave" + (f": {row['notes']}" if row["notes"] else ""),
                "display": "background",
                "classNames": ["book-event", "book-leave"],
                "startEditable": False,
                "extendedProps": {"kind": "leave", "status": "leave", "statusLabel": "Leave"},
            }
        else:
            status = row["status"]
            patient = _name(row["patient_first"], row["patient_last"]) if row["patient_id"] else "Held online"
            if row["patient_id"] in flagged:
                patient = f"{patient} {NO_SHOW_FLAG}"
            movable = status in MOVABLE and (everyone or row["doctor_id"] == own)
            resizable = movable and bool(row["service_adjustable"])  # scheduling.services.resize
            if status in FREED:
                # its time is free again: drawn behind the live appointments (a click there books it),
                # still opened from the keyboard
                event["display"] = "background"
            event |= {
                "title": patient,
                "classNames": ["book-event", f"status-{status.replace('_', '-')}"]
                + (["book-resizable"] if resizable else [])
                + (["book-freed"] if status in FREED else []),
                "startEditable": movable,
                "durationEditable": resizable,
                "extendedProps": {
                    "kind": "appointment",
                    "status": status,
                    "statusLabel": Status(status).label,
                    "patient": patient,
                    "mrn": row["patient_mrn"],
                    "service": row["service_name"],
                    "room": row["room_name"],
                    "override": row["is_override"],
                    "resizable": resizable,
                },
            }
        events.append(event)
    return events


def _shown(grid: DeskDay, doctor_id: int | None) -> list[dict[str, int | None]]:
    return [
        {"id": r["id"], "patient_id": r["patient_id"]}
        for r in grid.entries
        if r["patient_id"] and r["status"] not in NOT_SHOWN and doctor_id in (None, r["doctor_id"])
    ]


def book_day(*, actor: Actor, branch: Branch, day: date, now: datetime | None = None) -> BookFeed:
    """A branch's day for the book: doctors as columns (those offering a service there, and anyone
    with an entry that day), their appointments and leave, and the time no visit can be booked in
    (closed, off shift, breaks, leave) as shaded background."""
    tz = ZoneInfo(branch.timezone)
    grid = desk_day(branch=branch, day=day, actor=actor, now=now)
    return {
        "view": "day",
        "date": day.isoformat(),
        "timeZone": _offset(day, tz),
        "slotMinTime": _clock(grid.first, day, tz),
        "slotMaxTime": _clock(grid.last, day, tz),
        "scrollTime": _scroll([grid], tz),
        "resources": [{"id": c.doctor.pk, "title": c.doctor.user.get_full_name()} for c in grid.columns],
        "events": _events(grid, actor=actor, tz=tz, doctor_id=None),
        "closed": grid.closed_reason,
        "shown": _shown(grid, None),
    }


def book_week(*, actor: Actor, branch: Branch, doctor: StaffMember, day: date, now: datetime | None = None) -> BookFeed:
    """One doctor's week at a branch (Monday to Sunday around `day`): the same day plan, day by day."""
    tz = ZoneInfo(branch.timezone)
    monday = day - timedelta(days=day.weekday())
    grids = [desk_day(branch=branch, day=monday + timedelta(days=i), actor=actor, now=now) for i in range(7)]
    events = [e for grid in grids for e in _events(grid, actor=actor, tz=tz, doctor_id=doctor.pk)]
    earliest = min(_clock(g.first, g.day, tz) for g in grids)
    latest = max(_clock(g.last, g.day, tz) for g in grids)
    return {
        "view": "week",
        "date": monday.isoformat(),
        "timeZone": _offset(day, tz),
        "slotMinTime": earliest,
        "slotMaxTime": latest,
        "scrollTime": _scroll(grids, tz),
        "resources": [{"id": doctor.pk, "title": doctor.user.get_full_name()}],
        "events": events,
        "closed": "",
        "shown": [s for g in grids for s in _shown(g, doctor.pk)],
    }


def week_doctor(*, branch: Branch, doctors: list[StaffMember], day: date) -> StaffMember | None:
    """The doctor the week view opens on when none is asked: the first of ``doctors`` with a shift
    (weekly or extra) or an appointment at the branch in the week of ``day``; None when nobody has."""
    monday = day - timedelta(days=day.weekday())
    sunday = monday + timedelta(days=6)
    ids = [d.pk for d in doctors]
    working = {
        doctor_id
        for doctor_id, weekday, valid_from, valid_until in ShiftPattern.objects.filter(
            branch=branch, doctor_id__in=ids, valid_from__lte=sunday
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=monday))
        .values_list("doctor_id", "weekday", "valid_from", "valid_until")
        if valid_from <= monday + timedelta(days=weekday) <= (valid_until or sunday)
    }
    working |= set(
        ExtraShift.objects.filter(branch=branch, doctor_id__in=ids, date__range=(monday, sunday)).values_list(
            "doctor_id", flat=True
        )
    )
    tz = ZoneInfo(branch.timezone)
    week = (iv.day_bounds(monday, tz)[0], iv.day_bounds(sunday, tz)[1])
    working |= set(
        Appointment.objects.filter(
            branch=branch, doctor_id__in=ids, span__startswith__gte=week[0], span__startswith__lt=week[1]
        ).values_list("doctor_id", flat=True)
    )
    return next((d for d in doctors if d.pk in working), None)


# --- one appointment, as the desk's panel shows it ---------------------------------------------
@dataclass(frozen=True)
class Action:
    name: str  # the desk's action ("check-in", ...), posted to desk-action
    label: str


@dataclass(frozen=True)
class AppointmentCard:
    appointment: Appointment
    status_label: str
    status_css: str  # the status's class on the page ("checked-in"), as the book's events carry it
    actions: list[Action]
    can_move: bool
    last_visit: Appointment | None
    alerts: list[str] = field(default_factory=list)
    series_place: tuple[int, int] | None = None  # (3, 6): the third of a weekly series of six


def appointment_actions(*, actor: Actor, appointment: Appointment, now: datetime | None = None) -> list[Action]:
    """The actions this user may take on the appointment in its state, by the lifecycle's rules:
    a status it may move to (TRANSITIONS), not checked in before its day, not missed before it starts."""
    if appointment.kind != Kind.APPOINTMENT or not actor.has_perm("scheduling.change_appointment", appointment):
        return []
    now = now or timezone.now()
    allowed = TRANSITIONS[appointment.status]
    early = {"check-in": check_in_early(appointment, now=now), "no-show": no_show_early(appointment, now=now)}
    return [
        Action(name, label)
        for name, (to, label) in ACTIONS.items()
        if to in allowed and not early.get(name, False) and appointment.patient_id is not None
    ]


def _alerts(patient: Patient, *, before: datetime) -> list[str]:
    """What the front desk should know before the visit, from what the desk may read (no clinical
    record): missed visits and late cancellations in the last year, and how to reach the patient."""
    year = Appointment.objects.filter(patient=patient, span__startswith__gte=before - timedelta(days=365))
    counts = year.aggregate(late=Count("pk", filter=Q(status=Status.CANCELLED, late_cancellation=True)))
    alerts = []
    missed = no_show_record(patient_id=patient.pk, now=before).said  # "Flagged for no-shows: missed 2 ..."
    if missed:
        alerts.append(missed)
    if counts["late"]:
        alerts.append(f"Cancelled late {counts['late']} time{'s' if counts['late'] > 1 else ''} in the last year")
    if not patient.phone:
        alerts.append("No mobile number on file")
    elif not patient.consents_to("sms"):
        alerts.append("No consent to SMS reminders")
    return alerts


def appointment_card(*, actor: Actor, appointment: Appointment, now: datetime | None = None) -> AppointmentCard:
    """The desk's panel of one appointment: the patient (name, MRN, phone, last visit, alerts) and
    every action allowed in its state."""
    actions = appointment_actions(actor=actor, appointment=appointment, now=now)
    can_move = appointment.status in MOVABLE and bool(actor.has_perm("scheduling.change_appointment", appointment))
    last_visit, alerts = None, []
    if appointment.patient is not None:
        last_visit = (
            Appointment.objects.select_related("service", "doctor__user", "branch")
            .filter(
                patient=appointment.patient,
                status__in=[Status.COMPLETED, Status.IN_PROGRESS, Status.CHECKED_IN],
                span__startswith__lt=appointment.span.lower,
            )
            .order_by("-span")
            .first()
        )
        alerts = _alerts(appointment.patient, before=appointment.span.lower)
    series_place = None
    if appointment.series_id is not None:
        ids = [a.pk for a in series_appointments(actor=actor, series_id=appointment.series_id)]
        series_place = (ids.index(appointment.pk) + 1, len(ids)) if appointment.pk in ids else None
    return AppointmentCard(
        appointment=appointment,
        status_label=Status(appointment.status).label,
        status_css=appointment.status.replace("_", "-"),
        actions=actions,
        can_move=can_move,
        last_visit=last_visit,
        alerts=alerts,
        series_place=series_place,
    )


# --- an empty time clicked on the book ---------------------------------------------------------
def services_of_doctor(*, branch: Branch, doctor: StaffMember) -> list[Service]:
    """The active services the doctor offers at the branch: what a click on her empty time can book."""
    ids = DoctorService.objects.filter(branch=branch, doctor=doctor).values_list("service_id", flat=True)
    return list(Service.objects.filter(pk__in=ids, is_active=True).order_by("name"))


# --- the desk's search: a patient's next appointment -------------------------------------------
@dataclass(frozen=True)
class NextVisit:
    patient: Patient
    appointment: Appointment | None  # None: nothing booked ahead at a branch this user sees


def next_appointments(*, actor: Actor, q: str, now: datetime | None = None, limit: int = 10) -> list[NextVisit]:
    """The patients a search finds (name, MRN, phone or date of birth, as the patient search reads
    it), each with their next appointment still to come or under way at the branches this user
    sees. Raises the search's refusal (query_too_short) for a query it cannot search."""
    now = now or timezone.now()
    patients = list(patient_search(q=q)[:limit])
    upcoming = (
        appointment_list(actor=actor)
        .filter(patient__in=patients, kind=Kind.APPOINTMENT, status__in=UPCOMING, span__endswith__gt=now)
        .order_by("patient_id", "span")
        .distinct("patient_id")
    )
    first = {a.patient_id: a for a in upcoming}
    return [NextVisit(patient=p, appointment=first.get(p.pk)) for p in patients]
