"""Keeping the rollup tables (reporting.models) equal to what the operational tables say.

Triggers leave a ``Dirty`` mark for every change a figure depends on (migration 0002). A refresh
takes the marks, turns them into cells and computes each cell whole, with one set-based statement
per kind of cell:

* a visit cell (branch, doctor, local day): its ``ServiceDay`` rows, then its ``DoctorDay`` row with
  the doctor's capacity (scheduling.capacity, the booking plan's own windows);
* a money cell (branch, local day): its ``MoneyDay`` rows;
* a message cell (branch or none, local day): its ``MessageDay`` rows;
* then, for every (branch, local day) whose visit or money cells were computed, its branch-level
  rows (``BranchDay``, ``BranchServiceDay``, ``BranchMoneyDay``) as the sums of the doctor-level
  rows just written.

Concurrency: every refresh and rebuild of a chain takes one transaction-scoped advisory lock first,
so two never interleave (a second one finds the lock taken and leaves the marks to the next run).
The marks are taken inside that transaction and each cell's statement runs after the take, so it
sees every change whose mark it took (READ COMMITTED: each statement reads what was committed when
it began, and a mark commits with its change). A change committing later leaves a mark for the next
run. Readers see the old figures of a cell or the new, never a half: the delete and the insert of a
cell commit together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from reporting.models import MONEY_FIGURES, VISIT_FIGURES, DoctorDay, ServiceDay
from scheduling.capacity import capacity_by_day
from scheduling.models import KEPT_STATUSES
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get

#: Rebook window: a completed visit counts as rebooked when the patient's next appointment was
#: booked no later than this after the visit ended (the figure is final once it has passed).
REBOOK_DAYS = 30
#: Days a refresh computes per statement, and marks it takes per transaction.
CHUNK = 2000
MARKS_PER_RUN = 20_000
#: How far ahead capacity (and so utilization) is kept: the plan's weeks to come.
AHEAD_DAYS = 92
#: The nightly repair computes again this many days back (and AHEAD_DAYS ahead).
REPAIR_DAYS = 35
#: How far back a change of the plan (a shift pattern back-dated) is carried into the figures.
HISTORY_DAYS = 800


class Scope(StrEnum):
    """What a Dirty mark is about (written by the triggers of migration 0002)."""

    VISIT = "visit"  # an appointment's cell: branch, doctor, at = its start; and, as PATIENT, its
    # patient's visits from day_from (UTC midnight)
    PATIENT = "patient"  # a patient's visits whose new/rebooked figures may change: at = from when
    # (written by the marks of migrations 0002 to 0005; still read, for marks waiting from then)
    VISIT_OF = "visit_of"  # the cell of appointment ref_id (its reminder was sent)
    LEAVE = "leave"  # a doctor's days day_from..day_to at every branch
    SHIFT = "shift"  # a doctor's days day_from..day_to (open-ended: None) at one branch
    HOURS = "hours"  # every doctor's days at one branch: day_from..day_to, or the weeks around today
    MONEY = "money"  # an invoice's issue: branch, at
    PAYMENT = "payment"  # a payment: ref_id = invoice, at
    REFUND = "refund"  # a refund: ref_id = payment, at
    CREDIT = "credit"  # a credit note: ref_id = invoice, at
    INVOICE_OF = "invoice_of"  # the money of appointment ref_id's invoice (its doctor or service changed)
    MESSAGE = "message"  # a message: branch (or none), at = when it is due


VisitCell = tuple[int, int, date]  # branch, doctor, day
DayCell = tuple[int | None, date]  # branch (None: the chain's own messages), day


@dataclass
class Cells:
    visits: set[VisitCell]
    money: set[DayCell]
    messages: set[DayCell]

    def __bool__(self) -> bool:
        return bool(self.visits or self.money or self.messages)


def _lock() -> bool:
    """This chain's rollup lock, for the rest of the transaction; False if another run holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('reporting.rollups'), hashtext(current_schema()))")
        return bool(cursor.fetchone()[0])


