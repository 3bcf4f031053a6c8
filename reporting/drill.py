"""The appointments behind a figure: the visits a dashboard's number counts, listed.

The figures are read from the rollups (reporting.selectors); their list is read from the calendar
itself, with the definitions reporting.rollups computes the rollups with (its ``_VISITS_SQL``), so
that the list behind a figure has as many appointments as the figure says:

* an appointment belongs to the local day of its start in its branch's zone, and the period's days
  are cut at each branch's own midnights, computed by PostgreSQL as the rollups compute them;
* a booking is any appointment made for the day (held and expired holds are no bookings); those kept
  are ``scheduling.models.KEPT_STATUSES``;
* a new patient's visit is a completed visit with no completed visit of the patient before it
  (by start, then id); a returning patient's is any other completed visit;
* a rebooked visit is a completed visit after which the patient has a kept appointment starting later
  that was booked no later than ``REBOOK_DAYS`` after the visit ended;
* a reminded visit had a reminder sent (``notifications.Message`` of kind reminder with ``sent_at``).

A reader sees what reporting.scope says: the branches within reach (a filter beyond them is refused)
and, for a doctor, her own appointments only. Billing has no visit figures and so no list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Func, QuerySet
from django.db.models.expressions import RawSQL

from config.errors import ValidationFailed
from reporting.export import Column, Format, Kind, export_format
from reporting.period import Period
from reporting.replica import reading_alias
from reporting.rollups import REBOOK_DAYS
from reporting.scope import figures_reach
from reporting.selectors import Figures, Filters, doctor_name
from scheduling.models import KEPT_STATUSES, Appointment, Source, Status
from tenants.authz import Actor


class Figure(StrEnum):
    """The figures that count appointments (reporting.models.VisitFigures and the sums
    reporting.selectors.Figures makes of them)."""

    BOOKINGS = "bookings"
    APPOINTMENTS = "appointments"
    COMPLETED = "completed"
    NO_SHOWS = "no_shows"
    OUTCOMES = "outcomes"
    CANCELLED = "cancelled"
    CANCELLED_EARLY = "cancelled_early"
    CANCELLED_LATE = "cancelled_late"
    CANCELLED_EARLY_PATIENT = "cancelled_early_patient"
    CANCELLED_EARLY_CLINIC = "cancelled_early_clinic"
    CANCELLED_LATE_PATIENT = "cancelled_late_patient"
    CANCELLED_LATE_CLINIC = "cancelled_late_clinic"
    SOURCE_ONLINE = "source_online"
    SOURCE_WALK_IN = "source_walk_in"
    SOURCE_PHONE = "source_phone"
    SOURCE_WAITLIST = "source_waitlist"
    SOURCE_STAFF = "source_staff"
    NEW_PATIENTS = "new_patients"
    RETURNING_PATIENTS = "returning_patients"
    REBOOKED = "rebooked"
    OUTCOMES_REMINDED = "outcomes_reminded"
    NO_SHOWS_REMINDED = "no_shows_reminded"
    NO_SHOWS_NOT_REMINDED = "no_shows_not_reminded"


_KEPT = "('" + "', '".join(KEPT_STATUSES) + "')"
_CANCELLED = "e.status = 'cancelled'"
_OUTCOME = "e.status IN ('completed', 'no_show')"
# Each a condition on ``e`` (scheduling_calendarentry), as reporting.rollups counts it.
_EARLIER_COMPLETED = """EXISTS (
    SELECT 1 FROM scheduling_calendarentry p
     WHERE p.patient_id = e.patient_id AND p.kind = 'appointment' AND p.status = 'completed'
       AND (lower(p.span), p.id) < (lower(e.span), e.id))"""
_NEW = f"e.status = 'completed' AND e.patient_id IS NOT NULL AND NOT {_EARLIER_COMPLETED}"
_REBOOKED = f"""e.status = 'completed' AND e.patient_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM scheduling_calendarentry n
     WHERE n.patient_id = e.patient_id AND n.kind = 'appointment' AND n.status IN {_KEPT}
       AND lower(n.span) > lower(e.span)
       AND n.created_at <= upper(e.span) + interval '{REBOOK_DAYS} days')"""  # noqa: S608 - constants only
_REMINDED = """EXISTS (SELECT 1 FROM notifications_message m
    WHERE m.appointment_id = e.id AND m.kind = 'reminder' AND m.sent_at IS NOT NULL)"""

CONDITIONS: dict[Figure, str] = {
    Figure.BOOKINGS: "TRUE",
    Figure.APPOINTMENTS: f"e.status IN {_KEPT}",
    Figure.COMPLETED: "e.status = 'completed'",
    Figure.NO_SHOWS: "e.status = 'no_show'",
    Figure.OUTCOMES: _OUTCOME,
    Figure.CANCELLED: _CANCELLED,
    Figure.CANCELLED_EARLY: f"{_CANCELLED} AND NOT e.late_cancellation",
    Figure.CANCELLED_LATE: f"{_CANCELLED} AND e.late_cancellation",
    Figure.CANCELLED_EARLY_PATIENT: f"{_CANCELLED} AND NOT e.late_cancellation AND e.cancelled_by_patient",
    Figure.CANCELLED_EARLY_CLINIC: f"{_CANCELLED} AND NOT e.late_cancellation AND NOT e.cancelled_by_patient",
    Figure.CANCELLED_LATE_PATIENT: f"{_CANCELLED} AND e.late_cancellation AND e.cancelled_by_patient",
    Figure.CANCELLED_LATE_CLINIC: f"{_CANCELLED} AND e.late_cancellation AND NOT e.cancelled_by_patient",
    Figure.SOURCE_ONLINE: "e.source = 'online'",
    Figure.SOURCE_WALK_IN: "e.source = 'walk_in'",
    Figure.SOURCE_PHONE: "e.source = 'phone'",
    Figure.SOURCE_WAITLIST: "e.source = 'waitlist'",
    Figure.SOURCE_STAFF: "e.source = 'staff'",
    Figure.NEW_PATIENTS: _NEW,
    # Figures.returning_patients is completed less new patients: completed visits that are not new.
    Figure.RETURNING_PATIENTS: f"e.status = 'completed' AND NOT ({_NEW})",
    Figure.REBOOKED: _REBOOKED,
    Figure.OUTCOMES_REMINDED: f"{_OUTCOME} AND {_REMINDED}",
    Figure.NO_SHOWS_REMINDED: f"e.status = 'no_show' AND {_REMINDED}",
    Figure.NO_SHOWS_NOT_REMINDED: f"e.status = 'no_show' AND NOT {_REMINDED}",
}


def figure_value(figures: Figures, figure: Figure | str) -> int:
    """The number a figure's list has as many appointments as (its link's count on a dashboard)."""
    figure = Figure(figure)
    if figure == Figure.CANCELLED_EARLY:
        return figures.cancelled_early_patient + figures.cancelled_early_clinic
    if figure == Figure.NO_SHOWS_NOT_REMINDED:
        return figures.no_shows - figures.no_shows_reminded
    return int(getattr(figures, figure.value))


#: What each figure's list is called on a page or in a file name.
FIGURE_LABELS: dict[Figure, str] = {
    Figure.BOOKINGS: "Bookings",
    Figure.APPOINTMENTS: "Appointments not cancelled",
    Figure.COMPLETED: "Completed visits",
    Figure.NO_SHOWS: "No-shows",
    Figure.OUTCOMES: "Completed or missed",
    Figure.CANCELLED: "Cancelled",
    Figure.CANCELLED_EARLY: "Cancelled early",
    Figure.CANCELLED_LATE: "Cancelled late",
    Figure.CANCELLED_EARLY_PATIENT: "Cancelled early by the patient",
    Figure.CANCELLED_EARLY_CLINIC: "Cancelled early by the clinic",
    Figure.CANCELLED_LATE_PATIENT: "Cancelled late by the patient",
    Figure.CANCELLED_LATE_CLINIC: "Cancelled late by the clinic",
    Figure.SOURCE_ONLINE: "Booked online",
    Figure.SOURCE_WALK_IN: "Walk-ins",
    Figure.SOURCE_PHONE: "Booked by phone",
    Figure.SOURCE_WAITLIST: "Booked from the waitlist",
    Figure.SOURCE_STAFF: "Booked by staff",
    Figure.NEW_PATIENTS: "New patients' first visits",
    Figure.RETURNING_PATIENTS: "Returning patients' visits",
    Figure.REBOOKED: "Visits rebooked within 30 days",
    Figure.OUTCOMES_REMINDED: "Completed or missed, reminded",
    Figure.NO_SHOWS_REMINDED: "No-shows after a reminder",
    Figure.NO_SHOWS_NOT_REMINDED: "No-shows without a reminder",
}

# The period's bounds at each branch are the instants of its own midnights, computed as the rollups
# compute a day's cell ('day'::timestamp AT TIME ZONE the branch's zone); ``span &&`` lets the
# (branch, span) GiST index find the rows, the bounds on lower(span) decide.
_IDS_SQL = """
SELECT e.id
  FROM scheduling_calendarentry e
  JOIN org_branch b ON b.id = e.branch_id
 CROSS JOIN LATERAL (SELECT (%s::date::timestamp AT TIME ZONE b.timezone) AS lo,
                            ((%s::date + 1)::timestamp AT TIME ZONE b.timezone) AS hi) w
 WHERE e.kind = 'appointment' AND e.status NOT IN ('held', 'expired')
   AND e.span && tstzrange(w.lo, w.hi)
   AND lower(e.span) >= w.lo AND lower(e.span) < w.hi
   AND {narrowed}
   AND ({condition})
