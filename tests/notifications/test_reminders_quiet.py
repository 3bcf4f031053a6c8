"""The quiet-hours rule of reminders: one that falls in quiet hours goes when they end if that still
leaves an hour before the visit; otherwise just before they begin, and then it is left out when
another reminder of the visit goes less than 24 hours before it. On the branch's clock, across a
clock change too."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from notifications.policy import QUIET_MARGIN
from tests.factories.scheduling import MONDAY, book, clinic_setup, clock_changes, local_today
from tests.notifications.sent_world import messaging, reachable, reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[24 * 60, 120], quiet=(time(21), time(8)))
    return clinic_setup(in_a, doctors=1, shift=(time(7), time(19)), opens=time(7), closes=time(19))


def test_an_early_visit_gets_the_day_before_reminder_only_not_a_second_one_that_evening(clinic):
    # given reminders a day and two hours before, quiet hours 21:00-08:00, and a visit at 08:00
    appointment = book(clinic, clinic.at(MONDAY, 8), patient=reachable(clinic))
    # then one reminder waits: 08:00 the day before; the two-hour one is not pulled to 20:30 that evening
    assert [m.due_at for m in reminders(appointment.pk)] == [clinic.at(MONDAY - timedelta(days=1), 8)]


def test_a_lone_short_reminder_of_an_early_visit_goes_the_evening_before(clinic):
    # given only a two-hour reminder, and a visit at 08:30 (quiet hours end 30 minutes before it)
    messaging(offsets=[120])
    appointment = book(clinic, clinic.at(MONDAY, 8, 30), patient=reachable(clinic))
    # then it goes half an hour before quiet hours begin the evening before: the patient is still reminded
    sunday = MONDAY - timedelta(days=1)
    assert [m.due_at for m in reminders(appointment.pk)] == [clinic.at(sunday, 21) - QUIET_MARGIN]


def test_a_short_reminder_needs_half_its_lead_after_quiet_hours(clinic):
    # given a 45-minute reminder and a visit at 08:30 (quiet hours end 30 minutes before it)
    messaging(offsets=[45])
    appointment = book(clinic, clinic.at(MONDAY, 8, 30), patient=reachable(clinic))
    # then it goes at 08:00: 30 minutes is more than half its lead
    assert [m.due_at for m in reminders(appointment.pk)] == [clinic.at(MONDAY, 8)]


@pytest.mark.parametrize("change", ["forward", "back"])
def test_the_quiet_hours_rule_reads_the_clock_of_the_day_the_clocks_change(clinic, change):
    # given the day the branch's clocks change
    forward, back = clock_changes(clinic.branch.timezone, after=local_today(clinic.tz) + timedelta(days=2))
    day = forward if change == "forward" else back
    # when patients are booked for 09:00 and 08:00 that day
    nine = book(clinic, clinic.at(day, 9), patient=reachable(clinic))
    eight = book(clinic, clinic.at(day, 8), patient=reachable(clinic))
    # then the 09:00 visit's two-hour reminder goes at 08:00 on that day's clock, an hour before it
    short = reminders(nine.pk)[-1].due_at
    assert short.astimezone(clinic.tz).time() == time(8)
    assert nine.span.lower - short == timedelta(hours=1)
    # and the 08:00 visit has only its day-before reminder, at 08:00 on the day before's clock
    due = [m.due_at.astimezone(clinic.tz) for m in reminders(eight.pk)]
    assert [(d.date(), d.time()) for d in due] == [(day - timedelta(days=1), time(8))]
