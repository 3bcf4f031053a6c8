"""The no-show sweep (scheduling/no_shows.py, scheduling/tasks.py): a visit nobody checked in is
marked a no-show by the system once the chain's grace period has passed, never before, never over
what staff did, once however often it runs; billing's fee follows; repeated no-shows flag the patient."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from invoicing.fees import FeeCharge, FeeKind, FeeRule
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn
from scheduling import services as sched
from scheduling.models import Appointment, Status
from scheduling.no_shows import months_before, no_show_record, no_show_records, no_shows_mark, no_shows_overdue
from scheduling.tasks import no_shows_mark_task
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book


def _status(appointment: Appointment) -> str:
    appointment.refresh_from_db()
    return appointment.status


def test_the_sweep_marks_a_visit_nobody_came_to_after_the_grace_period_and_not_before(clinic):
    # given a visit at 10:00 and the chain's default grace period of 15 minutes
    visit = book(clinic, clinic.at(MONDAY, 10))
    # when the sweep runs at 10:14, inside the grace period
    marked = no_shows_mark(now=clinic.at(MONDAY, 10, 14))
    # then nothing is marked yet
    assert marked == 0
    assert _status(visit) == Status.BOOKED
    # when it runs again at 10:16, past it
    marked = no_shows_mark(now=clinic.at(MONDAY, 10, 16))
    # then the visit is a no-show, recorded as the system's doing (no user in its history)
    assert marked == 1
    assert _status(visit) == Status.NO_SHOW
    last = visit.history.order_by("-history_id").first()
    assert last.status == Status.NO_SHOW
    assert last.history_user_id is None


def test_the_chains_grace_period_decides_when(clinic):
    # given a chain that waits 40 minutes
    sched.policy_update(actor=clinic.owner, no_show_grace_minutes=40)
    visit = book(clinic, clinic.at(MONDAY, 10))
    # when the sweep runs at 10:30 and at 10:41
    first = no_shows_mark(now=clinic.at(MONDAY, 10, 30))
    second = no_shows_mark(now=clinic.at(MONDAY, 10, 41))
    # then only the second marks it
    assert (first, second) == (0, 1)
    assert _status(visit) == Status.NO_SHOW


def test_the_sweep_leaves_what_staff_already_acted_on(clinic):
    # given five visits of one morning: checked in, seen, cancelled, marked by the desk, one confirmed (untouched)
    desk = clinic.receptionist
    checked, seen, cancelled, marked, confirmed = (book(clinic, clinic.at(MONDAY, h)) for h in (9, 10, 11, 12, 13))
    with time_machine.travel(clinic.at(MONDAY, 8, 55), tick=False):
        sched.appointment_check_in(actor=desk, appointment=checked)
        sched.appointment_cancel(actor=desk, appointment=cancelled, reason="Unwell")
        sched.appointment_confirm(actor=desk, appointment=confirmed)
    with time_machine.travel(clinic.at(MONDAY, 10, 5), tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            seen = step(actor=desk, appointment=seen)
    sched.appointment_mark_no_show(actor=desk, appointment=marked, now=clinic.at(MONDAY, 12, 5))
    # when the sweep runs at 13:30
    count = no_shows_mark(now=clinic.at(MONDAY, 13, 30))
    # then only the confirmed visit is marked; the others keep what staff made of them
    assert count == 1
    assert [_status(a) for a in (checked, seen, cancelled, marked, confirmed)] == [
        Status.CHECKED_IN,
        Status.COMPLETED,
        Status.CANCELLED,
        Status.NO_SHOW,
        Status.NO_SHOW,
    ]
    desk_marked = marked.history.filter(status=Status.NO_SHOW).get()
    assert desk_marked.history_user_id == desk.pk  # the desk's marking stays the desk's


def test_the_sweep_run_twice_marks_once_and_raises_one_fee(clinic):
    # given a priced visit and a chain whose no-show fee is 25.00
    priced(clinic)
    fees.fee_policy_update(
        actor=clinic.owner, no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500), late_cancellation=FeeRuleIn()
    )
    visit = book(clinic, clinic.at(MONDAY, 10))
    # when the sweep runs twice past the grace period
    runs = [no_shows_mark(now=clinic.at(MONDAY, 10, 20)), no_shows_mark(now=clinic.at(MONDAY, 10, 25))]
    # then it marked once, and billing's fee (its AppointmentNoShow subscriber) was raised once
    assert runs == [1, 0]
    assert visit.history.filter(status=Status.NO_SHOW).count() == 1
    charge = FeeCharge.objects.get(appointment_id=visit.pk)
    assert (charge.kind, charge.amount_minor) == (FeeKind.NO_SHOW, 2500)


def test_a_visit_moved_later_or_long_past_is_not_marked(clinic):
    # given a visit moved from 10:00 to 11:00, and one that started two days before the sweep
    moved = book(clinic, clinic.at(MONDAY, 10))
    sched.appointment_reschedule(actor=clinic.receptionist, appointment=moved, start=clinic.at(MONDAY, 11))
    old = book(clinic, clinic.at(MONDAY, 9))
    # when the sweep runs at 10:20, and one runs two days after the old visit
    assert no_shows_mark(now=clinic.at(MONDAY, 10, 20)) == 1  # only the 09:00 visit
    # then the moved visit waits for its own time
    assert _status(moved) == Status.BOOKED
    assert no_shows_overdue(now=clinic.at(MONDAY + timedelta(days=2), 11, 30)) == []  # older than a day: the desk's
    assert _status(old) == Status.NO_SHOW


def test_a_chain_that_turns_the_sweep_off_marks_nothing(clinic):
    # given a chain that marks no-shows by hand only
    sched.policy_update(actor=clinic.owner, no_show_auto=False)
    visit = book(clinic, clinic.at(MONDAY, 10))
    # when the sweep runs well past the grace period
    count = no_shows_mark(now=clinic.at(MONDAY, 11))
    # then the visit is still booked
    assert count == 0
    assert _status(visit) == Status.BOOKED


def test_the_task_sweeps_the_current_chain(clinic):
    # given a visit whose grace period has passed by the run's clock
    visit = book(clinic, clinic.at(MONDAY, 10))
    # when the periodic task runs in the chain at 10:20
    with time_machine.travel(clinic.at(MONDAY, 10, 20), tick=False):
        outcome = no_shows_mark_task()
    # then it reports and did the marking; beat runs it over every chain every few minutes
    assert outcome == {"schema": clinic.chain.schema, "marked": 1}
    assert _status(visit) == Status.NO_SHOW
    entry = settings.CELERY_BEAT_SCHEDULE["no-shows-mark"]
    assert entry["args"] == ("scheduling.tasks.no_shows_mark",)
    assert entry["schedule"] <= 300


# --- the flag -------------------------------------------------------------------------------------
def test_two_no_shows_in_twelve_months_flag_the_patient(clinic):
    # given a patient who missed one visit
    patient = clinic.patient("Nora")
    first = book(clinic, clinic.at(MONDAY, 9), patient=patient)
    second = book(clinic, clinic.at(MONDAY + timedelta(days=1), 9), patient=patient)
    no_shows_mark(now=clinic.at(MONDAY, 9, 30))
    after_one = no_show_record(patient_id=patient.pk, now=clinic.at(MONDAY, 12))
    # when they miss a second
    no_shows_mark(now=clinic.at(MONDAY + timedelta(days=1), 9, 30))
    after_two = no_show_record(patient_id=patient.pk, now=clinic.at(MONDAY + timedelta(days=1), 12))
    # then one is counted but does not flag; two flag them, said in words
    assert (after_one.count, after_one.flagged) == (1, False)
    assert after_one.said == "Missed 1 appointment in the last year"
    assert (after_two.count, after_two.flagged) == (2, True)
    assert after_two.said == "Flagged for no-shows: missed 2 appointments in the last year"
    assert _status(first) == _status(second) == Status.NO_SHOW
    # and thirteen months later they have aged out of the period
    later = no_show_record(patient_id=patient.pk, now=clinic.at(MONDAY, 12) + timedelta(days=400))
    assert (later.count, later.flagged, later.said) == (0, False, "")


def test_the_chain_sets_how_many_no_shows_in_how_long_flag(clinic):
    # given a chain flagging after 3 no-shows in 6 months, and a patient with 2 and one without any
    sched.policy_update(actor=clinic.owner, no_show_flag_after=3, no_show_flag_months=6)
    patient, other = clinic.patient(), clinic.patient()
    for day in range(2):
        book(clinic, clinic.at(MONDAY + timedelta(days=day), 9), patient=patient)
    no_shows_mark(now=clinic.at(MONDAY, 9, 30))
    no_shows_mark(now=clinic.at(MONDAY + timedelta(days=1), 9, 30))
    # when the desk reads both at once
    records = no_show_records(patient_ids=[patient.pk, other.pk], now=clinic.at(MONDAY + timedelta(days=2), 9))
    # then two of three are counted, not flagged, in the chain's words for its period
    assert (records[patient.pk].count, records[patient.pk].flagged) == (2, False)
    assert records[patient.pk].said == "Missed 2 appointments in the last 6 months"
    assert (records[other.pk].count, records[other.pk].flagged) == (0, False)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [((2027, 3, 31), 1, (2027, 2, 28)), ((2028, 3, 31), 1, (2028, 2, 29)), ((2027, 1, 15), 12, (2026, 1, 15))],
)
def test_months_back_are_calendar_months(moment, months, expected):
    from datetime import UTC, datetime

    # given a moment; when it is moved back by whole months; then the day is kept or clamped to the month's end
    assert months_before(datetime(*moment, 9, tzinfo=UTC), months).date() == datetime(*expected, tzinfo=UTC).date()
