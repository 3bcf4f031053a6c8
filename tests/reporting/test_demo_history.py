"""The demo's history generator (frontend/demo_history.py) at a small scale in the test chain: the
rows it writes keep the rules of the calendar and the ledger, across a clock change, and the figures
computed from them tell the demo's story; loading the demo's history again adds nothing.

Every date comes from the run's clock: the generator's twelve weeks end a month after the next time
the clocks go back in London (the run travels there), so a clock change always lies inside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Count, F, Q, Sum

from frontend.demo_history import HistoryPlan, Written, demo_history_load, history_write
from invoicing.models import Counter as NumberCounter
from invoicing.models import Invoice, InvoiceLine, Payment
from notifications.models import Message
from patients.models import FollowUp, Patient
from reporting.models import DoctorDay
from reporting.period import Period
from reporting.rollups import rollups_rebuild
from reporting.selectors import doctors_load
from scheduling.models import Appointment, Leave, SpecialDay
from tests.factories import Chain
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup, clock_changes, local_today

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
WEEKS = 12


@dataclass
class World:
    one: Clinic  # consultations of 20 minutes and 5 after, a lunch break
    two: Clinic  # 30-minute sessions in a treatment room shared by its two doctors; cancels more
    plan: HistoryPlan
    written: Written
    clock_change: datetime


def _travel_after_clock_change() -> datetime:
    _, back = clock_changes("Europe/London", after=local_today())
    return datetime.combine(back + timedelta(days=30), time(12), tzinfo=LONDON)


def _world(chain: Chain) -> World:
    today = local_today()
    since = today - timedelta(days=WEEKS * 7 + 30)
    one = priced(
        clinic_setup(
            chain,
            branch=chain.branches[0],
            doctors=2,
            duration=20,
            after=5,
            shift=(time(9), time(17)),
            break_=(time(12), time(13)),
            valid_from=since,
        ),
        6500,
    )
    two = priced(
        clinic_setup(
            chain,
            branch=chain.branches[1],
            doctors=2,
            duration=30,
            shift=(time(8), time(16)),
            requires_room=True,
            rooms=1,
            valid_from=since,
        ),
        9000,
    )
    plan = HistoryPlan(
        days_back=WEEKS * 7,
        days_ahead=7,
        seed=3,
        cancel_heavy_branch=two.branch.pk,
        no_show_doctor=one.doctors[0].pk,
        overloaded_doctor=one.doctors[1].pk,
        remind_ahead=False,
    )
    _, back = clock_changes("Europe/London", after=today - timedelta(days=WEEKS * 7))
    return World(one, two, plan, history_write(plan=plan), datetime.combine(back, time(12), tzinfo=LONDON))


@pytest.fixture
def world(in_a: Chain) -> Iterator[World]:
    with time_machine.travel(_travel_after_clock_change(), tick=True):
        yield _world(in_a)


def _local(moment: datetime) -> time:
    return moment.astimezone(LONDON).time()


def test_every_visit_lies_on_its_doctors_shift_while_the_branch_is_open_on_the_branchs_clock(world):
    # given two years' worth of history written in bulk (here twelve weeks, a clock change inside)
    visits = list(Appointment.objects.select_related("service"))
    assert world.written.rows["appointments"] == len(visits) > 1500
    on_change_day = [v for v in visits if v.span.lower.astimezone(LONDON).date() == world.clock_change.date()]
    assert on_change_day  # the day the clocks went back was worked too
    for visit in visits:
        service = visit.service
        busy_from, busy_to = _local(visit.busy.lower), _local(visit.busy.upper)
        # then the visit and its buffers lie inside the shift, on the wall clock, whatever the offset
        assert visit.busy.lower == visit.span.lower - timedelta(minutes=service.buffer_before_minutes)
        assert visit.busy.upper == visit.span.upper + timedelta(minutes=service.buffer_after_minutes)
        if visit.branch_id == world.one.branch.pk:
            assert time(9) <= busy_from, visit.span
            assert busy_to <= time(17), visit.span
            assert busy_to <= time(12) or busy_from >= time(13), visit.span  # never over lunch
        else:
            assert time(8) <= busy_from, visit.span
            assert busy_to <= time(16), visit.span
            assert visit.room_id == world.two.rooms[0].pk
        assert _local(visit.span.lower).minute % 5 == 0
        # and it was booked before it began, stamped as what became of it
        assert visit.created_at < visit.span.lower
        if visit.status == "completed":
            assert visit.checked_in_at <= visit.started_at < visit.completed_at
        if visit.status == "cancelled":
            assert visit.created_at < visit.cancelled_at < visit.span.lower
            assert visit.late_cancellation == (visit.span.lower - visit.cancelled_at < timedelta(hours=24))
        else:
            assert visit.cancelled_at is None
    # and a doctor's active visits overlap only where one was squeezed in on purpose, with its reason
    squeezed = [v for v in visits if v.is_override]
    assert squeezed
    assert all(v.doctor_id == world.plan.overloaded_doctor and v.override_reason for v in squeezed)
    # and leave and public holidays are rows of their own tables, with no visit in them
    for leave in Leave.objects.all():
        assert not Appointment.objects.filter(
            doctor_id=leave.doctor_id, busy__overlap=leave.busy, status__in=("completed", "booked")
        ).exists()
    for closed in SpecialDay.objects.all():
        assert not Appointment.objects.filter(branch_id=closed.branch_id, span__startswith__date=closed.date).exists()


def test_the_ledger_and_the_messages_follow_the_visits(world):
    completed = Appointment.objects.filter(status="completed")
    # then every completed visit has one invoice, issued as it ended, at the branch's price
    invoices = Invoice.objects.filter(appointment__isnull=False)
    assert invoices.count() == completed.count()
    for invoice in invoices.select_related("appointment"):
        assert invoice.issued_at == invoice.appointment.completed_at
        assert invoice.total_minor == (6500 if invoice.branch_id == world.one.branch.pk else 9000)
    assert not Invoice.objects.filter(appointment__status__in=("cancelled", "no_show", "booked")).exists()
    lines = InvoiceLine.objects.values("invoice_id").annotate(total=Sum("total_minor"))
    assert all(line["total"] == Invoice.objects.get(pk=line["invoice_id"]).total_minor for line in lines[:200])
    # and most are paid at the desk that day, some later or not yet, a few credited, refunded or voided
    statuses = Counter(Invoice.objects.values_list("status", flat=True))
    assert statuses["paid"] > 0.8 * sum(statuses.values())
    assert statuses["issued"] > 0
    assert sum(Payment.objects.values_list("amount_minor", flat=True)) == sum(
        Invoice.objects.values_list("paid_minor", flat=True)
    )
    # and the numbers are the chain's own, gap-free: the counter goes on after the last
    numbers = sorted(int(n.split("-")[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))
    assert NumberCounter.objects.get(name="invoice").next_value == len(numbers) + 1
    # and confirmations went when the bookings were made (walk-ins have none), reminders a day before
    confirmations = Message.objects.filter(kind="confirmation").select_related("appointment")
    assert confirmations.exists()
    assert not confirmations.filter(appointment__source="walk_in").exists()
    assert all(m.sent_at == m.due_at == m.appointment.created_at and "\u2026" in m.body for m in confirmations)
    reminders = Message.objects.filter(kind="reminder").select_related("appointment")
    assert all(m.due_at == m.appointment.span.lower - timedelta(days=1) for m in reminders)
    # and texts only to patients who agreed to them, in the chain's language
    texted = Patient.objects.filter(messages__channel="sms").distinct()
    assert not texted.filter(sms_consent_at__isnull=True).exists()
    assert not Message.objects.exclude(language=Message.objects.values_list("language", flat=True)[0]).exists()
    # and some visits left a follow-up, done or open; the open ones past their day are the backlog
    assert FollowUp.objects.filter(status="done").exists()
    assert FollowUp.objects.filter(status="open", due_date__lt=local_today()).exists()
    # and patients came back, new ones arrived over the weeks
    seen = Patient.objects.annotate(visits=Count("appointments", filter=Q(appointments__status="completed")))
    assert seen.filter(visits__gte=2).exists()
    assert seen.filter(visits=1).exists()


def test_the_figures_tell_the_demos_story(world, chain_a):
    # when the figures are computed over the history and the days ahead
    rollups_rebuild(first=world.written.first_day, last=world.written.last_day)
    days = DoctorDay.objects.filter(day__lt=local_today())

    def rate(qs, part, whole) -> float:
        totals = qs.aggregate(part=Sum(part), whole=Sum(whole))
        return totals["part"] / totals["whole"]

    cancelled = (
        F("cancelled_early_patient")
        + F("cancelled_late_patient")
        + F("cancelled_early_clinic")
        + F("cancelled_late_clinic")
    )
    days = days.annotate(cancelled=cancelled, outcomes=F("completed") + F("no_shows"))
    # then the branch that cancels more does, by far
    heavy = rate(days.filter(branch_id=world.two.branch.pk), "cancelled", "bookings")
    usual = rate(days.filter(branch_id=world.one.branch.pk), "cancelled", "bookings")
    assert heavy > 1.6 * usual
    # and one doctor's patients miss their visits more often than the others'
    careless = rate(days.filter(doctor_id=world.plan.no_show_doctor), "no_shows", "outcomes")
    others = rate(days.exclude(doctor_id=world.plan.no_show_doctor), "no_shows", "outcomes")
    assert careless > 1.8 * others
    # and a reminder sent makes a no-show much less likely
    totals = days.aggregate(
        reminded=Sum("outcomes_reminded"),
        missed_reminded=Sum("no_shows_reminded"),
        seen_or_missed=Sum("outcomes"),
        missed=Sum("no_shows"),
    )
    reminded = totals["missed_reminded"] / totals["reminded"]
    not_reminded = (totals["missed"] - totals["missed_reminded"]) / (totals["seen_or_missed"] - totals["reminded"])
    assert reminded < 0.6 * not_reminded
    # and the chain grew: more of its doctors' time booked in the last four weeks than in the first four
    first_weeks = days.filter(day__lt=world.written.first_day + timedelta(days=28))
    last_weeks = days.filter(day__gte=local_today() - timedelta(days=28))
    assert rate(last_weeks, "booked_minutes", "capacity_minutes") > rate(
        first_weeks, "booked_minutes", "capacity_minutes"
    )
    # and new patients arrived while others came back and booked again
    new, completed, rebooked = (days.aggregate(s=Sum(n))["s"] for n in ("new_patients", "completed", "rebooked"))
    assert 0 < new < completed
    assert rebooked > 0
    # and the overloaded doctor is over 90% of her capacity from tomorrow to the end of next week,
    # at the top of the dashboards' list of doctors overloaded
    tomorrow = local_today() + timedelta(days=1)
    ahead = Period(tomorrow, tomorrow + timedelta(days=12 - local_today().weekday()))
    loads = doctors_load(actor=chain_a.users["owner"], period=ahead)
    assert loads[0].doctor_id == world.plan.overloaded_doctor
    assert loads[0].utilization > 0.9
    assert loads[0].overloaded


def test_the_demo_history_is_loaded_once(in_a):
    # given a chain with doctors on shift for the last weeks
    clinic = priced(clinic_setup(in_a, doctors=2, valid_from=local_today() - timedelta(days=60)), 5000)
    plan = HistoryPlan(days_back=28, remind_ahead=False)

    def counts() -> tuple[int, ...]:
        return (
            Appointment.objects.count(),
            Patient.objects.count(),
            Invoice.objects.count(),
            Message.objects.count(),
            Leave.objects.count(),
        )

    # when the demo's history is loaded, and loaded again
    first = demo_history_load(plan=plan)
    after_first = counts()
    again = demo_history_load(plan=plan)

    # then the first load wrote weeks of visits for its doctors, and the second nothing
    assert first is not None
    assert first.rows["appointments"] > 100
    assert set(Appointment.objects.values_list("doctor_id", flat=True)) == {d.pk for d in clinic.doctors}
    assert again is None
    assert counts() == after_first
