"""The work lists (reporting.worklists): which follow-ups are due, overdue or missed after a paid
visit; invoices by age at the edges of each bucket; package sessions in order of their end.

Everything is made through the real services on the run's clock moved with time-machine: visits on a
Monday ahead (MONDAY), the lists read ten days later (TODAY)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine

from invoicing import services as billing
from invoicing.models import Invoice, PaymentMethod
from packages.models import PurchaseStatus
from packages.tasks import packages_expire
from patients.models import FollowUp, Patient
from patients.services import care_team_assign, follow_up_close, follow_up_create
from reporting import worklists as wl
from reporting.exceptions import BranchNotInReach
from scheduling import services as sched
from scheduling.models import Appointment
from tenants.authz import Actor
from tenants.org.models import StaffMember
from tests.factories.invoicing import PRICE, priced
from tests.factories.packages import product, sold
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup

pytestmark = pytest.mark.django_db

TODAY = MONDAY + timedelta(days=10)


def visit(
    clinic: Clinic,
    patient: Patient,
    *,
    day: date = MONDAY,
    hour: int = 10,
    doctor: StaffMember | None = None,
    desk: Actor | None = None,
) -> Invoice:
    """A visit booked two days ahead, seen and completed on its day (by reception, or ``desk``): the
    invoice its completion issued."""
    desk = desk or clinic.receptionist
    with time_machine.travel(clinic.at(day, hour) - timedelta(days=2), tick=False):
        appointment = book(
            clinic, clinic.at(day, hour), patient=patient, doctor=doctor or clinic.doctors[0], actor=desk
        )
    with time_machine.travel(clinic.at(day, hour), tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            appointment = step(actor=desk, appointment=appointment)
    return Invoice.objects.get(appointment_id=appointment.pk)


def pay(clinic: Clinic, invoice: Invoice, *, at: datetime, desk: Actor | None = None) -> None:
    with time_machine.travel(at, tick=False):
        billing.payment_record(
            actor=desk or clinic.receptionist,
            invoice=invoice,
            method=PaymentMethod.CASH,
            amount_minor=invoice.total_minor,
        )


def paid_visit(
    clinic: Clinic,
    patient: Patient,
    *,
    day: date = MONDAY,
    hour: int = 10,
    doctor: StaffMember | None = None,
    desk: Actor | None = None,
) -> Invoice:
    invoice = visit(clinic, patient, day=day, hour=hour, doctor=doctor, desk=desk)
    pay(clinic, invoice, at=clinic.at(day, hour, 45), desk=desk)
    return invoice


def follow_up(
    clinic: Clinic, patient: Patient, *, due: date, doctor: StaffMember | None = None, written: date = MONDAY
) -> FollowUp:
    """A follow-up written by the doctor at the end of ``written`` (after that day's visits)."""
    author = doctor or clinic.doctors[0]
    with time_machine.travel(clinic.at(written, 17, 30), tick=False):
        return follow_up_create(actor=author.user, patient=patient, due_date=due, reason=f"Review {patient.last_name}")


def now_at(clinic: Clinic, day: date = TODAY, hour: int = 12) -> datetime:
    return clinic.at(day, hour)


@pytest.fixture
def clinic(in_a) -> Clinic:
    return priced(clinic_setup(in_a))


def _by_patient(rows: list[wl.CallBack]) -> dict[int, wl.CallBack]:
    return {r.patient_id: r for r in rows}


def test_each_follow_up_falls_in_its_bucket(clinic):
    # given five patients seen on Monday, each with a follow-up written after the visit
    missed, unpaid, rebooked, due, later = (clinic.patient(n) for n in ("Mia", "Una", "Rob", "Dua", "Lea"))
    for hour, patient in enumerate((missed, rebooked, due, later), start=9):
        paid_visit(clinic, patient, hour=hour)
    visit(clinic, unpaid, hour=13)  # seen, its invoice still owed
    follow_up(clinic, missed, due=MONDAY + timedelta(days=7))
    follow_up(clinic, unpaid, due=MONDAY + timedelta(days=7))
    follow_up(clinic, rebooked, due=MONDAY + timedelta(days=7))
    follow_up(clinic, due, due=TODAY + timedelta(days=wl.DUE_WITHIN_DAYS))  # the last day that is "due"
    follow_up(clinic, later, due=TODAY + timedelta(days=wl.DUE_WITHIN_DAYS + 1))
    # and one of them booked again the day after the follow-up was written
    with time_machine.travel(clinic.at(MONDAY + timedelta(days=1), 9), tick=False):
        next_visit = book(clinic, clinic.at(TODAY + timedelta(days=5), 10), patient=rebooked)
    # when the owner reads the list ten days after the visits
    rows = list(wl.call_back_list(actor=clinic.owner, now=now_at(clinic)))
    # then the overdue ones come first (longest overdue), the one due within 14 days last, the later one not at all
    assert [r.patient_id for r in rows][-1] == due.pk
    assert {r.patient_id for r in rows} == {missed.pk, unpaid.pk, rebooked.pk, due.pk}
    got = _by_patient(rows)
    # and only the patient who paid and booked nothing since missed it
    assert got[missed.pk].bucket == wl.CallBackBucket.MISSED
    assert got[unpaid.pk].bucket == wl.CallBackBucket.OVERDUE  # no paid visit
    assert got[rebooked.pk].bucket == wl.CallBackBucket.OVERDUE  # booked since
    assert got[due.pk].bucket == wl.CallBackBucket.DUE
    assert (got[missed.pk].days_overdue, got[due.pk].days_overdue) == (3, 0)
    # and each row names the last paid visit and the next booking
    assert got[missed.pk].last_paid_visit is not None
    assert got[missed.pk].last_paid_visit.start.date() == MONDAY
    assert got[missed.pk].last_paid_visit.service_name == clinic.service.name
    assert got[unpaid.pk].last_paid_visit is None
    assert got[rebooked.pk].next_appointment is not None
    assert got[rebooked.pk].next_appointment.appointment_id == next_visit.pk
    assert got[missed.pk].branch_id == clinic.branch.pk
    # and the counts say the same: overdue includes the missed one
    counts = wl.call_back_counts(actor=clinic.owner, now=now_at(clinic))
    assert counts == wl.CallBackCounts(due=1, overdue=3, missed=1)
    # and each bucket filter lists its own
    overdue = wl.call_back_list(actor=clinic.owner, bucket=wl.CallBackBucket.OVERDUE, now=now_at(clinic))
    assert {r.patient_id for r in overdue} == {missed.pk, unpaid.pk, rebooked.pk}
    only_missed = wl.call_back_list(actor=clinic.owner, bucket=wl.CallBackBucket.MISSED, now=now_at(clinic))
    assert [r.patient_id for r in only_missed] == [missed.pk]


def test_a_follow_up_due_today_is_due_and_overdue_from_tomorrow(clinic):
    # given a paid visit and a follow-up due on TODAY
    patient = clinic.patient()
    paid_visit(clinic, patient)
    follow_up(clinic, patient, due=TODAY)
    # when read late on TODAY, then early the next day (the chain's calendar)
    late = wl.call_back_list(actor=clinic.owner, now=clinic.at(TODAY, 23, 30))
    next_day = wl.call_back_list(actor=clinic.owner, now=clinic.at(TODAY + timedelta(days=1), 0, 30))
    # then it is due that day and missed (overdue by a day) the next
    assert [(r.bucket, r.days_overdue) for r in late] == [(wl.CallBackBucket.DUE, 0)]
    assert [(r.bucket, r.days_overdue) for r in next_day] == [(wl.CallBackBucket.MISSED, 1)]


@pytest.mark.parametrize(("due_after_visit", "bucket"), [(0, "overdue"), (1, "missed")])
def test_the_paid_visit_must_come_before_the_due_date(clinic, due_after_visit, bucket):
    # given a paid visit on Monday and a follow-up written after it, due that day or the next
    patient = clinic.patient()
    paid_visit(clinic, patient)
    follow_up(clinic, patient, due=MONDAY + timedelta(days=due_after_visit))
    # when read ten days later
    [row] = wl.call_back_list(actor=clinic.owner, now=now_at(clinic))
    # then a visit on the due day itself is not one before it
    assert row.bucket == bucket


def test_a_cancelled_booking_since_still_leaves_it_missed(clinic):
    # given a paid visit, its follow-up overdue, and a booking made since that was then cancelled
    patient = clinic.patient()
    paid_visit(clinic, patient)
    follow_up(clinic, patient, due=MONDAY + timedelta(days=5))
    with time_machine.travel(clinic.at(MONDAY + timedelta(days=2), 9), tick=False):
        booked = book(clinic, clinic.at(TODAY + timedelta(days=3), 10), patient=patient)
        sched.appointment_cancel(actor=clinic.receptionist, appointment=booked, reason="Could not come")
    # when read on TODAY
    [row] = wl.call_back_list(actor=clinic.owner, now=now_at(clinic))
    # then nothing was kept since it was written: missed, and no next appointment
    assert (row.bucket, row.next_appointment) == (wl.CallBackBucket.MISSED, None)


def test_closed_follow_ups_are_not_listed(clinic):
    patient = clinic.patient()
    paid_visit(clinic, patient)
    done = follow_up(clinic, patient, due=MONDAY + timedelta(days=5))
    follow_up(clinic, patient, due=MONDAY + timedelta(days=6))
    follow_up_close(actor=clinic.doctors[0].user, follow_up=done)
    rows = list(wl.call_back_list(actor=clinic.owner, now=now_at(clinic)))
    assert done.pk not in {r.follow_up_id for r in rows}
    assert len(rows) == 1


def test_reception_reads_who_the_follow_up_is_with_not_its_reason(clinic):
    patient = clinic.patient()
    paid_visit(clinic, patient)
    follow_up(clinic, patient, due=TODAY + timedelta(days=2))
    doctor_name = clinic.doctors[0].user.get_full_name()
    [as_owner] = wl.call_back_list(actor=clinic.owner, now=now_at(clinic))
    [as_desk] = wl.call_back_list(actor=clinic.receptionist, now=now_at(clinic))
    assert as_owner.reason == f"Review {patient.last_name}"
    assert as_desk.reason == f"Follow-up with {doctor_name}"
    assert patient.last_name not in as_desk.cells()["reason"]


def test_a_follow_ups_branch_is_its_patients_last_visit(clinic, in_a):
    # given a patient seen at the first branch, then last at the second
    there = priced(clinic_setup(in_a, branch=in_a.branches[1], doctors=1))
    patient = clinic.patient()
    paid_visit(clinic, patient)
    paid_visit(there, patient, day=MONDAY + timedelta(days=1), desk=clinic.owner)
    follow_up(clinic, patient, due=TODAY + timedelta(days=1))
    # when the owner narrows the list to each branch
    first = wl.call_back_list(actor=clinic.owner, branch_ids=[clinic.branch.pk], now=now_at(clinic))
    second = wl.call_back_list(actor=clinic.owner, branch_ids=[there.branch.pk], now=now_at(clinic))
    # then it is the second branch's
    assert (first.count(), second.count()) == (0, 1)
    assert second[0:1][0].branch_name == there.branch.name
    # and reception of the first branch does not see it; asking for the second is refused
    assert wl.call_back_list(actor=clinic.receptionist, now=now_at(clinic)).count() == 0
    with pytest.raises(BranchNotInReach):
        wl.call_back_list(actor=clinic.receptionist, branch_ids=[there.branch.pk], now=now_at(clinic))


def test_a_doctor_sees_her_follow_ups_and_her_patients(clinic):
    # given two doctors: the first saw one patient; the second wrote a follow-up for him and one for her own
    mine, theirs = clinic.patient(), clinic.patient()
    first, second = clinic.doctors
    paid_visit(clinic, mine, doctor=first)
    paid_visit(clinic, theirs, doctor=second)
    care_team_assign(actor=clinic.owner, patient=mine, doctor=second)
    hers = follow_up(clinic, mine, due=TODAY, doctor=first)
    colleagues_for_mine = follow_up(clinic, mine, due=TODAY + timedelta(days=1), doctor=second)
    follow_up(clinic, theirs, due=TODAY, doctor=second)
    # when the first doctor reads the list
    rows = wl.call_back_list(actor=first.user, now=now_at(clinic))
    # then she sees her own and her patient's, not her colleague's other patient
    assert {r.follow_up_id for r in rows} == {hers.pk, colleagues_for_mine.pk}
    # and narrowing to herself leaves her own
    own = wl.call_back_list(actor=first.user, doctor_ids=[first.pk], now=now_at(clinic))
    assert [r.follow_up_id for r in own] == [hers.pk]


# --- invoices to chase ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("after_due", "bucket"),
    [
        (timedelta(seconds=-1), "current"),
        (timedelta(0), "1_30"),
        (timedelta(days=30, hours=23), "1_30"),
        (timedelta(days=31), "31_60"),
        (timedelta(days=60, hours=23), "31_60"),
        (timedelta(days=61), "61_90"),
        (timedelta(days=90, hours=23), "61_90"),
        (timedelta(days=91), "over_90"),
        (timedelta(days=400), "over_90"),
    ],
)
def test_an_invoice_falls_in_its_age_bucket_at_each_edge(clinic, after_due, bucket):
    # given a visit's invoice, still owed
    invoice = visit(clinic, clinic.patient())
    assert invoice.due_at is not None
    now = invoice.due_at + after_due
    # when the list is read that long after its due date
    rows = list(wl.receivable_list(actor=clinic.owner, now=now))
    # then the row is in the bucket invoicing.selectors.age_bucket says, and only that bucket's filter finds it
    assert [(r.invoice_id, r.bucket) for r in rows] == [(invoice.pk, bucket)]
    found = {name for name in wl.AGE_BUCKET_NAMES if wl.receivable_list(actor=clinic.owner, bucket=name, now=now)}
    assert found == {bucket}
    # and the aging totals put its amount there
    [aging] = wl.receivables_aging(actor=clinic.owner, now=now)
    assert aging.buckets[bucket] == aging.total_minor == PRICE
    assert aging.past_due_minor == (0 if bucket == "current" else PRICE)


