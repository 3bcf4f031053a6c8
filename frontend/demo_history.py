"""A clinic chain's past, written in bulk: two years of visits, patients, money and messages, so the
dashboards tell a story on first open (`make demo`) and the reporting benchmark has millions of
visits to read (bench/reporting.py). The same generator serves both, at the scale of its plan.

What ``history_write`` writes, day by day, for the doctors with shifts in the chain:

* appointments on each doctor's shifts while the branch is open, on the branch's own clock (each
  day's wall-clock hours are turned into UTC with ``scheduling.intervals.wall_clock``, so the days
  the clocks change are right), buffers inside the shift, a room for the services that need one:
  completed, missed, cancelled early or late by the patient or by the clinic (a time cancelled
  early often goes to someone else, from the waitlist or the phone), made online, by phone, by
  staff, from the waitlist or as walk-ins, some days ahead of the visit; in the days to come, kept
  bookings (``days_ahead``);
* patients: a pool that was there before and grows as new patients arrive, and patients who come
  back (booked at the desk on their way out, or later online), some for a course of a package;
* leave (two weeks each summer, a week over the new year for some, a sick day now and then) and
  the public holidays the branches were closed (special days);
* the ledger: each completed visit's invoice, issued on its day at the branch's price with the
  chain's default tax, most paid at the desk that day, some later, some not yet (aged
  receivables), a few credited, refunded or voided; package sales with their invoices, and the
  visits a package covers invoiced at zero;
* messages: each booking's confirmation (not a walk-in's) when it was made, a reminder a day
  before when it was booked that far ahead (delivered, or failed), the clinic's cancellations told;
* follow-ups after some visits: done, cancelled, or still open (the overdue ones are the backlog).

The story the figures tell: the chain grows over the two years (more of each doctor's time booked,
more of it online), August and the last days of December are quiet, one branch cancels much more
than the others (``cancel_heavy_branch``), one doctor's patients miss their visits more often
(``no_show_doctor``), a reminder sent makes a no-show about three times less likely, and one doctor
is overbooked from tomorrow to the end of next week (``overloaded_doctor``: every free time taken,
then patients squeezed in as deliberate double bookings with their reason).

Rows go in with COPY (psycopg's ``cursor.copy``), a week at a time, in the caller's transaction (or
each COPY on its own in autocommit: the benchmark's millions). Ids come from each table's own
sequence, and invoice and credit note numbers from the chain's counters, as many as are used, so
the numbers stay gap-free. Every constraint of the tables holds, the exclusion constraints
included (they judge every row as it goes in). No change history is written for the past.
``marks_paused`` keeps the reporting triggers from marking each row (only the owner role may); the
caller then computes the figures of the whole period (``reporting.rollups.rollups_rebuild``).

Deterministic: one seeded ``random.Random``, and every date taken from the run's clock (``now``).
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from invoicing.models import TaxRate
from invoicing.services.numbering import PREFIXES, Sequence
from notifications.placeholders import local_time
from notifications.policy import language_of
from packages.models import PackageProduct
from scheduling import intervals as iv
from scheduling.intervals import Interval
from scheduling.models import (
    ACTIVE_STATUSES,
    KEPT_STATUSES,
    BranchHours,
    CalendarEntry,
    DoctorService,
    ExtraShift,
    Kind,
    Room,
    SchedulingPolicy,
    Service,
    ServicePrice,
    ShiftPattern,
    SpecialDay,
)
from tenants.db import owner_connection
from tenants.org.models import Branch, StaffMember
from tenants.org.selectors import chain_settings_get
from tenants.selectors import current_clinic_url

#: How far back the demo's history reaches.
HISTORY_DAYS = 730
#: The tables whose reporting triggers ``marks_paused`` holds back while history goes in.
MARKED_TABLES = (
    "scheduling_calendarentry",
    "scheduling_specialday",
    "invoicing_invoice",
    "invoicing_payment",
    "invoicing_refund",
    "invoicing_creditnote",
    "notifications_message",
)
MARK_TRIGGERS = ("reporting_marks", "reporting_marks_update")

FIVE = timedelta(minutes=5)
DAY = timedelta(days=1)
REMINDER_AHEAD = timedelta(days=1)
BASIS_POINTS = 10_000

FIRST_NAMES = (
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Willow",
    "Evie",
    "Poppy",
    "Ella",
    "Florence",
    "Sienna",
    "Daisy",
    "Aisha",
    "Zara",
    "Hannah",
    "Priya",
    "Chloe",
    "Leah",
    "Maya",
    "Nadia",
    "Ruth",
    "Joan",
    "Margaret",
    "Susan",
    "Helen",
    "Anne",
    "Fatima",
    "Yasmin",
    "Elena",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Leo",
    "Muhammad",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theo",
    "Jack",
    "Charlie",
    "Freddie",
    "Alfie",
    "Finley",
    "Thomas",
    "James",
    "William",
    "Samuel",
    "Joseph",
    "Daniel",
    "David",
    "Michael",
    "Peter",
    "Paul",
    "Adam",
    "Ravi",
    "Omar",
    "Tariq",
    "Kwame",
    "Tomasz",
    "Luca",
    "Mateo",
    "Ethan",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodriguez",
    "Cox",
    "Alexander",
    "Begum",
    "Ali",
    "Hussain",
    "Shah",
    "Ahmed",
    "Singh",
    "Kaur",
    "Murphy",
    "Kelly",
    "Byrne",
    "Campbell",
    "Stewart",
    "Anderson",
    "Scott",
    "Reid",
    "Murray",
    "MacDonald",
    "Mensah",
    "Adeyemi",
    "Kowalski",
    "Silva",
    "Costa",
    "Santos",
    "Garcia",
    "Martin",
    "Bernard",
    "Muller",
    "Schmidt",
    "Jensen",
    "Larsen",
    "Novak",
    "Horvat",
    "Papadopoulos",
    "Cohen",
    "Levi",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Nguyen",
    "Tran",
    "Kim",
    "Park",
    "Sato",
    "Suzuki",
    "Fischer",
)
CANCEL_BY_PATIENT = ("Patient is unwell", "Cannot come: work", "Patient asked to move it", "Family matters")
CANCEL_BY_CLINIC = ("Doctor unavailable", "Booked in error", "Branch closed early", "Equipment out of order")
FOLLOW_UP_REASONS = (
    "Review results",
    "Check how the treatment went",
    "Blood pressure check",
    "Review medication",
    "Wound check",
    "Annual review",
)
SQUEEZED_IN = "Squeezed in: the doctor agreed to see the patient on a full day"
DISCOUNT_AGREED = "Discount agreed after the visit"
REPLY_HINT = "Reply C to confirm, X to cancel."


@dataclass(frozen=True)
class HistoryPlan:
    """What to write. ``fill_start``/``fill_end``: the share of a doctor's free time booked at the
    start and at the end of the period (the chain grows). ``days_ahead``: kept bookings for every
    doctor in the days to come (the overloaded doctor is filled to the end of next week whatever it
    says). ``service_weights``: how often each service (by id) is chosen, 1 for those not named.
    ``doctors``: the doctors written for (empty: every doctor with a shift and a service).
    ``remind_ahead``: the visits to come get their reminders from the reminder planner, as a booking
    does (without it, none). ``bodies``: messages keep the text they carried."""

    days_back: int = HISTORY_DAYS
    days_ahead: int = 0
    seed: int = 14
    fill_start: float = 0.62
    fill_end: float = 0.86
    doctors: tuple[int, ...] = ()
    cancel_heavy_branch: int | None = None
    no_show_doctor: int | None = None
    overloaded_doctor: int | None = None
    service_weights: dict[int, float] = field(default_factory=dict)
    remind_ahead: bool = True
    bodies: bool = True
    chunk_days: int = 7


@dataclass
class Written:
    """What ``history_write`` wrote: the local days it covers (``today`` is the run's) and its rows
    by kind."""

    first_day: date
    last_day: date
    today: date
    rows: Counter[str] = field(default_factory=Counter)


# --- the chain as it is -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Service:
    id: int
    name: str
    duration: timedelta
    before: timedelta
    after: timedelta
    price: int
    requires_room: bool
    weight: float

    @property
    def length(self) -> timedelta:
        return self.before + self.duration + self.after


@dataclass(frozen=True)
class _Pattern:
    weekday: int
    starts: time
    ends: time
    break_starts: time | None
    break_ends: time | None
    valid_from: date
    valid_until: date | None


@dataclass(frozen=True)
class _Product:
    id: int
    name: str
    sessions: int
    price: int
    validity: timedelta
    branches: frozenset[int]


@dataclass
class _Chain:
    name: str
    tz: ZoneInfo
    currency: str
    language: str
    site: str
    tax_bp: int
    cancel_window: timedelta
    branches: dict[int, tuple[str, ZoneInfo]]
    services: dict[tuple[int, int], list[_Service]]  # (doctor, branch) -> what the doctor offers there
    prices: dict[tuple[int, int], int]  # (service, branch) -> the branch's own price
    patterns: dict[tuple[int, int], list[_Pattern]]
    extra: dict[tuple[int, int, date], list[tuple[time, time]]]
    hours: dict[int, dict[int, list[tuple[time, time]]]]  # branch -> weekday -> opening intervals
    special: dict[int, dict[date, list[tuple[time, time]]]]  # branch -> day -> hours ([]: closed)
    rooms: dict[int, list[tuple[int, bool]]]  # branch -> (room, in use)
    doctor_names: dict[int, str]
    taken: dict[int, list[Interval]]  # doctor -> what already occupies their time (merged)
    leave: dict[int, list[Interval]]  # doctor -> their leave (merged)
    kept: dict[int, list[Interval]]  # doctor -> kept appointments' own spans (sorted)
    room_busy: dict[tuple[int, int], list[Interval]]  # (room, day ordinal) -> busy spans
    products: dict[int, list[_Product]]  # service -> the packages that cover it


def _chain_read(plan: HistoryPlan, lo: datetime, hi: datetime) -> _Chain:
    chain = chain_settings_get()
    branches = {b.pk: (b.name, ZoneInfo(b.timezone)) for b in Branch.objects.all()}
    services = {s.pk: s for s in Service.objects.filter(is_active=True)}
    offered: dict[tuple[int, int], list[_Service]] = defaultdict(list)
    for doctor_id, branch_id, service_id in DoctorService.objects.order_by("pk").values_list(
        "doctor_id", "branch_id", "service_id"
    ):
        s = services.get(service_id)
        if s is None or (plan.doctors and doctor_id not in plan.doctors):
            continue
        offered[(doctor_id, branch_id)].append(
            _Service(
                s.pk,
                s.name,
                timedelta(minutes=s.duration_minutes),
                timedelta(minutes=s.buffer_before_minutes),
                timedelta(minutes=s.buffer_after_minutes),
                s.price_minor,
                s.requires_room,
                plan.service_weights.get(s.pk, 1.0),
            )
        )
    patterns: dict[tuple[int, int], list[_Pattern]] = defaultdict(list)
    for p in ShiftPattern.objects.order_by("pk"):
        if (p.doctor_id, p.branch_id) in offered:
            patterns[(p.doctor_id, p.branch_id)].append(
                _Pattern(p.weekday, p.starts, p.ends, p.break_starts, p.break_ends, p.valid_from, p.valid_until)
            )
    extra: dict[tuple[int, int, date], list[tuple[time, time]]] = defaultdict(list)
    for e in ExtraShift.objects.filter(date__range=(lo.date() - DAY, hi.date() + DAY)):
        extra[(e.doctor_id, e.branch_id, e.date)].append((e.starts, e.ends))
    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for h in BranchHours.objects.all():
        hours[h.branch_id][h.weekday].append((h.opens, h.closes))
    special: dict[int, dict[date, list[tuple[time, time]]]] = defaultdict(dict)
    for d in SpecialDay.objects.all():
        times = special[d.branch_id].setdefault(d.date, [])
        if d.opens is not None and d.closes is not None:
            times.append((d.opens, d.closes))
    rooms: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for room in Room.objects.order_by("pk"):
        rooms[room.branch_id].append((room.pk, room.is_active))
    taken: dict[int, list[Interval]] = defaultdict(list)
    leave: dict[int, list[Interval]] = defaultdict(list)
    kept: dict[int, list[Interval]] = defaultdict(list)
    room_busy: dict[tuple[int, int], list[Interval]] = defaultdict(list)
    with connection.cursor() as cursor:  # the bounds as timestamps: a range per row is slow to read at scale
        cursor.execute(
            """
            SELECT doctor_id, room_id, lower(span), upper(span), lower(busy), upper(busy), status, kind
              FROM scheduling_calendarentry
             WHERE busy && tstzrange(%s, %s) AND status = ANY(%s)
            """,
            [lo, hi, sorted({*ACTIVE_STATUSES, *KEPT_STATUSES})],
        )
        found = cursor.fetchall()
    for doctor_id, room_id, start, end, busy_lo, busy_hi, status, kind in found:
        if status in ACTIVE_STATUSES:
            taken[doctor_id].append((busy_lo, busy_hi))
            if kind == Kind.LEAVE:
                leave[doctor_id].append((busy_lo, busy_hi))
            if room_id is not None:
                room_busy[(room_id, busy_lo.date().toordinal())].append((busy_lo, busy_hi))
        if kind == Kind.APPOINTMENT and status in KEPT_STATUSES:
            kept[doctor_id].append((start, end))
    products: dict[int, list[_Product]] = defaultdict(list)
    for product in PackageProduct.objects.filter(is_active=True).prefetch_related("services", "branches"):
        item = _Product(
            product.pk,
            product.name,
            product.sessions,
            product.price_minor,
            timedelta(days=product.validity_days),
            frozenset(b.pk for b in product.branches.all()),
        )
        for service in product.services.all():
            products[service.pk].append(item)
    policy = SchedulingPolicy.objects.filter(pk=1).first()
    tax = TaxRate.objects.filter(is_default=True, is_active=True).values_list("rate_bp", flat=True).first()
    return _Chain(
        name=chain.name,
        tz=ZoneInfo(chain.default_timezone),
        currency=chain.currency,
        language=language_of(None),
        site=current_clinic_url(),
        tax_bp=tax or 0,
        cancel_window=timedelta(hours=policy.cancellation_window_hours if policy else 24),
        branches=branches,
        services=dict(offered),
        prices={(p.service_id, p.branch_id): p.price_minor for p in ServicePrice.objects.all()},
        patterns=dict(patterns),
        extra=dict(extra),
        hours=hours,
        special=special,
        rooms=rooms,
        doctor_names={
            s.pk: f"{s.user.first_name} {s.user.last_name}".strip() or s.user.email
            for s in StaffMember.objects.select_related("user")
        },
        taken={d: iv.merge(spans) for d, spans in taken.items()},
        leave={d: iv.merge(spans) for d, spans in leave.items()},
        kept={d: sorted(spans) for d, spans in kept.items()},
        room_busy=room_busy,
        products=dict(products),
    )


def _within(intervals: list[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    """The intervals of a sorted, merged list that meet [lo, hi)."""
    i = max(0, bisect_left(intervals, (lo, lo)) - 1)
    out = []
    while i < len(intervals) and intervals[i][0] < hi:
        if intervals[i][1] > lo:
            out.append(intervals[i])
        i += 1
    return out


def _minutes(intervals: list[Interval]) -> int:
    return int(sum((b - a).total_seconds() for a, b in intervals) // 60)


def _ceil5(moment: datetime) -> datetime:
    """The next 5-minute boundary (zones differ from UTC by whole quarter hours: the local grid too)."""
    seconds = int(moment.timestamp())
    return moment + timedelta(seconds=(-seconds) % 300) - timedelta(microseconds=moment.microsecond)


def _range(lo: datetime, hi: datetime) -> str:
    return f'["{lo.isoformat()}","{hi.isoformat()}")'


# --- rows, ids and numbers ----------------------------------------------------------------------


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    """A value as COPY's text format writes it."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    return str(value)


class _Rows:
    """The rows of one table waiting to be copied in."""

    def __init__(self, table: str, columns: str) -> None:
        self.table = table
        self.columns = columns
        self.rows: list[list[Any]] = []

    def add(self, *values: Any) -> list[Any]:
        row = list(values)
        self.rows.append(row)
        return row

    def copy(self) -> int:
        if not self.rows:
            return 0
        text = _text
        with connection.cursor() as cursor, cursor.copy(f"COPY {self.table} ({self.columns}) FROM STDIN") as copy:
            for first in range(0, len(self.rows), 5000):
                lines = ["\t".join([text(v) for v in row]) for row in self.rows[first : first + 5000]]
                copy.write("\n".join(lines) + "\n")
        count = len(self.rows)
        self.rows = []
        return count


class _Ids:
    """Ids of one table taken from its own sequence, a block at a time (an id taken and not used is
    a gap, as a rolled-back insert leaves one)."""

    def __init__(self, table: str, block: int = 4000) -> None:
        self.table = table
        self.block = block
        self.free: list[int] = []

    def take(self) -> int:
        if not self.free:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.table, self.block],
                )
                self.free = [r[0] for r in cursor.fetchall()][::-1]
        return self.free.pop()


