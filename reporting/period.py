"""A reporting period: a run of whole local days, the one before it of the same length (the
comparison), and the grain its trend is drawn in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from reporting.exceptions import PeriodInvalid

#: The longest period a report covers (three years and a little: two years compared with the two before
#: is two reports).
MAX_DAYS = 1100


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise PeriodInvalid("The period ends before it starts.", fields={"to": ["Choose a day after the start."]})
        if self.days > MAX_DAYS:
            raise PeriodInvalid(
                f"Choose a period of at most {MAX_DAYS} days.", fields={"to": ["Choose a shorter period."]}
            )

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length just before: a month after a whole month is the month
        before (whatever its length), otherwise the same number of days."""
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
            year, month = divmod(self.first.year * 12 + self.first.month - 1 - months, 12)
            first = date(year, month + 1, 1)
            return Period(first, self.first - timedelta(days=1))
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def so_far(self, today: date | None) -> Period:
        """Of a period still running on `today`, its days up to today; any other period whole."""
        if today is None or not self.first <= today < self.last:
            return self
        return Period(self.first, today)

    def previous_so_far(self, today: date | None) -> Period:
        """What a period is compared with: the period before, and of a period still running on
        `today`, as many of its first days as have passed (1-25 October against 1-25 November
        so far, not against the whole of October)."""
        before, shown = self.previous(), self.so_far(today)
        if shown == self:
            return before
        return Period(before.first, min(before.last, before.first + timedelta(days=shown.days - 1)))

    def weeks_before(self) -> Period:
        """The same number of days whole weeks earlier, each day on the same weekday: what a day by
        day trend is drawn against (a Monday beside a Monday, not the 1st beside the 1st)."""
        back = timedelta(weeks=-(-self.days // 7))
        return Period(self.first - back, self.last - back)

    @property
    def grain(self) -> Grain:
        """Days for up to about two months, weeks up to about half a year, months beyond."""
        if self.days <= 62:
            return Grain.DAY
        if self.days <= 200:
            return Grain.WEEK
        return Grain.MONTH

    @classmethod
    def asked(cls, first: date | None, last: date | None, default: Period) -> Period:
        """The period a reader asked for, the API's and the pages' alike: both days; one of them and
        the other end of its own month; or, with neither, the default."""
        if first is not None:
            return cls(first, last or cls.month_of(first).last)
        if last is not None:
            return cls(last.replace(day=1), last)
        return default

    @classmethod
    def month_of(cls, day: date) -> Period:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(first, following - timedelta(days=1))
