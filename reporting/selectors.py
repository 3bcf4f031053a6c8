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

from reporting.models import (
    MONEY_FIGURES,
    VISIT_FIGURES,
    BranchDay,
    BranchMoneyDay,
    BranchServiceDay,
    DoctorDay,
    MessageDay,
    MoneyDay,
    ServiceDay,
)
from reporting.period import Grain, Period
from reporting.replica import reading_connection
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
    def cancelled_by_patient(self) -> int:
        return self.cancelled_early_patient + self.cancelled_late_patient

    @property
    def cancelled_by_clinic(self) -> int:
        return self.cancelled_early_clinic + self.cancelled_late_clinic

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
#
# Each read is one SQL statement summing rollup rows, over the smallest table that has the columns
# the read filters or groups by: a branch-level table (a row per branch and day) unless a doctor or
# a service is asked for. The statements are put together from constants, every value a parameter;
# the ORM is not used here because composing twenty summed expressions costs more than the read.


@dataclass(frozen=True)
class _Table:
    name: str
    keys: frozenset[str]
    sums: tuple[str, ...]


def _table(model: type[Any], sums: Sequence[str]) -> _Table:
    keys = {f.name for f in model._meta.local_fields} & {"branch_id", "doctor_id", "service_id"}
    return _Table(model._meta.db_table, frozenset(keys), tuple(sums))


_CAPACITY = (*VISIT_FIGURES, "capacity_minutes", "leave_minutes")
#: The visit tables, smallest first.
_VISIT_TABLES = (
    _table(BranchDay, _CAPACITY),
    _table(BranchServiceDay, VISIT_FIGURES),
    _table(DoctorDay, _CAPACITY),
    _table(ServiceDay, VISIT_FIGURES),
)
_MONEY_TABLES = (_table(BranchMoneyDay, MONEY_FIGURES), _table(MoneyDay, MONEY_FIGURES))
_MESSAGE_TABLE = _table(MessageDay, ("messages", "sent", "delivered", "failed"))
_LOAD_TABLE = _table(DoctorDay, ("capacity_minutes", "booked_minutes"))


def _smallest(tables: Sequence[_Table], needed: set[str]) -> _Table:
    return next(t for t in tables if needed <= t.keys)


_KEY_SQL = {
    Group.BRANCH: "branch_id",
    Group.DOCTOR: "doctor_id",
    Group.SERVICE: "service_id",
    Group.DAY: "day",
    Group.WEEK: "date_trunc('week', day::timestamp)::date",
    Group.MONTH: "date_trunc('month', day::timestamp)::date",
}


def _narrowing(reach: Reach, filters: Filters) -> dict[str, frozenset[int]]:
    """The columns a read is held to, and their values (none: the whole chain)."""
    out = {"branch_id": reach.branches(filters.branch_ids), "doctor_id": reach.doctors(filters.doctor_ids)}
    out["service_id"] = filters.service_ids
    return {k: v for k, v in out.items() if v is not None}


def _sum_rows(
    tables: Sequence[_Table],
    *,
    period: Period,
    keys: Sequence[str],
    narrowing: dict[str, frozenset[int]],
    by: Sequence[str] = (),
) -> tuple[_Table, list[tuple[Any, ...]]]:
    """Sums over the period's rows of the smallest table with the columns needed, one row per value
    of ``keys`` (SQL expressions; none: one row of the whole) and of the plain columns ``by``."""
    needed = {k for k in keys if k in ("branch_id", "doctor_id", "service_id")} | set(narrowing)
    table = _smallest(tables, needed)
    grouped = [*keys, *by]
    where = ["day BETWEEN %s AND %s"]
    params: list[Any] = [period.first, period.last]
    for column, values in narrowing.items():
        where.append(f"{column} = ANY(%s)")
        params.append(sorted(values))
    selected = [*grouped, *(f"coalesce(sum({c}), 0)" for c in table.sums)]
    sql = f"SELECT {', '.join(selected)} FROM {table.name} WHERE {' AND '.join(where)}"  # noqa: S608 - names are constants
    if grouped:
        positions = ", ".join(str(i + 1) for i in range(len(grouped)))
        sql += f" GROUP BY {positions} ORDER BY {positions}"
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return table, list(cursor.fetchall())


