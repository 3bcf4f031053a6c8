"""The figures of the dashboards, read from the rollup tables (reporting.models) only: whatever the
size of the calendar, a report sums a few hundred or thousand daily rows.

Every selector takes the reader (``actor``) and holds the query to what reporting.scope says they
may see; a filter asking for more is refused. Reads go to the read replica when one is configured
(reporting.replica).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek

from reporting.models import VISIT_FIGURES, DoctorDay, MessageDay, MoneyDay, ServiceDay
from reporting.period import Grain, Period
from reporting.replica import reading_alias
from reporting.scope import Reach, figures_reach, money_reach
from scheduling.models import Service
from tenants.authz import Actor
from tenants.org.models import Branch, StaffMember

#: A doctor is overloaded when she is booked for at least this share of her capacity.
OVERLOADED_FROM = 0.9


class Group(StrEnum):
    """What the rows of a report are: the whole chain in one row, or one row per branch, doctor,
    service, or day/week/month of the period."""

    CHAIN = "chain"
    BRANCH = "branch"
    DOCTOR = "doctor"
    SERVICE = "service"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Figures:
    """Visit figures summed over some cells (reporting.models.VisitFigures says what each counts).
    ``capacity_minutes`` is None where it has no meaning (a service has no capacity of its own)."""

    bookings: int = 0
    appointments: int = 0
    booked_minutes: int = 0
    completed: int = 0
    no_shows: int = 0
    cancelled_early_patient: int = 0
    cancelled_early_clinic: int = 0
    cancelled_late_patient: int = 0
    cancelled_late_clinic: int = 0
    source_online: int = 0
    source_walk_in: int = 0
    source_phone: int = 0
    source_waitlist: int = 0
    source_staff: int = 0
    new_patients: int = 0
    rebooked: int = 0
    outcomes_reminded: int = 0
    no_shows_reminded: int = 0
    capacity_minutes: int | None = 0
    leave_minutes: int | None = 0

    @property
    def utilization(self) -> float | None:
        """Booked minutes over capacity (over 1 when booked beyond the shifts)."""
        return _ratio(self.booked_minutes, self.capacity_minutes) if self.capacity_minutes else None

    @property
    def cancelled(self) -> int:
        return (
            self.cancelled_early_patient
            + self.cancelled_early_clinic
            + self.cancelled_late_patient
            + self.cancelled_late_clinic
        )

    @property
    def cancelled_late(self) -> int:
        return self.cancelled_late_patient + self.cancelled_late_clinic

    @property
    def outcomes(self) -> int:
        """Visits whose outcome is known: completed or missed."""
        return self.completed + self.no_shows

    @property
    def no_show_rate(self) -> float | None:
        return _ratio(self.no_shows, self.outcomes)

    @property
    def cancellation_rate(self) -> float | None:
        return _ratio(self.cancelled, self.bookings)

    @property
    def rebook_rate(self) -> float | None:
        return _ratio(self.rebooked, self.completed)

    @property
    def returning_patients(self) -> int:
        return self.completed - self.new_patients

    @property
    def no_show_rate_reminded(self) -> float | None:
        return _ratio(self.no_shows_reminded, self.outcomes_reminded)

    @property
    def no_show_rate_not_reminded(self) -> float | None:
        return _ratio(self.no_shows - self.no_shows_reminded, self.outcomes - self.outcomes_reminded)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in FIGURE_PROPERTIES:
            out[name] = getattr(self, name)
        return out


FIGURE_PROPERTIES = (
    "utilization",
    "cancelled",
    "cancelled_late",
    "outcomes",
    "no_show_rate",
    "cancellation_rate",
    "rebook_rate",
    "returning_patients",
    "no_show_rate_reminded",
    "no_show_rate_not_reminded",
)


@dataclass(frozen=True)
class Money:
    """Money summed over some cells in one currency (reporting.models.MoneyDay)."""

    currency: str
    invoices: int = 0
    invoiced_minor: int = 0
    credited_minor: int = 0
    payments: int = 0
    collected_minor: int = 0
    refunds: int = 0
    refunded_minor: int = 0

    @property
    def net_collected_minor(self) -> int:
        return self.collected_minor - self.refunded_minor

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["net_collected_minor"] = self.net_collected_minor
        return out


@dataclass(frozen=True)
class Row:
    """One row of a report: its key (a branch, doctor or service id, or the first day of a day,
    week or month; None for the whole chain or for money of no visit) and what to call it."""

    key: int | date | None
    label: str
    figures: Figures


@dataclass(frozen=True)
class MoneyRow:
    key: int | date | None
    label: str
    money: Money


@dataclass(frozen=True)
class Filters:
    """What a report is narrowed to (None: no narrowing beyond the reader's reach)."""

    branch_ids: frozenset[int] | None = None
    doctor_ids: frozenset[int] | None = None
    service_ids: frozenset[int] | None = None

    @classmethod
    def of(
        cls,
        *,
        branch_ids: Iterable[int] | None = None,
        doctor_ids: Iterable[int] | None = None,
        service_ids: Iterable[int] | None = None,
    ) -> Filters:
        return cls(
            None if branch_ids is None else frozenset(branch_ids),
            None if doctor_ids is None else frozenset(doctor_ids),
            None if service_ids is None else frozenset(service_ids),
        )


# --- labels -----------------------------------------------------------------------------------


def _branch_names(ids: Iterable[int]) -> dict[int, str]:
    return dict(Branch.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


def doctor_name(doctor: StaffMember) -> str:
    return doctor.user.get_full_name() or doctor.user.email


def _doctor_names(ids: Iterable[int]) -> dict[int, str]:
    return {d.pk: doctor_name(d) for d in StaffMember.objects.filter(pk__in=set(ids)).select_related("user")}


def _service_names(ids: Iterable[int]) -> dict[int, str]:
    return dict(Service.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


def _period_label(day: date, grain: Grain) -> str:
    if grain == Grain.MONTH:
        return f"{day:%b %Y}"
    if grain == Grain.WEEK:
        return f"Week of {day:%d %b %Y}"
    return f"{day:%a %d %b %Y}"


# --- the queries ------------------------------------------------------------------------------


def _narrowed(qs: QuerySet[Any], reach: Reach, filters: Filters, *, service: bool) -> QuerySet[Any]:
    branches = reach.branches(filters.branch_ids)
    doctors = reach.doctors(filters.doctor_ids)
    if branches is not None:
        qs = qs.filter(branch_id__in=branches)
    if doctors is not None:
        qs = qs.filter(doctor_id__in=doctors)
    if filters.service_ids is not None and service:
        qs = qs.filter(service_id__in=filters.service_ids)
    return qs


_GROUP_FIELD = {Group.BRANCH: "branch_id", Group.DOCTOR: "doctor_id", Group.SERVICE: "service_id"}


def _grouped(qs: QuerySet[Any], group: Group) -> tuple[QuerySet[Any], str | None]:
    if group == Group.CHAIN:
        return qs, None
    if group in _GROUP_FIELD:
        return qs.values(_GROUP_FIELD[group]), _GROUP_FIELD[group]
    if group == Group.DAY:
        return qs.values("day"), "day"
    trunc = TruncWeek("day") if group == Group.WEEK else TruncMonth("day")
    return qs.annotate(bucket=trunc).values("bucket"), "bucket"


def _labels(group: Group, keys: Iterable[Any]) -> dict[Any, str]:
    keys = [k for k in keys if k is not None]
    if group == Group.BRANCH:
        return dict(_branch_names(keys))
    if group == Group.DOCTOR:
        return dict(_doctor_names(keys))
    if group == Group.SERVICE:
        return dict(_service_names(keys))
    if group in (Group.DAY, Group.WEEK, Group.MONTH):
        return {k: _period_label(k, Grain(group.value)) for k in keys}
    return {}


def _as_date(value: Any) -> Any:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def figures_rows(*, actor: Actor, period: Period, group: Group, filters: Filters = Filters()) -> list[Row]:
    """Visit figures of a period, one row per ``group`` (ordered by key; days, weeks or months
    without any figure are there, as zeros, so a trend has no gaps)."""
    reach = figures_reach(actor=actor)
    by_service = group == Group.SERVICE or filters.service_ids is not None
    model = ServiceDay if by_service else DoctorDay
    qs = _narrowed(
        model.objects.using(reading_alias()).filter(day__range=(period.first, period.last)),
        reach,
        filters,
        service=by_service,
    )
    names = list(VISIT_FIGURES) + ([] if by_service else ["capacity_minutes", "leave_minutes"])
    sums = {name: Coalesce(Sum(name), 0) for name in names}
    grouped, key = _grouped(qs, group)
    if key is None:
        found: list[tuple[Any, dict[str, Any]]] = [(None, grouped.aggregate(**sums))]
    else:
        found = [(_as_date(r[key]), r) for r in grouped.annotate(**sums).order_by(key)]
    rows: dict[Any, Figures] = {k: _figures(values, capacity=not by_service) for k, values in found}
    if group in (Group.DAY, Group.WEEK, Group.MONTH):
        for bucket in _buckets(period, Grain(group.value)):
            rows.setdefault(bucket, Figures(capacity_minutes=None if by_service else 0))
    labels = _labels(group, rows)
    if group == Group.CHAIN:
        labels[None] = "All branches"
    return [Row(k, labels.get(k, "—"), rows[k]) for k in sorted(rows, key=_sort_key)]


def _sort_key(key: Any) -> tuple[int, Any]:
    return (0, key) if key is not None else (1, 0)


def _figures(values: dict[str, Any], *, capacity: bool) -> Figures:
    kwargs = {name: int(values.get(name) or 0) for name in VISIT_FIGURES}
    if capacity:
        kwargs["capacity_minutes"] = int(values.get("capacity_minutes") or 0)
        kwargs["leave_minutes"] = int(values.get("leave_minutes") or 0)
        return Figures(**kwargs)
    return Figures(**kwargs, capacity_minutes=None, leave_minutes=None)


def _buckets(period: Period, grain: Grain) -> list[date]:
    out: list[date] = []
    day = period.first
    while day <= period.last:
        if grain == Grain.DAY:
            bucket = day
        elif grain == Grain.WEEK:
            bucket = day - timedelta(days=day.weekday())
        else:
            bucket = day.replace(day=1)
        if not out or out[-1] != bucket:
            out.append(bucket)
        day += timedelta(days=1)
    return out


def figures_total(*, actor: Actor, period: Period, filters: Filters = Filters()) -> Figures:
    return figures_rows(actor=actor, period=period, group=Group.CHAIN, filters=filters)[0].figures


_MONEY_FIELDS = (
    "invoices",
    "invoiced_minor",
    "credited_minor",
    "payments",
    "collected_minor",
    "refunds",
    "refunded_minor",
)


def money_rows(*, actor: Actor, period: Period, group: Group, filters: Filters = Filters()) -> list[MoneyRow]:
    """Money of a period, one row per ``group`` and currency. Grouped by doctor or service, money
    of no visit (a package sale, items, a fee) is the row with key None."""
    reach = money_reach(actor=actor)
    qs = _narrowed(
        MoneyDay.objects.using(reading_alias()).filter(day__range=(period.first, period.last)),
        reach,
        filters,
        service=True,
    )
    grouped, key = _grouped(qs, group)
    sums = {name: Coalesce(Sum(name), 0) for name in _MONEY_FIELDS}
    if key is None:
        found = [(None, r) for r in qs.values("currency").annotate(**sums).order_by("currency")]
    else:
        found = [
            (_as_date(r[key]), r)
            for r in grouped.annotate(**sums).values(key, "currency", *_MONEY_FIELDS).order_by(key, "currency")
        ]
    labels = _labels(group, [k for k, _ in found])
    if group == Group.CHAIN:
        labels[None] = "All branches"
    elif group in (Group.DOCTOR, Group.SERVICE):
        labels[None] = "Packages, items and fees"
    rows = [
        MoneyRow(k, labels.get(k, "—"), Money(r["currency"], **{n: int(r[n]) for n in _MONEY_FIELDS})) for k, r in found
    ]
    return sorted(rows, key=lambda r: (_sort_key(r.key), r.money.currency))


@dataclass(frozen=True)
class MessageRow:
    channel: str
    kind: str
    messages: int
    sent: int
    delivered: int
    failed: int

    @property
    def delivery_rate(self) -> float | None:
        return _ratio(self.delivered, self.sent)


def message_rows(*, actor: Actor, period: Period, filters: Filters = Filters()) -> list[MessageRow]:
    """Messages due in the period by channel and kind: written, sent, delivered, failed. The chain's
    own messages (no branch: sign-in codes) count for readers of every branch only."""
    reach = figures_reach(actor=actor)
    if reach.doctor_id is not None:
        return []  # messages are the branch's, not one doctor's
    branches = reach.branches(filters.branch_ids)
    qs = MessageDay.objects.using(reading_alias()).filter(day__range=(period.first, period.last))
    if branches is not None:
        qs = qs.filter(branch_id__in=branches)
    found = (
        qs.values("channel", "kind")
        .annotate(**{n: Coalesce(Sum(n), 0) for n in ("messages", "sent", "delivered", "failed")})
        .order_by("channel", "kind")
    )
    return [MessageRow(r["channel"], r["kind"], r["messages"], r["sent"], r["delivered"], r["failed"]) for r in found]


@dataclass(frozen=True)
class DoctorLoad:
    doctor_id: int
    doctor: str
    branch_id: int
    branch: str
    capacity_minutes: int
    booked_minutes: int

    @property
    def utilization(self) -> float | None:
        return _ratio(self.booked_minutes, self.capacity_minutes)

    @property
    def overloaded(self) -> bool:
        return self.booked_minutes > 0 and (
            self.capacity_minutes == 0 or self.booked_minutes >= OVERLOADED_FROM * self.capacity_minutes
        )


def doctors_load(*, actor: Actor, period: Period, filters: Filters = Filters()) -> list[DoctorLoad]:
    """Each doctor's booked minutes against her capacity at each branch over a period (the week ahead,
    on the dashboards), the most loaded first."""
    reach = figures_reach(actor=actor)
    qs = _narrowed(
        DoctorDay.objects.using(reading_alias()).filter(day__range=(period.first, period.last)),
        reach,
        filters,
        service=False,
    )
    found = list(
        qs.values("doctor_id", "branch_id").annotate(
            capacity=Coalesce(Sum("capacity_minutes"), 0), booked=Coalesce(Sum("booked_minutes"), 0)
        )
    )
    doctors = _doctor_names(r["doctor_id"] for r in found)
    branches = _branch_names(r["branch_id"] for r in found)
    loads = [
        DoctorLoad(
            r["doctor_id"],
            doctors.get(r["doctor_id"], "—"),
            r["branch_id"],
            branches.get(r["branch_id"], "—"),
            r["capacity"],
            r["booked"],
        )
        for r in found
    ]
    return sorted(loads, key=lambda x: (-(x.utilization or (9.0 if x.booked_minutes else 0.0)), x.doctor))


# --- the dashboards ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    """A period's figures beside the previous period's."""

    period: Period
    previous: Period
    figures: Figures
    before: Figures


@dataclass(frozen=True)
class Dashboard:
    """What a dashboard shows: the totals compared with the previous period, a trend, rows per
    branch/doctor/service, money; ``money`` empty for a reader without money figures."""

    period: Period
    compared: Compared
    trend: list[Row]
    trend_before: list[Row]
    rows: list[Row]
    services: list[Row]
    money: list[MoneyRow]
    money_total: list[MoneyRow]
    money_before: list[MoneyRow]
    extra: dict[str, Any] = field(default_factory=dict)


def _compared(actor: Actor, period: Period, filters: Filters, today: date | None) -> Compared:
    """The period's figures against the previous period's; of a period still running, its days so
    far against as many first days of the one before."""
    shown, previous = period.so_far(today), period.previous_so_far(today)
    return Compared(
        shown,
        previous,
        figures_total(actor=actor, period=shown, filters=filters),
        figures_total(actor=actor, period=previous, filters=filters),
    )


def _money_or_none(actor: Actor, period: Period, group: Group, filters: Filters) -> list[MoneyRow]:
    if not actor.has_perm("reporting.view_money"):
        return []
    return money_rows(actor=actor, period=period, group=group, filters=filters)


def _dashboard(
    actor: Actor, period: Period, filters: Filters, rows_by: Group, money_by: Group, today: date | None
) -> Dashboard:
    trend_group = Group(period.grain.value)
    previous = period.previous()
    return Dashboard(
        period=period,
        compared=_compared(actor, period, filters, today),
        trend=figures_rows(actor=actor, period=period, group=trend_group, filters=filters),
        # day by day, the same weekdays whole weeks before; by week or month, the period before
        trend_before=figures_rows(
            actor=actor,
            period=period.weeks_before() if period.grain == Grain.DAY else previous,
            group=trend_group,
            filters=filters,
        ),
        rows=figures_rows(actor=actor, period=period, group=rows_by, filters=filters),
        services=figures_rows(actor=actor, period=period, group=Group.SERVICE, filters=filters),
        money=_money_or_none(actor, period, money_by, filters),
        money_total=_money_or_none(actor, period, Group.CHAIN, filters),
        # money is never taken ahead: the period's so far is all of it, against the same days before
        money_before=_money_or_none(actor, period.previous_so_far(today), Group.CHAIN, filters),
    )


def figures_overview(
    *, actor: Actor, period: Period, branch_ids: Sequence[int] | None = None, today: date | None = None
) -> Dashboard:
    """The owner's overview: every branch (or those chosen, to compare two) side by side. `today`
    (the chain's): a period still running is compared so far (Period.previous_so_far)."""
    return _dashboard(actor, period, Filters.of(branch_ids=branch_ids), Group.BRANCH, Group.BRANCH, today)


def figures_branch(*, actor: Actor, branch_id: int, period: Period, today: date | None = None) -> Dashboard:
    """A branch's dashboard: its doctors side by side, its services, its money by doctor."""
    return _dashboard(actor, period, Filters.of(branch_ids=[branch_id]), Group.DOCTOR, Group.DOCTOR, today)


def figures_doctor(
    *, actor: Actor, doctor_id: int, period: Period, branch_id: int | None = None, today: date | None = None
) -> Dashboard:
    """A doctor's figures (at one branch, or all she works at): by branch, by service, her money
    by service."""
    filters = Filters.of(doctor_ids=[doctor_id], branch_ids=None if branch_id is None else [branch_id])
    return _dashboard(actor, period, filters, Group.BRANCH, Group.SERVICE, today)


def rows_with_figure(rows: Iterable[Row]) -> list[Row]:
    """Rows that have anything to show (a doctor with neither capacity nor bookings is left out)."""
    return [r for r in rows if r.figures.bookings or r.figures.capacity_minutes]
