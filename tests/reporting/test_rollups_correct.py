"""Every rollup equals the same figure computed straight from the operational tables.

A month around the next clock change is lived through the real services, day by day: bookings from
every source at two branches (one with a night clinic whose shifts cross the hour that is skipped or
repeated), early and late cancellations by patients and by the clinic, reschedules to another day and
doctor, no-shows, completed visits and their invoices, payments, refunds, credit notes, a void
invoice, a day's leave, leave given back, a branch closed for a day, an extra shift, reminders sent
to some patients and not to others. The rollups are refreshed from their marks along the way, as the
worker does; at the end each table is compared, row by row and figure by figure, with what this test
computes itself from the operational rows (a plain Python oracle sharing no code with
reporting.rollups), and a full rebuild gives the same rows again.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from invoicing import services as ledger
from invoicing.models import CreditNote, Invoice, InvoiceStatus, Payment, PaymentMethod, Refund
from notifications.dispatch import messages_dispatch_all
from notifications.models import Message
from reporting.models import (
    VISIT_FIGURES,
    BranchDay,
    BranchMoneyDay,
    BranchServiceDay,
    DoctorDay,
    MessageDay,
    MoneyDay,
    ServiceDay,
)
from reporting.rollups import rollups_rebuild, rollups_refresh_all
from scheduling import services as sched
from scheduling.exceptions import BookingRefused
from scheduling.models import (
    KEPT_STATUSES,
    Appointment,
    BranchHours,
    CalendarEntry,
    ExtraShift,
    Kind,
    ShiftPattern,
    Source,
    SpecialDay,
    Status,
)
from tenants.org.models import Branch, ChainSettings
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup, clock_changes, local_today
from tests.notifications.sent_world import messaging, reachable

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/London")
SOURCES = [Source.STAFF, Source.PHONE, Source.ONLINE, Source.WALK_IN, Source.WAITLIST]


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ZONE)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- the oracle: figures straight from the operational rows -----------------------------------------


def _minutes(day: date, starts: time, ends: time, tz: ZoneInfo) -> set[int]:
    lo = datetime.combine(day, starts, tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(day, ends, tzinfo=tz).astimezone(UTC)
    return set(range(int(lo.timestamp()) // 60, int(hi.timestamp()) // 60))


def _capacity(branch: Branch, doctor_id: int, day: date) -> tuple[int, int]:
    """(bookable minutes, shift minutes lost to leave): the branch open, the doctor on shift, less leave."""
    tz = ZoneInfo(branch.timezone)
    special = list(SpecialDay.objects.filter(branch=branch, date=day))
    open_: set[int] = set()
    if special:
        for s in special:
            if s.opens is not None and s.closes is not None:
                open_ |= _minutes(day, s.opens, s.closes, tz)
    else:
        for h in BranchHours.objects.filter(branch=branch, weekday=day.weekday()):
            open_ |= _minutes(day, h.opens, h.closes, tz)
    shift: set[int] = set()
    for p in ShiftPattern.objects.filter(branch=branch, doctor_id=doctor_id, weekday=day.weekday()):
        if p.valid_from <= day and (p.valid_until is None or day <= p.valid_until):
            shift |= _minutes(day, p.starts, p.ends, tz)
            if p.break_starts and p.break_ends:
                shift -= _minutes(day, p.break_starts, p.break_ends, tz)
    for e in ExtraShift.objects.filter(branch=branch, doctor_id=doctor_id, date=day):
        shift |= _minutes(day, e.starts, e.ends, tz)
    leave: set[int] = set()
    for entry in CalendarEntry.objects.filter(kind=Kind.LEAVE, doctor_id=doctor_id, status__in=KEPT_STATUSES):
        leave |= set(range(int(entry.busy.lower.timestamp()) // 60, int(entry.busy.upper.timestamp()) // 60))
    working = open_ & shift
    return len(working - leave), len(working & leave)


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def expected_visits(days: set[date]) -> tuple[dict[tuple[Any, ...], Counter[str]], dict[tuple[Any, ...], Counter[str]]]:
    """(ServiceDay figures by (branch, day, doctor, service), DoctorDay figures by (branch, day, doctor))."""
    tz_of = {b.pk: ZoneInfo(b.timezone) for b in Branch.objects.all()}
    appointments = list(Appointment.objects.exclude(status__in=[Status.HELD, Status.EXPIRED]))
    everything = list(Appointment.objects.all())
    completed = sorted((a for a in everything if a.status == Status.COMPLETED), key=lambda a: (a.span.lower, a.pk))
    first_completed: dict[int, int] = {}
    for a in completed:
        first_completed.setdefault(a.patient_id, a.pk)
    reminded = set(
        Message.objects.filter(kind="reminder", sent_at__isnull=False).values_list("appointment_id", flat=True)
    )
    by_service: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for a in appointments:
        day = _local_day(a.span.lower, tz_of[a.branch_id])
        if day not in days:
            continue
        c = by_service[(a.branch_id, day, a.doctor_id, a.service_id)]
        c["bookings"] += 1
        kept = a.status in KEPT_STATUSES
        if kept:
            c["appointments"] += 1
            c["booked_minutes"] += int((a.span.upper - a.span.lower).total_seconds() // 60)
        c["completed"] += a.status == Status.COMPLETED
        c["no_shows"] += a.status == Status.NO_SHOW
        if a.status == Status.CANCELLED:
            when = "late" if a.late_cancellation else "early"
            who = "patient" if a.cancelled_by_patient else "clinic"
            c[f"cancelled_{when}_{who}"] += 1
        c[f"source_{a.source}"] += 1
        if a.status == Status.COMPLETED:
            c["new_patients"] += first_completed.get(a.patient_id) == a.pk
            c["rebooked"] += any(
                n.patient_id == a.patient_id
                and n.status in KEPT_STATUSES
                and n.span.lower > a.span.lower
                and n.created_at <= a.span.upper + timedelta(days=30)
                for n in everything
            )
        if a.status in (Status.COMPLETED, Status.NO_SHOW) and a.pk in reminded:
            c["outcomes_reminded"] += 1
            c["no_shows_reminded"] += a.status == Status.NO_SHOW
    by_doctor: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for (branch_id, day, doctor_id, _), c in by_service.items():
        by_doctor[(branch_id, day, doctor_id)].update(c)
    doctors_at = {(p.branch_id, p.doctor_id) for p in ShiftPattern.objects.all()} | {
        (e.branch_id, e.doctor_id) for e in ExtraShift.objects.all()
    }
    branches = {b.pk: b for b in Branch.objects.all()}
    for branch_id, doctor_id in doctors_at:
        for day in days:
            capacity, leave = _capacity(branches[branch_id], doctor_id, day)
            if capacity or leave:
                cell = by_doctor[(branch_id, day, doctor_id)]
                cell["capacity_minutes"] = capacity
                cell["leave_minutes"] = leave
    return by_service, by_doctor


def expected_money(days: set[date]) -> dict[tuple[Any, ...], Counter[str]]:
    tz_of = {b.pk: ZoneInfo(b.timezone) for b in Branch.objects.all()}
    out: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)

    def cell(invoice: Invoice, moment: datetime) -> Counter[str] | None:
        day = _local_day(moment, tz_of[invoice.branch_id])
        if day not in days:
            return None
        visit = invoice.appointment
        key = (invoice.branch_id, day, visit and visit.doctor_id, visit and visit.service_id, invoice.currency)
        return out[key]

    for invoice in Invoice.objects.exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID]):
        if (c := cell(invoice, invoice.issued_at)) is not None:
            c["invoices"] += 1
            c["invoiced_minor"] += invoice.total_minor
    for note in CreditNote.objects.select_related("invoice"):
        if (c := cell(note.invoice, note.issued_at)) is not None:
            c["credited_minor"] += note.amount_minor
    for payment in Payment.objects.filter(status="succeeded").select_related("invoice"):
        if (c := cell(payment.invoice, payment.received_at)) is not None:
            c["payments"] += 1
            c["collected_minor"] += payment.amount_minor
    for refund in Refund.objects.filter(status="succeeded").select_related("payment__invoice"):
        if (c := cell(refund.payment.invoice, refund.at)) is not None:
            c["refunds"] += 1
            c["refunded_minor"] += refund.amount_minor
    return out


def expected_messages(days: set[date]) -> dict[tuple[Any, ...], Counter[str]]:
    tz_of = {b.pk: ZoneInfo(b.timezone) for b in Branch.objects.all()}
    chain_tz = ZoneInfo(ChainSettings.objects.get(pk=1).default_timezone)
    out: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    for m in Message.objects.all():
        day = _local_day(m.due_at, tz_of.get(m.branch_id, chain_tz))
        if day not in days:
            continue
        c = out[(m.branch_id, day, m.channel, m.kind)]
        c["messages"] += 1
        c["sent"] += m.sent_at is not None
        c["delivered"] += m.status == "delivered"
        c["failed"] += m.status in ("failed", "undelivered")
    return out


def _table(
    rows: Iterable[Any], key: tuple[str, ...], figures: Iterable[str], days: set[date]
) -> dict[Any, dict[str, int]]:
    names = list(figures)
    return {tuple(getattr(r, k) for k in key): {n: getattr(r, n) for n in names} for r in rows if r.day in days}


def _oracle(expected: dict[Any, Counter[str]], figures: Iterable[str]) -> dict[Any, dict[str, int]]:
    names = list(figures)
    return {k: {n: int(c[n]) for n in names} for k, c in expected.items() if any(c[n] for n in names)}


Cells = dict[tuple[Any, ...], Counter[str]]


def _summed(expected: Cells, kept: tuple[int, ...]) -> Cells:
    """The oracle's cells added up over the key positions not kept (a branch's day from its doctors')."""
    out: Cells = defaultdict(Counter)
    for key, figures in expected.items():
        out[tuple(key[i] for i in kept)].update(figures)
    return out