def figures_rows(*, actor: Actor, period: Period, group: Group, filters: Filters = Filters()) -> list[Row]:
    """Visit figures of a period, one row per ``group`` (ordered by key; days, weeks or months
    without any figure are there, as zeros, so a trend has no gaps)."""
    reach = figures_reach(actor=actor)
    narrowing = _narrowing(reach, filters)
    keys = [] if group == Group.CHAIN else [_KEY_SQL[group]]
    table, found = _sum_rows(_VISIT_TABLES, period=period, keys=keys, narrowing=narrowing)
    capacity = "capacity_minutes" in table.sums
    width = len(keys)
    rows: dict[Any, Figures] = {
        (r[0] if width else None): _figures(dict(zip(table.sums, r[width:], strict=True)), capacity=capacity)
        for r in found
    }
    if group in (Group.DAY, Group.WEEK, Group.MONTH):
        for bucket in _buckets(period, Grain(group.value)):
            rows.setdefault(bucket, Figures(capacity_minutes=0 if capacity else None))
    labels = _labels(group, rows)
    if group == Group.CHAIN:
        labels[None] = "All branches"
    return [Row(k, labels.get(k, "—"), rows[k]) for k in sorted(rows, key=_sort_key)]


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


def money_rows(*, actor: Actor, period: Period, group: Group, filters: Filters = Filters()) -> list[MoneyRow]:
    """Money of a period, one row per ``group`` and currency. Grouped by doctor or service, money
    of no visit (a package sale, items, a fee) is the row with key None."""
    reach = money_reach(actor=actor)
    keys = [] if group == Group.CHAIN else [_KEY_SQL[group]]
    table, found = _sum_rows(
        _MONEY_TABLES, period=period, keys=keys, narrowing=_narrowing(reach, filters), by=["currency"]
    )
    width = len(keys)
    labels = _labels(group, [r[0] for r in found] if width else [])
    if group == Group.CHAIN:
        labels[None] = "All branches"
    elif group in (Group.DOCTOR, Group.SERVICE):
        labels[None] = "Packages, items and fees"
    rows = [
        MoneyRow(
            r[0] if width else None,
            labels.get(r[0] if width else None, "—"),
            Money(r[width], **{n: int(v) for n, v in zip(table.sums, r[width + 1 :], strict=True)}),
        )
        for r in found
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
    _, found = _sum_rows(
        (_MESSAGE_TABLE,),
        period=period,
        keys=["channel", "kind"],
        narrowing={} if branches is None else {"branch_id": branches},
    )
    return [MessageRow(channel, kind, *map(int, sums)) for channel, kind, *sums in found]


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
    narrowing = _narrowing(figures_reach(actor=actor), filters)
    narrowing.pop("service_id", None)  # capacity is the doctor's, whatever the service
    _, rows = _sum_rows((_LOAD_TABLE,), period=period, keys=["doctor_id", "branch_id"], narrowing=narrowing)
    found = [{"doctor_id": d, "branch_id": b, "capacity": int(c), "booked": int(m)} for d, b, c, m in rows]
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
    branch/doctor/service, money; ``money`` empty for a reader without money figures. ``period``:
    the days every figure covers (of a period still running, its days so far)."""

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
    """Every figure of a dashboard over the same days: of a period still running, its days so far
    (``Dashboard.period``), so that a headline, the rows that add up to it and the appointments
    behind it count the same visits; the bookings ahead are the week-ahead load's."""
    shown = period.so_far(today)
    trend_group = Group(shown.grain.value)
    return Dashboard(
        period=shown,
        compared=_compared(actor, period, filters, today),
        trend=figures_rows(actor=actor, period=shown, group=trend_group, filters=filters),
        # day by day, the same weekdays whole weeks before; by week or month, the period before
        trend_before=figures_rows(
            actor=actor,
            period=shown.weeks_before() if shown.grain == Grain.DAY else period.previous(),
            group=trend_group,
            filters=filters,
        ),
        rows=figures_rows(actor=actor, period=shown, group=rows_by, filters=filters),
        services=figures_rows(actor=actor, period=shown, group=Group.SERVICE, filters=filters),
        money=_money_or_none(actor, shown, money_by, filters),
        money_total=_money_or_none(actor, shown, Group.CHAIN, filters),
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