def _numbers(sequence: Sequence, count: int) -> int:
    """The first of ``count`` numbers of one of the chain's sequences, taken at once from its
    counter row (as invoicing.services.numbering takes one): consecutive, and none left unused."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invoicing_counter (name, next_value) VALUES (%(name)s, 1 + %(n)s)
            ON CONFLICT (name) DO UPDATE SET next_value = invoicing_counter.next_value + %(n)s
            RETURNING next_value - %(n)s
            """,
            {"name": sequence.value, "n": count},
        )
        return int(cursor.fetchone()[0])


# --- the generator ------------------------------------------------------------------------------


@dataclass
class _Visit:
    id: int
    doctor: int
    branch: int
    service: _Service
    patient: int  # index in the pool
    start: datetime
    end: datetime
    status: str
    source: str
    created_at: datetime
    cancelled_at: datetime | None
    late: bool
    by_patient: bool
    completed_at: datetime | None


@dataclass
class _Purchase:
    id: int
    product: _Product
    patient: int  # index in the pool
    branch: int
    sold_at: datetime
    expires_at: datetime
    used: int = 0
    reserved: int = 0

    def covers(self, start: datetime) -> bool:
        return self.sold_at < start < self.expires_at and self.used + self.reserved < self.product.sessions


class _History:
    def __init__(self, plan: HistoryPlan, now: datetime) -> None:
        self.plan = plan
        self.now = now
        self.rng = random.Random(plan.seed)  # noqa: S311 (made-up data, reproducible; no secret)
        self.chain = _chain_read(
            plan, now - timedelta(days=plan.days_back + 2), now + timedelta(days=plan.days_ahead + 16)
        )
        self.today = now.astimezone(self.chain.tz).date()
        self.first_day = self.today - timedelta(days=plan.days_back)
        # the overloaded doctor's days: from tomorrow to the end of next week
        self.overload_until = self.today + timedelta(days=13 - self.today.weekday())
        last = self.today + timedelta(days=plan.days_ahead)
        if plan.overloaded_doctor is not None:
            last = max(last, self.overload_until)
        self.written = Written(self.first_day, last, self.today)
        self.span_days = max(1, plan.days_back)
        self.pairs = sorted(self.chain.services)
        self.weights = {
            pair: list(accumulate(s.weight for s in services)) for pair, services in self.chain.services.items()
        }
        self.taken = dict(self.chain.taken)

        self.patients = _Rows(
            "patients_patient",
            "id, first_name, last_name, date_of_birth, sex, phone, email, address_line, city, postcode, country,"
            " emergency_contact_name, emergency_contact_phone, emergency_contact_relation, preferred_language,"
            " sms_consent_at, email_consent_at, created_at",
        )
        self.entries = _Rows(
            "scheduling_calendarentry",
            "id, kind, doctor_id, branch_id, patient_id, service_id, room_id, span, busy, status, source,"
            " idempotency_digest, hold_token, is_override, override_reason, notes, cancelled_at,"
            " cancellation_reason, late_cancellation, cancelled_by_patient, checked_in_at, started_at,"
            " completed_at, created_at, updated_at",
        )
        self.invoices = _Rows(
            "invoicing_invoice",
            "id, number, patient_id, branch_id, appointment_id, status, kind, currency, subtotal_minor,"
            " discount_minor, tax_minor, total_minor, paid_minor, refunded_minor, credited_minor, created_at,"
            " issued_at, due_at, voided_at, void_reason",
        )
        self.lines = _Rows(
            "invoicing_invoiceline",
            "invoice_id, position, description, service_id, quantity, unit_price_minor, discount_minor,"
            " tax_rate_bp, subtotal_minor, tax_minor, total_minor",
        )
        self.payments = _Rows(
            "invoicing_payment",
            "id, invoice_id, method, amount_minor, refunded_minor, currency, reference, status, received_at",
        )
        self.credit_notes = _Rows("invoicing_creditnote", "number, invoice_id, amount_minor, reason, issued_at")
        self.refunds = _Rows(
            "invoicing_refund",
            "payment_id, amount_minor, reason, status, at, stripe_refund_id, failure_message",
        )
        self.messages = _Rows(
            "notifications_message",
            "kind, channel, language, recipient, patient_id, appointment_id, branch_id, context, due_at, status,"
            " attempts, sent_at, delivered_at, provider_id, provider_status, last_error, subject, body, digest,"
            " written_at, created_at, updated_at",
        )
        self.follow_ups = _Rows(
            "patients_followup", "patient_id, due_date, reason, status, doctor_id, created_by_id, created_at"
        )
        self.special_days = _Rows("scheduling_specialday", "branch_id, date, note")
        self.tables = (
            self.patients,
            self.special_days,
            self.entries,
            self.invoices,
            self.lines,
            self.payments,
            self.credit_notes,
            self.refunds,
            self.messages,
            self.follow_ups,
        )
        self.ids = {
            table: _Ids(table)
            for table in (
                "patients_patient",
                "scheduling_calendarentry",
                "invoicing_invoice",
                "invoicing_payment",
                "packages_packagepurchase",
            )
        }
        # the pool of patients: their ids, and how they are reached (1: texts, 2: e-mail, 3: both)
        self.patient_ids: list[int] = []
        self.reach = bytearray()
        self.busy_today: set[int] = set()
        # patients due back for a service: (day ordinal, order, patient, since, purchase id or 0)
        self.due: dict[int, list[tuple[int, int, int, datetime, int]]] = defaultdict(list)
        self.order = 0
        self.purchases: dict[int, _Purchase] = {}
        self.purchase_of: dict[tuple[int, int], _Purchase] = {}  # (patient, service) -> their package
        self.sessions: list[tuple[int, int, str, datetime, datetime | None]] = []
        self.sales: list[tuple[int, int]] = []  # (purchase, its invoice)
        self.future: list[int] = []

    def _between(self, low: int, high: int) -> int:
        """A whole number from low to high, both included (randint's answer, for less)."""
        return low + int(self.rng.random() * (high - low + 1))

    # --- the run ----------------------------------------------------------------------------------

    def run(self) -> Written:
        self._pool_before()
        self._holidays()
        self._leave()
        day, since_flush = self.first_day, 0
        while day <= self.written.last_day:
            if day != self.today:
                self._day(day)
            since_flush += 1
            if since_flush >= self.plan.chunk_days:
                self._flush()
                since_flush = 0
            day += DAY
        self._flush()
        self._packages_write()
        if self.plan.remind_ahead and self.future:
            self._remind_ahead()
        return self.written

    def _flush(self) -> None:
        if self.invoices.rows:
            first = _numbers(Sequence.INVOICE, len(self.invoices.rows))
            for n, row in enumerate(self.invoices.rows):
                row[1] = f"{PREFIXES[Sequence.INVOICE]}-{first + n:06d}"
        if self.credit_notes.rows:
            first = _numbers(Sequence.CREDIT_NOTE, len(self.credit_notes.rows))
            for n, row in enumerate(self.credit_notes.rows):
                row[0] = f"{PREFIXES[Sequence.CREDIT_NOTE]}-{first + n:06d}"
        for rows in self.tables:
            self.written.rows[rows.table] += rows.copy()

    def _remind_ahead(self) -> None:
        from notifications.reminders import reminders_sync

        for entry in CalendarEntry.objects.filter(
            pk__in=self.future, status__in=("booked", "confirmed")
        ).select_related("patient", "branch"):
            reminders_sync(appointment=entry, now=self.now)

    # --- the calendar's frame: patients before, holidays, leave --------------------------------

    def _pool_before(self) -> None:
        """The patients the chain had before the period: enough for its first weeks' returning visits."""
        # about half the patients of the period's first three months (a weekly shift sees some ten a day)
        shifts = sum(len(self.chain.patterns.get(pair, ())) for pair in self.pairs)
        start = iv.wall_clock(self.first_day, time(9), self.chain.tz)
        for _ in range(max(30, int(shifts * 13 * 10 * self.plan.fill_start * 0.5))):
            self._patient_new(start - timedelta(days=self.rng.uniform(30, 6 * 365)))

    def _holidays(self) -> None:
        """Christmas Day, Boxing Day and New Year's Day of the period, the branches closed."""
        for branch in sorted(self.chain.branches):
            for year in range(self.first_day.year, self.today.year + 1):
                for day, note in (
                    (date(year, 12, 25), "Christmas Day"),
                    (date(year, 12, 26), "Boxing Day"),
                    (date(year, 1, 1), "New Year's Day"),
                ):
                    if self.first_day <= day < self.today and day not in self.chain.special[branch]:
                        self.chain.special[branch][day] = []
                        self.special_days.add(branch, day, note)

    def _leave(self) -> None:
        """Each doctor's two weeks in summer, a week over the new year for some, a sick day now and then."""
        doctors = sorted({d for d, _ in self.pairs})
        for n, doctor in enumerate(doctors):
            branch = next(b for d, b in self.pairs if d == doctor)
            tz = self.chain.branches[branch][1]
            spans: list[tuple[date, int, str, timedelta]] = []
            for year in range(self.first_day.year, self.today.year + 1):
                august = date(year, 8, 1)
                monday = august + timedelta(days=(7 - august.weekday()) % 7 + 7 * (n % 3))
                spans.append((monday, 14, "Annual leave", timedelta(days=self._between(20, 90))))
                if n % 2 == 0:
                    spans.append((date(year, 12, 24), 9, "Annual leave", timedelta(days=self._between(30, 90))))
            day = self.first_day + timedelta(days=self._between(0, 90))
            while day < self.today:
                spans.append((day, 1, "Sick day", -timedelta(hours=7)))
                day += timedelta(days=self._between(60, 200))
            for first, days, reason, notice in spans:
                if first < self.first_day or first + timedelta(days=days) > self.today:
                    continue
                lo, hi = iv.wall_clock(first, time(0), tz), iv.wall_clock(first + timedelta(days=days), time(0), tz)
                if _within(self.taken.get(doctor, []), lo, hi):
                    continue  # something is already booked then
                self.taken[doctor] = iv.merge([*self.taken.get(doctor, []), (lo, hi)])
                self.chain.leave[doctor] = iv.merge([*self.chain.leave.get(doctor, []), (lo, hi)])
                created = lo - notice
                self.entries.add(
                    self.ids["scheduling_calendarentry"].take(),
                    "leave",
                    doctor,
                    None,
                    None,
                    None,
                    None,
                    _range(lo, hi),
                    _range(lo, hi),
                    "booked",
                    "staff",
                    "",
                    "",
                    False,
                    "",
                    reason,
                    None,
                    "",
                    False,
                    False,
                    None,
                    None,
                    None,
                    created,
                    created,
                )
                self.written.rows["leave"] += 1

    # --- a day --------------------------------------------------------------------------------------

    def _fill(self, day: date) -> float:
        """The share of a doctor's free time booked on a day: growth, the season, the weekday."""
        progress = min(1.0, max(0.0, (day - self.first_day).days / self.span_days))
        fill = self.plan.fill_start + (self.plan.fill_end - self.plan.fill_start) * progress
        if day.month == 8:
            fill *= 0.7  # the summer holidays
        elif (day.month == 12 and day.day >= 20) or (day.month == 1 and day.day <= 3):
            fill *= 0.5
        elif day.month in (1, 2):
            fill *= 1.08  # winter's coughs and colds
        elif day.month == 7:
            fill *= 0.92
        fill *= (1.08, 1.0, 1.0, 0.98, 0.93, 0.86, 0.8)[day.weekday()]
        if day > self.today:  # bookings still coming in for the days ahead
            fill *= max(0.25, 1.0 - (day - self.today).days / (self.plan.days_ahead + 14))
        return min(fill, 0.97)

    def _hours(self, branch: int, day: date) -> list[Interval]:
        tz = self.chain.branches[branch][1]
        special = self.chain.special[branch].get(day)
        spans = special if special is not None else self.chain.hours[branch].get(day.weekday(), [])
        return iv.merge((iv.wall_clock(day, a, tz), iv.wall_clock(day, b, tz)) for a, b in spans)

    def _shift(self, doctor: int, branch: int, day: date) -> list[Interval]:
        tz = self.chain.branches[branch][1]
        local: list[tuple[time, time]] = []
        for p in self.chain.patterns.get((doctor, branch), ()):
            if p.weekday != day.weekday() or day < p.valid_from or (p.valid_until is not None and day > p.valid_until):
                continue
            if p.break_starts is not None and p.break_ends is not None:
                local += [(p.starts, p.break_starts), (p.break_ends, p.ends)]
            else:
                local.append((p.starts, p.ends))
        local += self.chain.extra.get((doctor, branch, day), [])
        return iv.merge((iv.wall_clock(day, a, tz), iv.wall_clock(day, b, tz)) for a, b in local)

    def _day(self, day: date) -> None:
        self.busy_today = set()
        future = day > self.today
        for doctor, branch in self.pairs:
            overloaded = future and doctor == self.plan.overloaded_doctor and day <= self.overload_until
            if future and not overloaded and day > self.today + timedelta(days=self.plan.days_ahead):
                continue
            shift = self._shift(doctor, branch, day)
            if not shift:
                continue
            open_ = iv.intersect(self._hours(branch, day), shift)
            if not open_:
                continue
            free = iv.subtract(open_, _within(self.taken.get(doctor, []), open_[0][0], open_[-1][1]))
            fill = 1.0 if overloaded else self._fill(day)
            booked = [self._slots(day, doctor, branch, lo, hi, fill, future) for lo, hi in free]
            if overloaded:
                capacity = iv.subtract(open_, _within(self.chain.leave.get(doctor, []), open_[0][0], open_[-1][1]))
                minutes = sum(booked) + _minutes(_within(self.chain.kept.get(doctor, []), open_[0][0], open_[-1][1]))
                self._squeeze_in(day, doctor, branch, capacity, minutes)

    def _slots(self, day: date, doctor: int, branch: int, lo: datetime, hi: datetime, fill: float, future: bool) -> int:
        """Book a free stretch of a doctor's day, one visit after another, each time taken with the
        day's probability; the minutes booked."""
        rng = self.rng
        services = self.chain.services[(doctor, branch)]
        weights = self.weights[(doctor, branch)]
        shortest = min(services, key=lambda s: s.length)
        t, booked = _ceil5(lo), 0
        while t + shortest.length <= hi:
            service = services[bisect_left(weights, rng.random() * weights[-1])]
            if t + service.length > hi:
                service = shortest
            start = t + service.before
            busy = (t, start + service.duration + service.after)
            if rng.random() < fill:
                room = None
                if service.requires_room:
                    room = self._room(branch, busy, future)
                    if room is None and not shortest.requires_room:
                        service, room = shortest, None
                        start, busy = t + service.before, (t, t + service.length)
                    elif room is None:
                        t += 3 * FIVE
                        continue
                visit = self._visit(day=day, doctor=doctor, branch=branch, service=service, start=start, room=room)
                if visit is not None and visit.status in KEPT_STATUSES:
                    booked += _minutes([(visit.start, visit.end)])
            t = _ceil5(busy[1])
        return booked

    def _room(self, branch: int, busy: Interval, future: bool) -> int | None:
        day = busy[0].date().toordinal()  # kept by the UTC day they start: one may run past midnight
        for room, in_use in self.chain.rooms.get(branch, []):
            if future and not in_use:
                continue
            spans = [*self.chain.room_busy.get((room, day - 1), []), *self.chain.room_busy.get((room, day), [])]
            if not any(a < busy[1] and busy[0] < b for a, b in spans):
                return room
        return None

    def _squeeze_in(self, day: date, doctor: int, branch: int, capacity: list[Interval], booked: int) -> None:
        """The overloaded doctor's full day, and then some: patients squeezed in as deliberate
        double bookings until her booked time passes her capacity."""
        services = [s for s in self.chain.services[(doctor, branch)] if not s.requires_room]
        if not services or not capacity:
            return
        service = min(services, key=lambda s: s.length)
        target = int(_minutes(capacity) * 1.06)
        starts = [
            t
            for lo, hi in capacity
            for t in iv.aligned_starts(
                lo + service.before, hi - service.duration - service.after, 5, self.chain.branches[branch][1]
            )
        ]
        tries = 0
        while booked < target and starts and tries < 200:
            tries += 1
            start = self.rng.choice(starts)
            visit = self._visit(day=day, doctor=doctor, branch=branch, service=service, start=start, override=True)
            if visit is not None:
                booked += _minutes([(visit.start, visit.end)])

    # --- patients -------------------------------------------------------------------------------

    def _patient_new(self, created: datetime) -> int:
        rng = self.rng
        index = len(self.patient_ids)
        pk = self.ids["patients_patient"].take()
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # most give a mobile number, two in three agree to texts; most give an e-mail address
        texts, mails = rng.random() < 0.68, rng.random() < 0.86
        phone = texts or rng.random() < 0.7
        self.patients.add(
            pk,
            first,
            last,
            self.today - timedelta(days=self._between(2 * 365, 92 * 365)),
            rng.choice(("female", "male")),
            self._phone(index) if phone else "",
            self._email(index) if mails else "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            created if texts else None,
            created if mails else None,
            created,
        )
        self.patient_ids.append(pk)
        self.reach.append((1 if texts else 0) | (2 if mails else 0))
        self.written.rows["patients"] += 1
        return index

    @staticmethod
    def _phone(index: int) -> str:
        return f"+4477009{index % 100_000:05d}"  # the range set aside for drama and tests

    @staticmethod
    def _email(index: int) -> str:
        return f"patient{index}@example.net"

    def _coming_back(self, day: date, service: _Service, start: datetime) -> tuple[int, datetime] | None:
        """A patient due back for a service by that day, and when they last came (or were sold a course)."""
        heap = self.due.get(service.id)
        ordinal = day.toordinal()
        if not heap or self.rng.random() >= 0.8:
            return None
        while heap and heap[0][0] <= ordinal:
            due, _, index, since, _ = heapq.heappop(heap)
            if ordinal - due > 21 or index in self.busy_today or since > start - timedelta(hours=3):
                continue  # they did not come back, or not that day
            return index, since
        return None

    def _patient(self, day: date) -> int | None:
        """A patient of the pool (the recent ones more often), or None for a new one."""
        rng = self.rng
        pool = len(self.patient_ids)
        progress = min(1.0, max(0.0, (day - self.first_day).days / self.span_days))
        if rng.random() < 0.22 - 0.06 * progress:
            return None
        for _ in range(4):
            index = pool - 1 - int(pool * rng.random() ** 1.6)
            if index not in self.busy_today:
                return index
        return None

    def _due_back(self, index: int, service: _Service, since: datetime, day: date, purchase: int) -> None:
        self.order += 1
        gap = self._between(6, 9) if purchase else self._between(7, 28)
        entry = ((day + timedelta(days=gap)).toordinal(), self.order, index, since, purchase)
        heapq.heappush(self.due[service.id], entry)

    # --- times ----------------------------------------------------------------------------------

    def _at(self, moment: datetime, tz: ZoneInfo, first: time, last: time) -> datetime:
        """``moment``'s local day, at a random time between two wall-clock times."""
        day = moment.astimezone(tz).date()
        minutes = self._between(first.hour * 60 + first.minute, last.hour * 60 + last.minute)
        return iv.wall_clock(day, time(minutes // 60, minutes % 60, self._between(0, 59)), tz)

    def _created(self, source: str, start: datetime, tz: ZoneInfo) -> datetime:
        rng = self.rng
        if source == "walk_in":
            return start - timedelta(minutes=self._between(5, 40), seconds=self._between(0, 59))
        mean, least = {"online": (7.0, 0.15), "phone": (5.0, 0.05)}.get(source, (14.0, 1.0))
        created = start - timedelta(days=least + rng.expovariate(1 / mean))
        first, last = (time(8), time(20, 30)) if source == "online" else (time(8, 30), time(18, 30))
        created = self._at(created, tz, first, last)
        while created > start - timedelta(hours=1):
            created -= DAY
        return created

    def _source(self, day: date) -> str:
        progress = min(1.0, max(0.0, (day - self.first_day).days / self.span_days))
        online = 0.2 + 0.22 * progress  # more and more patients book online
        phone = 0.4 - 0.14 * progress
        r = self.rng.random()
        if r < online:
            return "online"
        if r < online + phone:
            return "phone"
        if r < online + phone + 0.12:
            return "walk_in"
        if r < online + phone + 0.14:
            return "waitlist"
        return "staff"

    # --- one appointment ------------------------------------------------------------------------

    def _visit(
        self,
        *,
        day: date,
        doctor: int,
        branch: int,
        service: _Service,
        start: datetime,
        room: int | None = None,
        override: bool = False,
        freed_at: datetime | None = None,
    ) -> _Visit | None:
        """One appointment (and its messages, invoice, package session, follow-up), or None when
        nobody could have booked that time."""
        rng = self.rng
        tz = self.chain.branches[branch][1]
        end = start + service.duration
        future = day > self.today
        back = None if freed_at is not None else self._coming_back(day, service, start)
        index, since = back if back is not None else (self._patient(day), None)
        if since is not None:  # coming back: booked at the desk on the way out, or later online
            if rng.random() < 0.55 or start - since < 2 * DAY:
                source, created = "staff", since + timedelta(minutes=self._between(2, 15))
            else:
                source = "online"
                created = since + timedelta(
                    seconds=rng.uniform(3600, min((start - since).total_seconds() - 7200, 5 * 86400))
                )
        elif freed_at is not None:  # a time given back, taken from the waitlist or by phone
            source = "waitlist" if rng.random() < 0.6 else "phone"
            before = (min(start, self.now) - freed_at).total_seconds() - 3600
            if before < 600:
                return None
            created = freed_at + timedelta(seconds=rng.uniform(300, min(before, 2 * 86400)))
        else:
            source = "phone" if override else self._source(day)
            created = self._created(source, start, tz)
        if created > self.now - 2 * FIVE:  # booked for the days ahead: by now, in the desk's hours
            created = self._at(self.now - timedelta(days=self._between(0, 3)), tz, time(8, 30), time(18, 30))
            while created > self.now - 2 * FIVE:
                created -= DAY
        if created >= start - FIVE:
            return None
        new_patient = index is None
        if index is None:
            index = self._patient_new(created)
        self.busy_today.add(index)
        reach = self.reach[index]
        purchase = self.purchase_of.get((index, service.id))
        if purchase is not None and not purchase.covers(start):
            purchase = None
        # the outcome
        status, cancelled_at, late, by_patient, reason = "completed", None, False, False, ""
        lead = start - created
        p_cancel = (0.045 if future else 0.085) * (2.4 if branch == self.plan.cancel_heavy_branch else 1.0)
        if not override and lead > timedelta(hours=3) and rng.random() < p_cancel:
            by_patient = rng.random() < 0.78
            window = self.chain.cancel_window
            late = lead <= window + 3 * FIVE or rng.random() < 0.33
            if late:  # inside the chain's cancellation window (scheduling/cancel_window.py)
                latest = min(window - timedelta(minutes=1), lead - timedelta(minutes=30)).total_seconds()
                cancelled_at = start - timedelta(seconds=rng.uniform(1800, max(1801.0, latest)))
            else:
                cancelled_at = created + FIVE + (start - window - created - 2 * FIVE) * rng.random()
            if cancelled_at < self.now:
                status = "cancelled"
                reason = rng.choice(CANCEL_BY_PATIENT if by_patient else CANCEL_BY_CLINIC)
            else:
                cancelled_at, late, by_patient = None, False, False
        # a reminder a day before, when booked that far ahead and not cancelled by then
        reminder_due = start - REMINDER_AHEAD
        reminder: tuple[str, str] | None = None  # (channel, status)
        if (
            not future
            and source != "walk_in"
            and reach
            and created <= reminder_due
            and (cancelled_at is None or cancelled_at > reminder_due)
        ):
            if reach & 1:
                r = rng.random()
                reminder = ("sms", "delivered" if r < 0.945 else ("failed" if r < 0.985 else "undelivered"))
            else:
                reminder = ("email", "sent" if rng.random() < 0.98 else "failed")
        reminded = reminder is not None and reminder[1] != "failed"
        if status == "completed" and future:
            status = "confirmed" if start - self.now < 2 * DAY and rng.random() < 0.4 else "booked"
        elif status == "completed":
            p_no_show = (0.025 if reminded else 0.075) * (1.3 if new_patient else 1.0)
            if doctor == self.plan.no_show_doctor:
                p_no_show *= 2.5
            if rng.random() < p_no_show:
                status = "no_show"
        checked_in = started = completed = None
        updated = cancelled_at or created
        if status == "completed":
            checked_in = start - timedelta(minutes=self._between(0, 14), seconds=self._between(0, 59))
            started = start + timedelta(minutes=self._between(0, 8))
            completed = max(end + timedelta(minutes=self._between(-2, 6), seconds=self._between(0, 59)), started + FIVE)
            updated = completed
        elif status == "no_show":
            updated = start + timedelta(minutes=15, seconds=self._between(0, 170))
        pk = self.ids["scheduling_calendarentry"].take()
        busy = (start - service.before, end + service.after)
        self.entries.add(
            pk,
            "appointment",
            doctor,
            branch,
            self.patient_ids[index],
            service.id,
            room,
            _range(start, end),
            _range(*busy),
            status,
            source,
            "",
            "",
            override,
            SQUEEZED_IN if override else "",
            "",
            cancelled_at,
            reason,
            late,
            by_patient,
            checked_in,
            started,
            completed,
            created,
            updated,
        )
        self.written.rows["appointments"] += 1
        if room is not None and status != "cancelled":
            self.chain.room_busy[(room, busy[0].date().toordinal())].append(busy)
        if future:
            self.future.append(pk)
        visit = _Visit(
            pk,
            doctor,
            branch,
            service,
            index,
            start,
            end,
            status,
            source,
            created,
            cancelled_at,
            late,
            by_patient,
            completed,
        )
        self._messages(visit, reminder)
        if purchase is not None:
            self._session(visit, purchase)
        if completed is not None:
            self._invoice(visit, covered=purchase)
            if rng.random() < 0.07:
                self._follow_up(visit, day)
            if purchase is not None:  # the course goes on
                if purchase.covers(completed + DAY) and rng.random() < 0.92:
                    self._due_back(index, service, completed, day, purchase.id)
            elif not self._maybe_buy(visit, day) and rng.random() < (
                0.5 if self.chain.products.get(service.id) else 0.28
            ):
                self._due_back(index, service, completed, day, 0)
        if status == "cancelled" and not late and cancelled_at is not None and rng.random() < 0.45:
            self._visit(
                day=day, doctor=doctor, branch=branch, service=service, start=start, room=room, freed_at=cancelled_at
            )
        return visit

    # --- messages -------------------------------------------------------------------------------

    def _when(self, visit: _Visit) -> str:
        """The visit's start as the chain's messages write it (notifications.placeholders)."""
        return local_time(visit.start, tz=self.chain.branches[visit.branch][1], language=self.chain.language).when

    def _message(
        self,
        visit: _Visit,
        *,
        kind: str,
        channel: str,
        due: datetime,
        status: str,
        subject: str,
        body: str,
    ) -> None:
        sent = due if status in ("sent", "delivered", "undelivered") else None
        delivered = due + timedelta(seconds=self._between(3, 40)) if status == "delivered" else None
        index = visit.patient
        bodies = self.plan.bodies
        self.messages.add(
            kind,
            channel,
            self.chain.language,
            self._phone(index) if channel == "sms" else self._email(index),
            self.patient_ids[index],
            visit.id,
            visit.branch,
            "{}",
            due,
            status,
            1,
            sent,
            delivered,
            "",
            status if channel == "sms" and sent is not None else "",
            "The provider could not deliver it." if status == "failed" else "",
            subject if bodies else "",
            body if bodies and sent is not None else "",
            "",
            sent,
            due,
            delivered or due,
        )
        self.written.rows["messages"] += 1

    def _messages(self, visit: _Visit, reminder: tuple[str, str] | None) -> None:
        reach = self.reach[visit.patient]
        if not reach:
            return
        channel = "sms" if reach & 1 else "email"
        chain = self.chain
        branch = chain.branches[visit.branch][0]
        service = visit.service.name
        doctor = chain.doctor_names.get(visit.doctor, "")
        when = self._when(visit) if self.plan.bodies else ""  # the texts are left out without bodies
        if visit.source != "walk_in":
            link = f"{chain.site}/book/manage/\u2026/"  # the link it carried, masked as the log masks one
            if channel == "sms":
                subject, body = "", f"{chain.name}: booked {service}, {branch}, {when}. Change/cancel: {link}"
            else:
                subject = f"Booked: {service} on {when}"
                body = (
                    f"Your {service} with {doctor} at {branch} is booked for {when}.\n\n"
                    f"To move or cancel it: {link}\n\nSee you soon,\n{chain.name}"
                )
            self._message(
                visit,
                kind="confirmation",
                channel=channel,
                due=visit.created_at,
                status="delivered" if channel == "sms" else "sent",  # a text's delivery is reported back
                subject=subject,
                body=body,
            )
        if reminder is not None:
            self._message(
                visit,
                kind="reminder",
                channel=reminder[0],
                due=visit.start - REMINDER_AHEAD,
                status=reminder[1],
                subject=f"Reminder: {service} on {when}" if reminder[0] == "email" else "",
                body=f"{chain.name} reminder: {service} with {doctor} at {branch}, {when}. {REPLY_HINT}",
            )
        if visit.cancelled_at is not None and not visit.by_patient:
            self._message(
                visit,
                kind="cancelled",
                channel=channel,
                due=visit.cancelled_at,
                status="delivered" if channel == "sms" else "sent",
                subject=f"Cancelled: {service} on {when}" if channel == "email" else "",
                body=f"{chain.name}: your {service} on {when} is cancelled. Book again: {chain.site}/book/",
            )

    # --- money ----------------------------------------------------------------------------------

    def _invoice(self, visit: _Visit, *, covered: _Purchase | None) -> None:
        """A completed visit's invoice, issued on its day, and what became of it."""
        issued = visit.completed_at or visit.end
        service = visit.service
        if covered is not None:
            price, rate, description = 0, 0, f"Covered by package {covered.product.name}: {service.name}"
        else:
            price = self.chain.prices.get((service.id, visit.branch), service.price)
            rate, description = self.chain.tax_bp, service.name
        invoice = self.ids["invoicing_invoice"].take()
        self._invoice_rows(invoice, visit.patient, visit.branch, visit.id, issued, price, rate, description, service.id)

    def _invoice_rows(
        self,
        invoice: int,
        index: int,
        branch: int,
        appointment: int | None,
        issued: datetime,
        price: int,
        rate: int,
        description: str,
        service: int | None,
        *,
        settled: bool = False,
    ) -> None:
        rng = self.rng
        tax = (price * rate + BASIS_POINTS // 2) // BASIS_POINTS
        total = price + tax
        status, paid, refunded, credited = "issued", 0, 0, 0
        voided: datetime | None = None
        void_reason = ""
        payments: list[tuple[int, datetime]] = []
        r = 1.0 if settled else rng.random()
        if total == 0:
            status = "paid"
        elif r < 0.008 and issued + 10 * DAY < self.now:
            status, voided, void_reason = "void", issued + timedelta(days=rng.uniform(1, 10)), "Raised in error"
        else:
            if r < 0.02:  # a discount agreed after the visit: a credit note, the rest paid
                credited = total * self._between(10, 50) // 100
                at = issued + timedelta(days=rng.uniform(0.5, 20))
                if at < self.now:
                    self.credit_notes.add("", invoice, credited, DISCOUNT_AGREED, at)
                else:
                    credited = 0
            owed = total - credited
            p = 0.0 if settled else rng.random()
            if p < 0.84:  # at the desk, straight after the visit
                payments.append((owed, issued + timedelta(minutes=self._between(1, 9))))
            elif p < 0.95:  # later, when the patient paid the invoice sent
                payments.append((owed, issued + timedelta(days=1 + rng.expovariate(1 / 12))))
            elif p < 0.97:  # half at the desk, the rest later
                half = owed // 2
                payments.append((half, issued + timedelta(minutes=self._between(1, 9))))
                payments.append((owed - half, issued + timedelta(days=2 + rng.expovariate(1 / 25))))
            # else: not paid (yet)
        invoice_payments = []
        for amount, at in payments:
            if at >= self.now or amount <= 0:
                continue
            payment = self.ids["invoicing_payment"].take()
            row = self.payments.add(
                payment,
                invoice,
                "cash" if rng.random() < 0.3 else "card_terminal",
                amount,
                0,
                self.chain.currency,
                "",
                "succeeded",
                at,
            )
            invoice_payments.append(row)
            paid += amount
        if invoice_payments and paid == total - credited and rng.random() < 0.006:
            row = invoice_payments[-1]
            back = row[3] if rng.random() < 0.5 else row[3] * self._between(30, 90) // 100
            at = row[8] + timedelta(days=rng.uniform(1, 15))
            if at < self.now and back > 0:
                row[4] = back
                refunded = back
                self.refunds.add(row[0], back, "Treatment not given in full", "succeeded", at, "", "")
        if status == "issued" and total:
            if paid and paid == refunded == total - credited:
                status = "refunded"
            elif paid >= total - credited:
                status = "paid"
            elif paid:
                status = "partly_paid"
        self.invoices.add(
            invoice,
            None,
            self.patient_ids[index],
            branch,
            appointment,
            status,
            "standard",
            self.chain.currency,
            price,
            0,
            tax,
            total,
            paid,
            refunded,
            credited,
            issued,
            issued,
            issued + timedelta(days=14),
            voided,
            void_reason,
        )
        self.lines.add(invoice, 0, description[:200], service, 1, price, 0, rate, price, tax, total)

    # --- packages, follow-ups -------------------------------------------------------------------

    def _maybe_buy(self, visit: _Visit, day: date) -> bool:
        """After a visit, now and then, the patient buys a course of it, and comes back for it."""
        products = [
            p for p in self.chain.products.get(visit.service.id, []) if not p.branches or visit.branch in p.branches
        ]
        if not products or visit.completed_at is None or self.rng.random() >= 0.025:
            return False
        if (visit.patient, visit.service.id) in self.purchase_of:
            return False
        product = products[0]
        sold = visit.completed_at + timedelta(minutes=self._between(2, 8))
        purchase = _Purchase(
            self.ids["packages_packagepurchase"].take(),
            product,
            visit.patient,
            visit.branch,
            sold,
            sold + product.validity,
        )
        self.purchases[purchase.id] = purchase
        for service_id, covering in self.chain.products.items():
            if product in covering:
                self.purchase_of[(visit.patient, service_id)] = purchase
        invoice = self.ids["invoicing_invoice"].take()
        self._invoice_rows(
            invoice,
            visit.patient,
            visit.branch,
            None,
            sold,
            product.price,
            self.chain.tax_bp,
            product.name,
            None,
            settled=True,
        )
        self.sales.append((purchase.id, invoice))
        self._due_back(visit.patient, visit.service, sold, day, purchase.id)
        return True

    def _session(self, visit: _Visit, purchase: _Purchase) -> None:
        if visit.status in ("booked", "confirmed"):
            status, settled = "reserved", None
            purchase.reserved += 1
        elif visit.status == "cancelled" and not visit.late:
            status, settled = "released", visit.cancelled_at
        else:
            status = "consumed" if visit.status == "completed" else "forfeited"
            settled = visit.completed_at or visit.cancelled_at or visit.start + timedelta(minutes=15)
            purchase.used += 1
        self.sessions.append((purchase.id, visit.id, status, visit.created_at, settled))

    def _packages_write(self) -> None:
        purchases = _Rows(
            "packages_packagepurchase",
            "id, product_id, patient_id, branch_id, name, sessions_total, used, reserved, price_minor, currency,"
            " status, sold_at, expires_at, cancel_reason, cancel_note",
        )
        for p in self.purchases.values():
            if p.used >= p.product.sessions:
                status = "used_up"
            elif p.expires_at <= self.now:
                status = "expired"
            else:
                status = "active"
            purchases.add(
                p.id,
                p.product.id,
                self.patient_ids[p.patient],
                p.branch,
                p.product.name,
                p.product.sessions,
                p.used,
                p.reserved,
                p.product.price,
                self.chain.currency,
                status,
                p.sold_at,
                p.expires_at,
                "",
                "",
            )
        sessions = _Rows(
            "packages_packagesession", "purchase_id, appointment_id, status, reserved_at, settled_at, note"
        )
        for purchase, appointment, status, reserved_at, settled in self.sessions:
            sessions.add(purchase, appointment, status, reserved_at, settled, "")
        sales = _Rows("invoicing_packagesale", "purchase_id, invoice_id")
        for purchase, invoice in self.sales:
            sales.add(purchase, invoice)
        for rows in (purchases, sessions, sales):
            self.written.rows[rows.table] += rows.copy()

    def _follow_up(self, visit: _Visit, day: date) -> None:
        rng = self.rng
        due = day + timedelta(days=self._between(14, 90))
        status = "open"
        if due < self.today:
            r = rng.random()
            status = "done" if r < 0.8 else ("cancelled" if r < 0.85 else "open")
        self.follow_ups.add(
            self.patient_ids[visit.patient],
            due,
            rng.choice(FOLLOW_UP_REASONS),
            status,
            visit.doctor,
            visit.doctor,
            visit.completed_at,
        )


def history_write(*, plan: HistoryPlan, now: datetime | None = None) -> Written:
    """Write a chain's history by ``plan`` into the current schema (see the module's docstring), in
    the caller's transaction if there is one."""
    return _History(plan, now or timezone.now()).run()


def history_present(*, plan: HistoryPlan, now: datetime | None = None) -> bool:
    """Whether the chain already has a past this far back: visits in the older half of the plan's
    period (what the rest of the demo books reaches a few weeks back at most)."""
    since = (now or timezone.now()) - timedelta(days=plan.days_back // 2)
    return CalendarEntry.objects.filter(kind=Kind.APPOINTMENT, span__startswith__lt=since).exists()


def _owner() -> bool:
    return bool(connection.settings_dict["USER"] == settings.DATABASE_ROLES["owner"]["USER"])


def _triggers(action: str) -> None:
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # A table with checks still pending (the foreign keys are checked at commit) cannot be
            # altered: run them now, and leave the rest of the transaction deferred as before.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in MARKED_TABLES:
            cursor.execute(f"ALTER TABLE {table} " + ", ".join(f"{action} TRIGGER {t}" for t in MARK_TRIGGERS))


@contextmanager
def marks_paused() -> Iterator[bool]:
    """Hold back the reporting triggers (migration reporting 0002) of the tables history is written
    to, for the block: one rebuild of the period's figures replaces a mark per row. Only the tables'
    owner may; as another role nothing is held back (yields False). Inside a transaction the pause is
    the transaction's own (other sessions' writes wait for it and are marked as ever)."""
    if not _owner():
        yield False
        return
    _triggers("DISABLE")
    try:
        yield True
    except BaseException:
        if not connection.in_atomic_block:  # a rollback takes a pause inside a transaction back with it
            _triggers("ENABLE")
        raise
    _triggers("ENABLE")


@contextmanager
def history_session() -> Iterator[None]:
    """One transaction for a chain's history and its figures. When nothing is in flight on this
    connection (`make demo`), it runs on the owner's own connection (tenants.db.owner_connection) in
    the same chain, so the reporting triggers can be held back; otherwise (a test) in the caller's."""
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    schema = connection.schema_name  # type: ignore[attr-defined]
    with owner_connection(), schema_context(schema), transaction.atomic():
        yield


def demo_history_load(*, plan: HistoryPlan, now: datetime | None = None) -> Written | None:
    """The demo chain's history, once: None when the chain has one already. Run it inside
    ``history_session``."""
    now = now or timezone.now()
    if history_present(plan=plan, now=now):
        return None
    with transaction.atomic():
        with connection.cursor() as cursor:  # two loads at once: the second finds the first's history
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('frontend.demo_history'), hashtext(current_schema()))"
            )
        if history_present(plan=plan, now=now):
            return None
        with marks_paused():
            written = history_write(plan=plan, now=now)
        _analyze_written()
        return written


def _analyze_written() -> None:
    """The planner's statistics of the tables the history filled (ANALYZE counts the rows of its own
    transaction), so the figures computed next over them are planned for their size, not for empty
    tables. Only the tables' owner may; another role's load goes without."""
    if _owner():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(MARKED_TABLES))