def rollups_and_oracle(days: set[date]) -> list[tuple[str, dict[Any, Any], dict[Any, Any]]]:
    by_service, by_doctor = expected_visits(days)
    money = expected_money(days)
    doctor_figures = [*VISIT_FIGURES, "capacity_minutes", "leave_minutes"]
    money_figures = [
        "invoices",
        "invoiced_minor",
        "credited_minor",
        "payments",
        "collected_minor",
        "refunds",
        "refunded_minor",
    ]
    message_figures = ["messages", "sent", "delivered", "failed"]
    return [
        (
            "ServiceDay",
            _table(ServiceDay.objects.all(), ("branch_id", "day", "doctor_id", "service_id"), VISIT_FIGURES, days),
            _oracle(by_service, VISIT_FIGURES),
        ),
        (
            "DoctorDay",
            _table(DoctorDay.objects.all(), ("branch_id", "day", "doctor_id"), doctor_figures, days),
            _oracle(by_doctor, doctor_figures),
        ),
        (
            "MoneyDay",
            _table(
                MoneyDay.objects.all(), ("branch_id", "day", "doctor_id", "service_id", "currency"), money_figures, days
            ),
            _oracle(money, money_figures),
        ),
        (
            "BranchDay",
            _table(BranchDay.objects.all(), ("branch_id", "day"), doctor_figures, days),
            _oracle(_summed(by_doctor, (0, 1)), doctor_figures),
        ),
        (
            "BranchServiceDay",
            _table(BranchServiceDay.objects.all(), ("branch_id", "day", "service_id"), VISIT_FIGURES, days),
            _oracle(_summed(by_service, (0, 1, 3)), VISIT_FIGURES),
        ),
        (
            "BranchMoneyDay",
            _table(BranchMoneyDay.objects.all(), ("branch_id", "day", "currency"), money_figures, days),
            _oracle(_summed(money, (0, 1, 4)), money_figures),
        ),
        (
            "MessageDay",
            _table(MessageDay.objects.all(), ("branch_id", "day", "channel", "kind"), message_figures, days),
            _oracle(expected_messages(days), message_figures),
        ),
    ]