def _lock_wait() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('reporting.rollups'), hashtext(current_schema()))")


class _Zones:
    """Branch time zones, and the chain's for messages of no branch."""

    def __init__(self) -> None:
        self.by_branch = {pk: ZoneInfo(tz) for pk, tz in Branch.objects.values_list("pk", "timezone")}
        self.chain = ZoneInfo(chain_settings_get().default_timezone)

    def today(self) -> date:
        """Today on the chain's clock (the application's: the database's may differ)."""
        return timezone.now().astimezone(self.chain).date()

    def day(self, branch_id: int | None, at: datetime) -> date:
        tz = self.by_branch.get(branch_id, self.chain) if branch_id is not None else self.chain
        return at.astimezone(tz).date()


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _rows(sql: str, params: dict[str, Any] | list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _doctors_at(branch_id: int, first: date, last: date) -> set[int]:
    """The doctors who have a shift, an appointment or figures at a branch between two days."""
    rows = _rows(
        """
        SELECT doctor_id FROM scheduling_shiftpattern
         WHERE branch_id = %(b)s AND valid_from <= %(last)s AND (valid_until IS NULL OR valid_until >= %(first)s)
        UNION SELECT doctor_id FROM scheduling_extrashift
         WHERE branch_id = %(b)s AND date BETWEEN %(first)s AND %(last)s
        UNION SELECT doctor_id FROM reporting_doctorday WHERE branch_id = %(b)s AND day BETWEEN %(first)s AND %(last)s
        UNION SELECT DISTINCT doctor_id FROM scheduling_calendarentry
         WHERE branch_id = %(b)s AND kind = 'appointment'
           AND lower(span) >= %(first)s::date - 1 AND lower(span) < %(last)s::date + 2
        """,
        {"b": branch_id, "first": first, "last": last},
    )
    return {r[0] for r in rows}


def _branches_of(doctor_id: int, first: date, last: date) -> set[int]:
    rows = _rows(
        """
        SELECT branch_id FROM scheduling_shiftpattern
         WHERE doctor_id = %(d)s AND valid_from <= %(last)s AND (valid_until IS NULL OR valid_until >= %(first)s)
        UNION SELECT branch_id FROM scheduling_extrashift
         WHERE doctor_id = %(d)s AND date BETWEEN %(first)s AND %(last)s
        UNION SELECT branch_id FROM reporting_doctorday WHERE doctor_id = %(d)s AND day BETWEEN %(first)s AND %(last)s
        """,
        {"d": doctor_id, "first": first, "last": last},
    )
    return {r[0] for r in rows}


def _resolve(marks: Iterable[tuple[Any, ...]], zones: _Zones) -> Cells:
    """The cells a set of marks touches."""
    cells = Cells(set(), set(), set())
    by_scope: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for mark in marks:
        by_scope[mark[0]].append(mark)
    patients = defaultdict(list)
    for _, branch_id, doctor_id, patient_id, _, at, since, _ in by_scope[Scope.VISIT]:
        if branch_id is not None and at is not None:
            cells.visits.add((branch_id, doctor_id, zones.day(branch_id, at)))
        if patient_id is not None and since is not None:
            patients[patient_id].append(datetime.combine(since, time.min, UTC))
    for _, _, _, patient_id, _, at, _, _ in by_scope[Scope.PATIENT]:
        patients[patient_id].append(at)
    if patients:
        # A patient's visits whose figures another appointment of theirs can change: those that
        # ended less than REBOOK_DAYS before it was booked (rebooked), and their first two completed
        # visits (the first is the new-patient visit; a change can make the second the first).
        rows = _rows(
            """
            WITH p AS (SELECT * FROM unnest(%(ids)s::bigint[], %(since)s::timestamptz[]) AS p(patient_id, since))
            SELECT e.branch_id, e.doctor_id, lower(e.span) FROM p
              JOIN scheduling_calendarentry e ON e.patient_id = p.patient_id
             WHERE e.kind = 'appointment' AND e.status = 'completed' AND upper(e.span) >= p.since
            UNION
            SELECT f.branch_id, f.doctor_id, f.start FROM p CROSS JOIN LATERAL (
              SELECT e.branch_id, e.doctor_id, lower(e.span) AS start FROM scheduling_calendarentry e
               WHERE e.patient_id = p.patient_id AND e.kind = 'appointment' AND e.status = 'completed'
               ORDER BY lower(e.span), e.id LIMIT 2) f
            """,
            {"ids": list(patients), "since": [min(v) for v in patients.values()]},
        )
        cells.visits.update((b, d, zones.day(b, at)) for b, d, at in rows)
    refs = [m[4] for m in by_scope[Scope.VISIT_OF] if m[4] is not None]
    if refs:
        rows = _rows(
            "SELECT branch_id, doctor_id, lower(span) FROM scheduling_calendarentry WHERE id = ANY(%s)"
            " AND kind = 'appointment'",
            [refs],
        )
        cells.visits.update((b, d, zones.day(b, at)) for b, d, at in rows)
    today = zones.today()
    for scope in (Scope.LEAVE, Scope.SHIFT, Scope.HOURS):
        for _, branch_id, doctor_id, _, _, _, first, last in by_scope[scope]:
            # A plan change counts from as far back as history goes (weekly hours, which have no
            # dates: from REPAIR_DAYS back, what came before keeping the hours it was computed with)
            # to the horizon of the figures ahead.
            earliest = today - timedelta(days=HISTORY_DAYS if scope != Scope.HOURS else REPAIR_DAYS)
            first = max(first or earliest, earliest)
            last = min(last or today + timedelta(days=AHEAD_DAYS), today + timedelta(days=AHEAD_DAYS))
            if first > last:
                continue
            if scope == Scope.LEAVE:
                pairs = [(b, doctor_id) for b in _branches_of(doctor_id, first, last)]
            elif scope == Scope.SHIFT:
                pairs = [(branch_id, doctor_id)]
            else:
                pairs = [(branch_id, d) for d in _doctors_at(branch_id, first, last)]
            for b, d in pairs:
                cells.visits.update((b, d, day) for day in _days(first, last))
    for _, branch_id, _, _, _, at, _, _ in by_scope[Scope.MONEY]:
        if at is not None:
            cells.money.add((branch_id, zones.day(branch_id, at)))
    invoice_refs = {m[4]: m[5] for m in by_scope[Scope.PAYMENT] + by_scope[Scope.CREDIT]}
    payment_marks = [(m[4], m[5]) for m in by_scope[Scope.PAYMENT] + by_scope[Scope.CREDIT] if m[5] is not None]
    if payment_marks:
        branch_of = dict(
            _rows(
                "SELECT id, branch_id FROM invoicing_invoice WHERE id = ANY(%s)",
                [list(invoice_refs)],
            )
        )
        for invoice_id, at in payment_marks:
            if invoice_id in branch_of:
                cells.money.add((branch_of[invoice_id], zones.day(branch_of[invoice_id], at)))
    refund_marks = [(m[4], m[5]) for m in by_scope[Scope.REFUND] if m[5] is not None]
    if refund_marks:
        branch_of = dict(
            _rows(
                "SELECT p.id, i.branch_id FROM invoicing_payment p JOIN invoicing_invoice i ON i.id = p.invoice_id"
                " WHERE p.id = ANY(%s)",
                [[p for p, _ in refund_marks]],
            )
        )
        for payment_id, at in refund_marks:
            if payment_id in branch_of:
                cells.money.add((branch_of[payment_id], zones.day(branch_of[payment_id], at)))
    appointment_refs = [m[4] for m in by_scope[Scope.INVOICE_OF] if m[4] is not None]
    if appointment_refs:
        rows = _rows(
            """
            SELECT i.branch_id, i.issued_at FROM invoicing_invoice i WHERE i.appointment_id = ANY(%(a)s)
              AND i.issued_at IS NOT NULL
            UNION ALL SELECT i.branch_id, p.received_at FROM invoicing_invoice i
              JOIN invoicing_payment p ON p.invoice_id = i.id WHERE i.appointment_id = ANY(%(a)s)
            UNION ALL SELECT i.branch_id, r.at FROM invoicing_invoice i JOIN invoicing_payment p ON p.invoice_id = i.id
              JOIN invoicing_refund r ON r.payment_id = p.id WHERE i.appointment_id = ANY(%(a)s)
            UNION ALL SELECT i.branch_id, c.issued_at FROM invoicing_invoice i
              JOIN invoicing_creditnote c ON c.invoice_id = i.id WHERE i.appointment_id = ANY(%(a)s)
            """,
            {"a": appointment_refs},
        )
        cells.money.update((b, zones.day(b, at)) for b, at in rows)
    for _, branch_id, _, _, _, at, _, _ in by_scope[Scope.MESSAGE]:
        if at is not None:
            cells.messages.add((branch_id, zones.day(branch_id, at)))
    return cells


def _chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


# --- visit cells ------------------------------------------------------------------------------

_KEPT = "('" + "', '".join(KEPT_STATUSES) + "')"
_FIGURES = ", ".join(VISIT_FIGURES)

_VISITS_SQL = f"""
WITH cells AS (
    SELECT c.branch_id, c.doctor_id, c.day,
           (c.day::timestamp AT TIME ZONE b.timezone) AS lo,
           ((c.day + 1)::timestamp AT TIME ZONE b.timezone) AS hi
      FROM unnest(%(branches)s::bigint[], %(doctors)s::bigint[], %(days)s::date[]) AS c(branch_id, doctor_id, day)
      JOIN org_branch b ON b.id = c.branch_id
), entries AS (
    SELECT c.branch_id, c.doctor_id, c.day, e.id, e.service_id, e.patient_id, e.status, e.source,
           e.late_cancellation, e.cancelled_by_patient, e.span, e.status IN {_KEPT} AS kept,
           EXISTS (SELECT 1 FROM notifications_message m
                    WHERE m.appointment_id = e.id AND m.kind = 'reminder' AND m.sent_at IS NOT NULL) AS reminded
      FROM cells c
      -- each cell's own appointments through the (doctor, busy) index; OFFSET 0 keeps the planner
      -- from turning this into one join of every cell with every appointment of its doctors
      CROSS JOIN LATERAL (
          SELECT * FROM scheduling_calendarentry e
           WHERE e.doctor_id = c.doctor_id AND e.branch_id = c.branch_id AND e.kind = 'appointment'
             AND e.busy && tstzrange(c.lo - interval '1 day', c.hi + interval '1 day')
             AND lower(e.span) >= c.lo AND lower(e.span) < c.hi AND e.status NOT IN ('held', 'expired')
          OFFSET 0
      ) e
)
INSERT INTO reporting_serviceday (day, branch_id, doctor_id, service_id, {_FIGURES})
SELECT day, branch_id, doctor_id, service_id,
       count(*),
       count(*) FILTER (WHERE kept),
       coalesce(sum(extract(epoch FROM upper(span) - lower(span))) FILTER (WHERE kept), 0)::bigint / 60,
       count(*) FILTER (WHERE status = 'completed'),
       count(*) FILTER (WHERE status = 'no_show'),
       count(*) FILTER (WHERE status = 'cancelled' AND NOT late_cancellation AND cancelled_by_patient),
       count(*) FILTER (WHERE status = 'cancelled' AND NOT late_cancellation AND NOT cancelled_by_patient),
       count(*) FILTER (WHERE status = 'cancelled' AND late_cancellation AND cancelled_by_patient),
       count(*) FILTER (WHERE status = 'cancelled' AND late_cancellation AND NOT cancelled_by_patient),
       count(*) FILTER (WHERE source = 'online'),
       count(*) FILTER (WHERE source = 'walk_in'),
       count(*) FILTER (WHERE source = 'phone'),
       count(*) FILTER (WHERE source = 'waitlist'),
       count(*) FILTER (WHERE source = 'staff'),
       count(*) FILTER (WHERE status = 'completed' AND patient_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM scheduling_calendarentry p
            WHERE p.patient_id = entries.patient_id AND p.kind = 'appointment' AND p.status = 'completed'
              AND (lower(p.span), p.id) < (lower(entries.span), entries.id))),
       count(*) FILTER (WHERE status = 'completed' AND patient_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM scheduling_calendarentry n
            WHERE n.patient_id = entries.patient_id AND n.kind = 'appointment' AND n.status IN {_KEPT}
              AND lower(n.span) > lower(entries.span)
              AND n.created_at <= upper(entries.span) + interval '{REBOOK_DAYS} days')),
       count(*) FILTER (WHERE status IN ('completed', 'no_show') AND reminded),
       count(*) FILTER (WHERE status = 'no_show' AND reminded)
  FROM entries
 GROUP BY day, branch_id, doctor_id, service_id
"""  # noqa: S608 - built from constants; every value is a parameter

_DOCTOR_DAYS_SQL = f"""
INSERT INTO reporting_doctorday (day, branch_id, doctor_id, capacity_minutes, leave_minutes, {_FIGURES})
SELECT c.day, c.branch_id, c.doctor_id, c.capacity, c.leave,
       {", ".join(f"coalesce(sum(s.{name}), 0)" for name in VISIT_FIGURES)}
  FROM unnest(%(branches)s::bigint[], %(doctors)s::bigint[], %(days)s::date[], %(capacity)s::int[],
              %(leave)s::int[]) AS c(branch_id, doctor_id, day, capacity, leave)
  LEFT JOIN reporting_serviceday s ON s.branch_id = c.branch_id AND s.doctor_id = c.doctor_id AND s.day = c.day
 GROUP BY c.day, c.branch_id, c.doctor_id, c.capacity, c.leave
HAVING c.capacity > 0 OR c.leave > 0 OR count(s.id) > 0
"""  # noqa: S608 - built from constants; every value is a parameter

_CELL_DELETE = """
DELETE FROM {table} t
 USING unnest(%(branches)s::bigint[], %(doctors)s::bigint[], %(days)s::date[]) AS c(branch_id, doctor_id, day)
 WHERE t.branch_id = c.branch_id AND t.doctor_id = c.doctor_id AND t.day = c.day
"""


def _visit_cells_compute(cells: list[VisitCell], branches: dict[int, Branch]) -> None:
    params: dict[str, Any] = {
        "branches": [c[0] for c in cells],
        "doctors": [c[1] for c in cells],
        "days": [c[2] for c in cells],
    }
    capacity: dict[VisitCell, tuple[int, int]] = {}
    by_branch: dict[int, list[VisitCell]] = defaultdict(list)
    for cell in cells:
        by_branch[cell[0]].append(cell)
    for branch_id, branch_cells in by_branch.items():
        branch = branches.get(branch_id)
        if branch is None:
            continue
        computed = capacity_by_day(
            branch=branch, days={c[2] for c in branch_cells}, doctor_ids={c[1] for c in branch_cells}
        )
        for cell in branch_cells:
            found = computed.get((cell[1], cell[2]))
            capacity[cell] = (found.minutes, found.leave_minutes) if found else (0, 0)
    with connection.cursor() as cursor:
        cursor.execute(_CELL_DELETE.format(table=ServiceDay._meta.db_table), params)
        cursor.execute(_VISITS_SQL, params)
        cursor.execute(_CELL_DELETE.format(table=DoctorDay._meta.db_table), params)
        cursor.execute(
            _DOCTOR_DAYS_SQL,
            {
                **params,
                "capacity": [capacity.get(c, (0, 0))[0] for c in cells],
                "leave": [capacity.get(c, (0, 0))[1] for c in cells],
            },
        )


# --- money cells ------------------------------------------------------------------------------

_MONEY_SQL = """
WITH cells AS (
    SELECT c.branch_id, c.day,
           (c.day::timestamp AT TIME ZONE b.timezone) AS lo,
           ((c.day + 1)::timestamp AT TIME ZONE b.timezone) AS hi
      FROM unnest(%(branches)s::bigint[], %(days)s::date[]) AS c(branch_id, day)
      JOIN org_branch b ON b.id = c.branch_id
), facts AS (
    SELECT c.branch_id, c.day, i.appointment_id, i.currency,
           1 AS invoices, i.total_minor AS invoiced, 0 AS credited, 0 AS payments, 0 AS collected,
           0 AS refunds, 0 AS refunded
      FROM cells c JOIN invoicing_invoice i
        ON i.branch_id = c.branch_id AND i.issued_at >= c.lo AND i.issued_at < c.hi
     WHERE i.status NOT IN ('draft', 'void')
    UNION ALL
    SELECT c.branch_id, c.day, i.appointment_id, i.currency, 0, 0, n.amount_minor, 0, 0, 0, 0
      FROM cells c JOIN invoicing_invoice i ON i.branch_id = c.branch_id
      JOIN invoicing_creditnote n ON n.invoice_id = i.id AND n.issued_at >= c.lo AND n.issued_at < c.hi
    UNION ALL
    SELECT c.branch_id, c.day, i.appointment_id, p.currency, 0, 0, 0, 1, p.amount_minor, 0, 0
      FROM cells c JOIN invoicing_payment p ON p.received_at >= c.lo AND p.received_at < c.hi
      JOIN invoicing_invoice i ON i.id = p.invoice_id AND i.branch_id = c.branch_id
     WHERE p.status = 'succeeded'
    UNION ALL
    SELECT c.branch_id, c.day, i.appointment_id, p.currency, 0, 0, 0, 0, 0, 1, r.amount_minor
      FROM cells c JOIN invoicing_refund r ON r.at >= c.lo AND r.at < c.hi
      JOIN invoicing_payment p ON p.id = r.payment_id
      JOIN invoicing_invoice i ON i.id = p.invoice_id AND i.branch_id = c.branch_id
     WHERE r.status = 'succeeded'
)
INSERT INTO reporting_moneyday (day, branch_id, doctor_id, service_id, currency, invoices, invoiced_minor,
                                credited_minor, payments, collected_minor, refunds, refunded_minor)
SELECT f.day, f.branch_id, a.doctor_id, a.service_id, f.currency, sum(f.invoices), sum(f.invoiced),
       sum(f.credited), sum(f.payments), sum(f.collected), sum(f.refunds), sum(f.refunded)
  FROM facts f LEFT JOIN scheduling_calendarentry a ON a.id = f.appointment_id
 GROUP BY f.day, f.branch_id, a.doctor_id, a.service_id, f.currency
"""


def _money_cells_compute(cells: list[DayCell]) -> None:
    cells = [c for c in cells if c[0] is not None]
    params: dict[str, Any] = {"branches": [c[0] for c in cells], "days": [c[1] for c in cells]}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM reporting_moneyday t
             USING unnest(%(branches)s::bigint[], %(days)s::date[]) AS c(branch_id, day)
             WHERE t.branch_id = c.branch_id AND t.day = c.day
            """,
            params,
        )
        cursor.execute(_MONEY_SQL, params)


# --- message cells ----------------------------------------------------------------------------

_MESSAGES_SQL = """
WITH cells AS (
    SELECT c.branch_id, c.day,
           (c.day::timestamp AT TIME ZONE coalesce(b.timezone, %(chain_tz)s)) AS lo,
           ((c.day + 1)::timestamp AT TIME ZONE coalesce(b.timezone, %(chain_tz)s)) AS hi
      FROM unnest(%(branches)s::bigint[], %(days)s::date[]) AS c(branch_id, day)
      LEFT JOIN org_branch b ON b.id = c.branch_id
)
INSERT INTO reporting_messageday (day, branch_id, channel, kind, messages, sent, delivered, failed)
SELECT c.day, c.branch_id, m.channel, m.kind, count(*),
       count(*) FILTER (WHERE m.sent_at IS NOT NULL),
       count(*) FILTER (WHERE m.status = 'delivered'),
       count(*) FILTER (WHERE m.status IN ('failed', 'undelivered'))
  FROM cells c CROSS JOIN LATERAL (
       -- two arms, each an equality on branch_id, so both read the (branch, due_at) index
       SELECT m.channel, m.kind, m.sent_at, m.status FROM notifications_message m
        WHERE m.branch_id = c.branch_id AND m.due_at >= c.lo AND m.due_at < c.hi
       UNION ALL
       SELECT m.channel, m.kind, m.sent_at, m.status FROM notifications_message m
        WHERE c.branch_id IS NULL AND m.branch_id IS NULL AND m.due_at >= c.lo AND m.due_at < c.hi
  ) m
 GROUP BY c.day, c.branch_id, m.channel, m.kind
"""


def _message_cells_compute(cells: list[DayCell], chain_tz: str) -> None:
    params: dict[str, Any] = {"branches": [c[0] for c in cells], "days": [c[1] for c in cells], "chain_tz": chain_tz}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM reporting_messageday t
             USING unnest(%(branches)s::bigint[], %(days)s::date[]) AS c(branch_id, day)
             WHERE t.branch_id IS NOT DISTINCT FROM c.branch_id AND t.day = c.day
            """,
            params,
        )
        cursor.execute(_MESSAGES_SQL, params)