"""


def _ids_sql(
    period: Period,
    figure: Figure,
    branches: frozenset[int] | None,
    doctors: frozenset[int] | None,
    services: frozenset[int] | None,
) -> tuple[str, list[Any]]:
    narrowed = ["TRUE"]
    params: list[Any] = [period.first, period.last]
    for column, ids in (("branch_id", branches), ("doctor_id", doctors), ("service_id", services)):
        if ids is not None:
            narrowed.append(f"e.{column} = ANY(%s)")
            params.append(sorted(ids))
    return _IDS_SQL.format(narrowed=" AND ".join(narrowed), condition=CONDITIONS[figure]), params


def appointments_behind(
    *, actor: Actor, period: Period, figure: Figure | str, filters: Filters | None = None
) -> QuerySet[Appointment]:
    """The appointments a figure of ``period`` counts, in the reader's reach and narrowed by
    ``filters`` as the figure was: ordered by start, with their branch, doctor, service and patient.
    Refused as the figures are: 403 without visit figures, or for a branch or doctor beyond reach."""
    filters = filters or Filters()
    reach = figures_reach(actor=actor)
    branches = reach.branches(filters.branch_ids)
    doctors = reach.doctors(filters.doctor_ids)
    sql, params = _ids_sql(period, Figure(figure), branches, doctors, filters.service_ids)
    return (
        Appointment.objects.using(reading_alias())
        .filter(pk__in=RawSQL(sql, params))  # noqa: S611 - built from constants; every value is a parameter
        .select_related("branch", "doctor__user", "service", "patient")
        .only(*BEHIND_READ)
        .order_by(Func(F("span"), function="lower"), "pk")
    )


#: The columns a list and its file read: tens of thousands of rows in a file, so not the whole of
#: each appointment, patient and doctor.
BEHIND_READ = (
    "span",
    "status",
    "source",
    "cancelled_by_patient",
    "late_cancellation",
    "branch__name",
    "branch__timezone",
    "doctor__user__first_name",
    "doctor__user__last_name",
    "doctor__user__email",
    "service__name",
    "patient__first_name",
    "patient__last_name",
    "patient__mrn",
)


# --- what a list shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentBehind:
    """One appointment of a figure's list, as the list shows it: its start on its branch's clock."""

    id: int
    start: datetime
    end: datetime
    branch_id: int
    branch: str
    doctor_id: int
    doctor: str
    service_id: int
    service: str
    patient_id: int | None
    patient: str
    mrn: str
    status: str
    source: str
    #: "patient" or "clinic" for a cancelled appointment, else None.
    cancelled_by: str | None
    late_cancellation: bool | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def export_row(self) -> dict[str, Any]:
        """The row as a file shows it: statuses and sources as people read them."""
        return {
            **self.as_dict(),
            "status": Status(self.status).label,
            "source": Source(self.source).label,
            "late_cancellation": "" if self.late_cancellation is None else ("yes" if self.late_cancellation else "no"),
        }


def behind_rows(appointments: Iterable[Appointment]) -> list[AppointmentBehind]:
    """The rows of a list (a page of ``appointments_behind``)."""
    rows = []
    zones: dict[str, ZoneInfo] = {}
    for a in appointments:
        tz = zones.setdefault(a.branch.timezone, ZoneInfo(a.branch.timezone)) if a.branch else None
        cancelled = a.status == Status.CANCELLED
        rows.append(
            AppointmentBehind(
                id=a.pk,
                start=a.span.lower.astimezone(tz),
                end=a.span.upper.astimezone(tz),
                branch_id=a.branch_id or 0,
                branch=a.branch.name if a.branch else "",
                doctor_id=a.doctor_id,
                doctor=doctor_name(a.doctor),
                service_id=a.service_id or 0,
                service=a.service.name if a.service else "",
                patient_id=a.patient_id,
                patient=str(a.patient) if a.patient else "",
                mrn=a.patient.mrn if a.patient else "",
                status=a.status,
                source=a.source,
                cancelled_by=("patient" if a.cancelled_by_patient else "clinic") if cancelled else None,
                late_cancellation=a.late_cancellation if cancelled else None,
            )
        )
    return rows


#: The most appointments one file holds: each row is read, written and access-logged while the reader
#: waits (about 0.5 ms a row in all: 10,000 rows in about 5 s); a longer list is narrowed first.
EXPORT_MAX_APPOINTMENTS = {Format.CSV: 10_000, Format.XLSX: 10_000}


def behind_file_rows(appointments: QuerySet[Appointment], fmt: str | Format) -> list[AppointmentBehind]:
    """Every row of a list for its file (the API's and the page's download alike), read in chunks;
    a list longer than a file holds is refused before anything is read (400, on ``to``)."""
    chosen = export_format(fmt)
    most = EXPORT_MAX_APPOINTMENTS[chosen]
    if appointments.count() > most:
        raise ValidationFailed(
            f"A {chosen.value.upper()} file holds at most {most:,} appointments: choose a shorter period or a branch.",
            fields={"to": ["Choose a shorter period."]},
        )
    return behind_rows(appointments.iterator(chunk_size=2000))


BEHIND_COLUMNS = [
    Column("start", "Start", Kind.DATETIME),
    Column("branch", "Branch"),
    Column("doctor", "Doctor"),
    Column("service", "Service"),
    Column("patient", "Patient"),
    Column("mrn", "MRN"),
    Column("status", "Status"),
    Column("source", "Source"),
    Column("cancelled_by", "Cancelled by"),
    Column("late_cancellation", "Late cancellation"),
    Column("id", "Appointment", Kind.INT),
]