def assert_rollups_equal_the_oracle(days: set[date]) -> None:
    for name, rollup, oracle in rollups_and_oracle(days):
        missing = {k: v for k, v in oracle.items() if k not in rollup}
        extra = {k: v for k, v in rollup.items() if k not in oracle and any(v.values())}
        wrong = {k: (rollup[k], v) for k, v in oracle.items() if k in rollup and rollup[k] != v}
        assert not missing, f"{name}: rows missing {missing}"
        assert not extra, f"{name}: rows that should not be there {extra}"
        assert not wrong, f"{name}: rows with other figures (rollup, oracle) {wrong}"


# --- the month --------------------------------------------------------------------------------------


def _live_through(clinics: list[Clinic], first: date, last: date, *, night: Clinic, change: date) -> None:
    """Book the month ahead, then live it day by day (see the module's docstring). Visits are booked on
    every third day and on the days around the clock change (the figures of the days between are
    the capacity alone)."""
    owner = clinics[0].owner
    desk = clinics[0].owner  # the owner works at both branches
    patients = [reachable(clinics[0]) for _ in range(8)] + [clinics[0].patient() for _ in range(5)]
    day_clinic = clinics[0]
    doctors = day_clinic.doctors
    # Closed for a day, an extra evening shift (the branch closes at 18:00: one hour of it counts),
    # a day of leave, and a morning of leave given back.
    sched.special_day_create(actor=owner, branch=day_clinic.branch, day=first + timedelta(days=3), note="Closed")
    sched.extra_shift_create(
        actor=owner,
        doctor=doctors[0],
        branch=day_clinic.branch,
        day=first + timedelta(days=6),
        starts=time(17),
        ends=time(19),
    )
    sched.leave_create(
        actor=owner, doctor=doctors[1], start=_at(first + timedelta(days=9), 0), end=_at(first + timedelta(days=10), 0)
    )
    given_back = sched.leave_create(
        actor=owner,
        doctor=doctors[0],
        start=_at(first + timedelta(days=12), 9),
        end=_at(first + timedelta(days=12), 12),
    )

    counter = itertools.count()
    booked: list[Appointment] = []
    busy = (
        {d for d in _days(first, last) if (d - first).days % 3 == 0}
        | {change + timedelta(days=n) for n in (-1, 0, 1)}
        | {last}
    )
    for day in sorted(busy):
        for clinic, hours in ((day_clinic, [9, 15]), (night, [0, 1, 23])):
            for k, doctor in enumerate(clinic.doctors):
                for s, hour in enumerate(hours):
                    n = next(counter)
                    patient = patients[
                        (day.toordinal() * 5 + s * 4 + k + (7 if clinic is night else 0)) % len(patients)
                    ]
                    # refused when closed, on leave, in the hour the clocks skip, or the patient is elsewhere
                    with contextlib.suppress(BookingRefused):
                        booked.append(
                            sched.appointment_book(
                                actor=desk,
                                patient=patient,
                                doctor=doctor,
                                branch=clinic.branch,
                                service=clinic.service,
                                start=_at(day, hour, 15 if hour < 2 else 0),
                                source=SOURCES[n % len(SOURCES)],
                            )
                        )
    rollups_refresh_all()
    sched.leave_cancel(actor=owner, leave=given_back)

    # Early: a patient cancels one in seven, the clinic one in eleven; one in thirteen moves a day on.
    for i, a in enumerate(booked):
        if i % 7 == 4:
            sched.appointment_cancel(actor=desk, appointment=a, patient_asked=True)
        elif i % 11 == 5:
            sched.appointment_cancel(actor=desk, appointment=a, reason="Doctor's training")
        elif i % 13 == 6:
            other = doctors[1 - doctors.index(a.doctor)] if a.branch_id == day_clinic.branch.pk else a.doctor
            with contextlib.suppress(BookingRefused):  # the time a day on is taken
                sched.appointment_reschedule(
                    actor=desk, appointment=a, start=a.span.lower + timedelta(days=1, hours=1), doctor=other
                )
    rollups_refresh_all()

    # One in nine of the visits still booked the evening before is cancelled late, patients and the
    # clinic taking turns (counted, not picked by id: ids depend on the run).
    seen = late = 0
    for day in sorted(busy):
        todays = [a for a in Appointment.objects.filter(status__in=[Status.BOOKED, Status.CONFIRMED]).order_by("span")]
        # The evening before: reminders go out; late cancellations of tomorrow's visits.
        with time_machine.travel(_at(day - timedelta(days=1), 20), tick=False):
            messages_dispatch_all(seconds=30)
            for a in todays:
                local = _local_day(a.span.lower, ZoneInfo(a.branch.timezone))
                if local != day:
                    continue
                seen += 1
                if seen % 9 == 4:
                    sched.appointment_cancel(actor=desk, appointment=a, patient_asked=late % 2 == 0)
                    late += 1
        if day >= last - timedelta(days=1):
            continue  # the last two days are still to come: their visits stay booked
        for a in Appointment.objects.filter(status__in=[Status.BOOKED, Status.CONFIRMED]).order_by("span"):
            if _local_day(a.span.lower, ZoneInfo(a.branch.timezone)) != day:
                continue
            with time_machine.travel(a.span.lower + timedelta(minutes=5), tick=False):
                if a.pk % 7 == 2:
                    continue  # left for after the visit: a no-show
                a = sched.appointment_check_in(actor=desk, appointment=a)
                a = sched.appointment_start(actor=desk, appointment=a)
                sched.appointment_complete(actor=desk, appointment=a)
        with time_machine.travel(_at(day, 23, 50), tick=False):
            for a in Appointment.objects.filter(status__in=[Status.BOOKED, Status.CONFIRMED]):
                if _local_day(a.span.lower, ZoneInfo(a.branch.timezone)) == day and a.span.lower < timezone.now():
                    sched.appointment_mark_no_show(actor=desk, appointment=a)
            _money_of_the_day(owner, day)
        if (day - first).days % 6 == 0:
            rollups_refresh_all()  # the worker's refresh, now and then, while the month goes on