# --- branch-level rows -------------------------------------------------------------------------

_BRANCH_DELETE = """
DELETE FROM {target} t USING unnest(%(branches)s::bigint[], %(days)s::date[]) AS c(branch_id, day)
 WHERE t.branch_id = c.branch_id AND t.day = c.day
"""
_SUMS_OF = """
INSERT INTO {target} (day, branch_id, {keys}{columns})
SELECT s.day, s.branch_id, {keys}{sums}
  FROM unnest(%(branches)s::bigint[], %(days)s::date[]) AS c(branch_id, day)
  JOIN {source} s ON s.branch_id = c.branch_id AND s.day = c.day
 GROUP BY s.day, s.branch_id{group}
"""


def _sums_of(source: str, target: str, *, keys: tuple[str, ...], columns: list[str]) -> tuple[str, str]:
    """The statements that compute a branch-level table's rows again: the delete, the insert."""
    return _BRANCH_DELETE.format(target=target), _SUMS_OF.format(
        target=target,
        source=source,
        keys="".join(f"{k}, " for k in keys),
        columns=", ".join(columns),
        sums=", ".join(f"sum(s.{c})" for c in columns),
        group="".join(f", s.{k}" for k in keys),
    )


#: Each branch-level table from its doctor-level one (the keys kept besides branch and day, the
#: columns summed).
_BRANCH_LEVEL = {
    "visits": [
        _sums_of(
            "reporting_doctorday",
            "reporting_branchday",
            keys=(),
            columns=[*VISIT_FIGURES, "capacity_minutes", "leave_minutes"],
        ),
        _sums_of("reporting_serviceday", "reporting_branchserviceday", keys=("service_id",), columns=VISIT_FIGURES),
    ],
    "money": [_sums_of("reporting_moneyday", "reporting_branchmoneyday", keys=("currency",), columns=MONEY_FIGURES)],
}