def test_invoices_to_chase_owe_something_and_come_oldest_first(clinic):
    # given three visits a week apart: the first paid in part, the second paid, the third owed
    first, second, third = (visit(clinic, clinic.patient(), day=MONDAY + timedelta(days=7 * n)) for n in range(3))
    with time_machine.travel(clinic.at(MONDAY, 11), tick=False):
        billing.payment_record(
            actor=clinic.receptionist, invoice=first, method=PaymentMethod.CASH, amount_minor=PRICE - 1000
        )
    pay(clinic, second, at=clinic.at(MONDAY + timedelta(days=7), 11))
    # when billing reads the list a month after the last visit
    now = clinic.at(MONDAY + timedelta(days=45), 12)
    rows = list(wl.receivable_list(actor=clinic.chain.users["billing"], now=now))
    # then the paid one is gone and the oldest due comes first, with what is still owed and the last payment
    assert [r.invoice_id for r in rows] == [first.pk, third.pk]
    assert [r.owed_minor for r in rows] == [1000, PRICE]
    assert rows[0].last_payment_at == clinic.at(MONDAY, 11)
    assert rows[1].last_payment_at is None
    assert rows[0].days_past_due == (now - first.due_at).days
    # and the aging table sums them per branch and currency
    [aging] = wl.receivables_aging(actor=clinic.chain.users["billing"], now=now)
    assert (aging.branch_id, aging.currency, aging.invoices, aging.total_minor) == (
        clinic.branch.pk,
        first.currency,
        2,
        PRICE + 1000,
    )


