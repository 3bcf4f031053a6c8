"""What a report's period is compared with: the period before, and of a period still running, as many
of its first days as have passed."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from itertools import count

import pytest

from reporting.period import Period

# a year to come whose February has 28 days (a period is the same whatever year it falls in)
Y = next(y for y in count(datetime.now(UTC).year + 1) if not calendar.isleap(y))


@pytest.mark.parametrize(
    ("period", "today", "so_far", "compared"),
    [
        # a month still running: its days so far against as many first days of the month before
        (Period(date(Y, 11, 1), date(Y, 11, 30)), date(Y, 11, 25), (1, 25), (date(Y, 10, 1), 25)),
        # March's 31 days so far against February's 28, all of them: never beyond the month before
        (Period(date(Y, 3, 1), date(Y, 3, 31)), date(Y, 3, 30), (1, 30), (date(Y, 2, 1), 28)),
        # its first day against the first day before
        (Period(date(Y, 11, 1), date(Y, 11, 30)), date(Y, 11, 1), (1, 1), (date(Y, 10, 1), 1)),
    ],
)
def test_a_running_period_is_compared_so_far(period, today, so_far, compared):
    assert (period.so_far(today).first.day, period.so_far(today).last.day) == so_far
    before = period.previous_so_far(today)
    assert (before.first, before.days) == compared


@pytest.mark.parametrize("today", [date(Y, 10, 31), date(Y, 11, 30), date(Y, 12, 1), None])
def test_a_period_over_or_to_come_or_ending_today_is_compared_whole(today):
    november = Period(date(Y, 11, 1), date(Y, 11, 30))
    assert november.so_far(today) == november
    assert november.previous_so_far(today) == Period(date(Y, 10, 1), date(Y, 10, 31))


def test_one_day_asked_alone_runs_to_the_other_end_of_its_own_month_on_pages_and_in_the_api():
    default = Period(date(Y, 11, 1), date(Y, 11, 30))
    assert Period.asked(date(Y, 2, 10), None, default) == Period(date(Y, 2, 10), date(Y, 2, 28))
    assert Period.asked(None, date(Y, 2, 10), default) == Period(date(Y, 2, 1), date(Y, 2, 10))
    assert Period.asked(date(Y, 2, 10), date(Y, 3, 5), default) == Period(date(Y, 2, 10), date(Y, 3, 5))
    assert Period.asked(None, None, default) == default


@pytest.mark.parametrize("days", [1, 7, 28, 30, 31, 62])
def test_a_day_by_day_trend_is_drawn_against_the_same_weekdays_whole_weeks_before(days):
    from datetime import timedelta

    period = Period(date(Y, 3, 1), date(Y, 3, 1) + timedelta(days=days - 1))
    before = period.weeks_before()
    # as many days, each on the same weekday, ending before the period starts
    assert before.days == period.days
    assert before.first.weekday() == period.first.weekday()
    assert before.last < period.first
    assert (period.first - before.last).days <= 7