def _money_of_the_day(owner: Any, day: date) -> None:
    """The day's invoices: most paid in full, some in part, some left owing, one voided, and a refund
    and a credit note on earlier ones."""
    for invoice in Invoice.objects.filter(status=InvoiceStatus.DRAFT):
        ledger.invoice_issue(actor=owner, invoice=invoice)
    issued = list(Invoice.objects.filter(status=InvoiceStatus.ISSUED, issued_at__date__gte=day - timedelta(days=1)))
    for invoice in issued:
        if invoice.pk % 10 == 1:
            ledger.invoice_void(actor=owner, invoice=invoice, reason="Raised twice")
        elif invoice.pk % 5 == 2:
            continue  # owing
        elif invoice.total_minor:
            share = invoice.total_minor // 2 if invoice.pk % 4 == 3 else invoice.total_minor
            ledger.payment_record(actor=owner, invoice=invoice, method=PaymentMethod.CASH, amount_minor=share)
    earlier = Payment.objects.filter(received_at__lt=timezone.now() - timedelta(days=2), refunded_minor=0).order_by(
        "pk"
    )
    for payment in earlier[:1]:
        ledger.refund_record(actor=owner, payment=payment, amount_minor=payment.amount_minor // 2, reason="Goodwill")
    open_ones = Invoice.objects.filter(status=InvoiceStatus.ISSUED, credited_minor=0).order_by("pk")
    for invoice in open_ones[:1]:
        ledger.credit_note_issue(
            actor=owner, invoice=invoice, amount_minor=invoice.total_minor // 4 or 1, reason="Discount"
        )


@pytest.fixture
def month(in_a):
    """The month's first and last days, a fortnight either side of the next clock change, lived through."""
    forward, back = clock_changes("Europe/London", after=local_today() + timedelta(days=21))
    change = min(forward, back)
    first, last = change - timedelta(days=13), change + timedelta(days=14)
    with time_machine.travel(_at(first - timedelta(days=2), 8), tick=False):
        messaging(offsets=[24 * 60], quiet=None)
        day_clinic = priced(clinic_setup(in_a, doctors=2, break_=(time(12, 30), time(13))), 6000)
        night = priced(
            clinic_setup(
                in_a,
                branch=in_a.branches[1],
                doctors=1,
                opens=time(0),
                closes=time(23, 59),
                shift=(time(0), time(2)),
            ),
            4500,
        )
        sched.shift_pattern_create(
            actor=night.owner,
            doctor=night.doctors[0],
            branch=night.branch,
            weekday=first.weekday(),
            starts=time(22),
            ends=time(23, 59),
            valid_from=first - timedelta(days=30),
        )
    with time_machine.travel(_at(first - timedelta(days=2), 9), tick=True):
        _live_through([day_clinic], first, last, night=night, change=change)
    return first, last, change


def test_every_rollup_equals_the_figures_computed_from_the_operational_tables_and_a_rebuild(month):
    first, last, change = month
    days = set(_days(first, last))
    # given a month lived through, its rollups refreshed from their marks as the worker does
    rollups_refresh_all()
    # then every row of every rollup is what the operational tables say, and nothing more
    assert_rollups_equal_the_oracle(days)
    # and the month is not empty of what the test means to check
    totals = Counter()
    for row in DoctorDay.objects.filter(day__range=(first, last)):
        totals.update({n: getattr(row, n) for n in [*VISIT_FIGURES, "leave_minutes"]})
    for name in (
        "completed",
        "no_shows",
        "cancelled_early_patient",
        "cancelled_early_clinic",
        "cancelled_late_patient",
        "cancelled_late_clinic",
        "source_online",
        "source_walk_in",
        "source_phone",
        "source_waitlist",
        "new_patients",
        "rebooked",
        "outcomes_reminded",
        "no_shows_reminded",
        "leave_minutes",
    ):
        assert totals[name] > 0, name
    assert totals["outcomes_reminded"] < totals["completed"] + totals["no_shows"]  # some had no reminder
    money = MoneyDay.objects.filter(day__range=(first, last))
    assert all(
        sum(getattr(r, n) for r in money) > 0
        for n in ("invoiced_minor", "collected_minor", "refunded_minor", "credited_minor")
    )
    # and the night clinic's shift of the day the clocks change (00:00 to 02:00) is one hour or three
    night = DoctorDay.objects.filter(day=change, capacity_minutes__lt=400).values_list("capacity_minutes", flat=True)
    assert list(night) in ([60], [180])
    # and computing everything again from scratch (the nightly repair) gives the very same rows
    kept = [(name, rollup) for name, rollup, _ in rollups_and_oracle(days)]
    rollups_rebuild(first=first, last=last)
    assert [(name, rollup) for name, rollup, _ in rollups_and_oracle(days)] == kept
