"""An offer's hold reads "today 12:00" or "tomorrow 09:30" when it ends the day the patient reads it
or the next (on the branch's clock), in English and German; later days are written with their day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.waitlist_messages import hold_until

TZ = ZoneInfo("Europe/London")


def _quiet_morning() -> datetime:
    """11:04 on the branch's clock on the first day from the run's clock with no clock change within
    three days of it (the holds below end up to two days later)."""
    day = datetime.now(TZ).date()
    while len({datetime.combine(day + timedelta(days=d), time(12), TZ).utcoffset() for d in range(-3, 4)}) > 1:
        day += timedelta(days=1)
    return datetime.combine(day, time(11, 4), TZ)


NOW = _quiet_morning()


@pytest.mark.parametrize(
    ("language", "later", "said"),
    [
        ("en-gb", timedelta(minutes=30), "today 11:34"),
        ("en", timedelta(hours=15), "tomorrow 2:04 AM"),
        ("en-gb", timedelta(hours=22, minutes=26), "tomorrow 09:30"),
        ("de", timedelta(minutes=56), "heute 12:00"),
        ("de-de", timedelta(hours=22, minutes=26), "morgen 09:30"),
    ],
)
def test_a_hold_ending_today_or_tomorrow_says_so(language, later, said):
    # given an offer read at 11:04, held for a while
    # when its hold's end is written in the patient's language
    written = hold_until(NOW + later, tz=TZ, language=language, now=NOW)
    # then it reads the near day's word and the time
    assert written.replace("\u202f", " ") == said


def test_a_hold_ending_later_is_written_with_its_day():
    # given a hold ending two days after it is read
    ends = NOW + timedelta(days=2)
    # when it is written
    written = hold_until(ends, tz=TZ, language="en-gb", now=NOW)
    # then its day is written, not a near day's word
    assert written == f"{ends:%a} {ends.day} {ends:%b}, 11:04"