def test_receivables_of_one_doctor(clinic):
    one, other = clinic.doctors
    mine = visit(clinic, clinic.patient(), doctor=one)
    visit(clinic, clinic.patient(), doctor=other)
    rows = wl.receivable_list(actor=clinic.owner, doctor_ids=[one.pk], now=now_at(clinic))
    assert [r.invoice_id for r in rows] == [mine.pk]


# --- package sessions --------------------------------------------------------------------------------
def test_packages_ending_soon_come_first_then_later_ones_then_those_just_ended(clinic):
    now = now_at(clinic)
    # given purchases sold over the last weeks, of products valid for different lengths
    p20, p10, p60, p_gone, p_long_gone, p_spent = (clinic.patient() for _ in range(6))
    ends_in_20 = sold(clinic, p20, of=product(clinic, validity_days=20, name="Twenty"), now=now)
    ends_in_10 = sold(clinic, p10, of=product(clinic, validity_days=10, name="Ten"), now=now)
    ends_in_60 = sold(clinic, p60, of=product(clinic, validity_days=60, name="Sixty"), now=now)
    five = product(clinic, validity_days=5, name="Five")
    ended_5_ago = sold(clinic, p_gone, of=five, now=now - timedelta(days=10))
    sold(clinic, p_long_gone, of=five, now=now - timedelta(days=40))  # ended 35 days ago: not listed
    # and one whose every session is booked (none left to book)
    spent = sold(clinic, p_spent, of=product(clinic, sessions=1, validity_days=10, name="One"), now=now)
    with time_machine.travel(now, tick=False):
        book(clinic, clinic.at(TODAY + timedelta(days=2), 10), patient=p_spent)
    # and the hourly task has marked the ended ones
    with time_machine.travel(now, tick=False):
        packages_expire()
    # when the owner reads the list
    rows = list(wl.package_list(actor=clinic.owner, now=now))
    # then: ending within 30 days (soonest first), later, then ended within 30 days
    assert [r.purchase_id for r in rows] == [ends_in_10.pk, ends_in_20.pk, ends_in_60.pk, ended_5_ago.pk]
    assert [r.bucket for r in rows] == [
        wl.PackageBucket.EXPIRING,
        wl.PackageBucket.EXPIRING,
        wl.PackageBucket.LATER,
        wl.PackageBucket.EXPIRED,
    ]
    assert [r.days_to_expiry for r in rows] == [10, 20, 60, -5]
    assert [r.sessions_left for r in rows] == [3, 3, 3, 3]
    assert spent.pk not in {r.purchase_id for r in rows}
    assert ended_5_ago.pk in {
        r.purchase_id for r in wl.package_list(actor=clinic.owner, bucket=wl.PackageBucket.EXPIRED, now=now)
    }
    # and the totals per product say the same
    totals = {t.name: t for t in wl.package_totals(actor=clinic.owner, now=now)}
    assert (totals["Ten"].sessions_expiring, totals["Sixty"].sessions_expiring, totals["Sixty"].sessions_left) == (
        3,
        0,
        3,
    )
    assert (totals["Five"].expired_purchases, totals["Five"].sessions_expired, totals["Five"].purchases) == (1, 3, 0)
    assert "One" not in totals


def test_an_ended_purchase_the_task_has_not_marked_yet_reads_as_ended(clinic):
    now = now_at(clinic)
    purchase = sold(clinic, clinic.patient(), of=product(clinic, validity_days=5), now=now - timedelta(days=6))
    assert purchase.status == PurchaseStatus.ACTIVE
    [row] = wl.package_list(actor=clinic.owner, now=now)
    assert (row.purchase_id, row.bucket) == (purchase.pk, wl.PackageBucket.EXPIRED)


def test_a_booked_session_is_not_left(clinic):
    now = now_at(clinic)
    patient = clinic.patient()
    purchase = sold(clinic, patient, of=product(clinic, sessions=3), now=now)
    with time_machine.travel(now, tick=False):
        book(clinic, clinic.at(TODAY + timedelta(days=2), 10), patient=patient)
    [row] = wl.package_list(actor=clinic.owner, now=now)
    assert (row.purchase_id, row.sessions_left, row.sessions_reserved) == (purchase.pk, 2, 1)
    assert Appointment.objects.filter(patient=patient).count() == 1