def _branch_level_compute(kind: str, pairs: set[DayCell]) -> None:
    """The branch-level rows of some (branch, local day) pairs, summed from the doctor-level rows."""
    for chunk in _chunks(sorted(p for p in pairs if p[0] is not None)):
        params = {"branches": [c[0] for c in chunk], "days": [c[1] for c in chunk]}
        with connection.cursor() as cursor:
            for delete, insert in _BRANCH_LEVEL[kind]:
                cursor.execute(delete, params)
                cursor.execute(insert, params)


def _compute(cells: Cells) -> None:
    branches = {b.pk: b for b in Branch.objects.all()}
    for chunk in _chunks(sorted(cells.visits)):
        _visit_cells_compute(chunk, branches)
    _branch_level_compute("visits", {(b, day) for b, _, day in cells.visits})
    for chunk in _chunks(sorted(cells.money)):
        _money_cells_compute(chunk)
    _branch_level_compute("money", cells.money)
    chain_tz = chain_settings_get().default_timezone
    for chunk in _chunks(sorted(cells.messages, key=lambda c: (c[0] or 0, c[1]))):
        _message_cells_compute(chunk, chain_tz)


@dataclass(frozen=True)
class Refreshed:
    marks: int
    visit_cells: int
    money_cells: int
    message_cells: int
    locked_out: bool = False


def rollups_refresh(*, limit: int = MARKS_PER_RUN) -> Refreshed:
    """Compute again the cells the waiting marks touch (up to ``limit`` marks; the rest wait for the
    next run). Idempotent and safe to run concurrently with itself and with any change."""
    with transaction.atomic():
        if not _lock():
            return Refreshed(0, 0, 0, 0, locked_out=True)
        marks = _rows(
            """
            DELETE FROM reporting_dirty WHERE id IN (SELECT id FROM reporting_dirty ORDER BY id LIMIT %s)
            RETURNING scope, branch_id, doctor_id, patient_id, ref_id, at, day_from, day_to
            """,
            [limit],
        )
        if not marks:
            return Refreshed(0, 0, 0, 0)
        cells = _resolve(marks, _Zones())
        _compute(cells)
        return Refreshed(len(marks), len(cells.visits), len(cells.money), len(cells.messages))


def rollups_refresh_all() -> int:
    """Refresh until no mark waits (or another run holds the lock); the marks taken."""
    taken = 0
    while True:
        done = rollups_refresh()
        taken += done.marks
        if done.locked_out or done.marks < MARKS_PER_RUN:
            return taken


def _range_cells(first: date, last: date, zones: _Zones) -> Cells:
    """Every cell of the chain between two local days: each branch's doctors that had a shift, an
    appointment or figures there, every branch's money and messages."""
    cells = Cells(set(), set(), set())
    days = list(_days(first, last))
    for branch_id in zones.by_branch:
        for doctor_id in _doctors_at(branch_id, first, last):
            cells.visits.update((branch_id, doctor_id, day) for day in days)
        cells.money.update((branch_id, day) for day in days)
        cells.messages.update((branch_id, day) for day in days)
    cells.messages.update((None, day) for day in days)
    return cells


def rollups_rebuild(*, first: date, last: date) -> Cells:
    """Compute every cell between two local days again (waiting for a refresh in progress). The
    repair of anything a mark could have missed, and how a chain's figures are first filled."""
    with transaction.atomic():
        _lock_wait()
        cells = _range_cells(first, last, _Zones())
        _compute(cells)
        return cells


def rollups_repair(*, now: datetime | None = None) -> Cells:
    """The nightly repair: the last REPAIR_DAYS days and the AHEAD_DAYS to come (the plan's future
    days enter the capacity figures as they come into range)."""
    today = timezone.localdate(now or timezone.now(), ZoneInfo(chain_settings_get().default_timezone))
    return rollups_rebuild(first=today - timedelta(days=REPAIR_DAYS), last=today + timedelta(days=AHEAD_DAYS))
