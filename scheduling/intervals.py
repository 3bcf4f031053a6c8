"""Half-open time intervals [start, end) and the little arithmetic the calendar needs.

Lists of intervals are kept sorted and merged (disjoint, non-touching), so membership and overlap
are a binary search away."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
UTC = ZoneInfo("UTC")


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(base: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """base minus cuts; both merged. Linear in their lengths."""
    out: list[Interval] = []
    j = 0
    for start, end in base:
        cursor = start
        while j < len(cuts) and cuts[j][1] <= cursor:
            j += 1
        k = j
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > cursor:
                out.append((cursor, cuts[k][0]))
            cursor = max(cursor, cuts[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def covering(windows: list[Interval], span: Interval) -> Interval | None:
    """The window that contains span entirely, if any."""
    i = bisect_right(windows, (span[0], datetime.max.replace(tzinfo=UTC))) - 1
    if i >= 0 and windows[i][0] <= span[0] and span[1] <= windows[i][1]:
        return windows[i]
    return None


def overlaps(intervals: list[Interval], span: Interval) -> bool:
    i = bisect_right(intervals, (span[1], span[1])) - 1
    # intervals[i] is the last one starting before span ends; merged lists make it the only candidate
    while i >= 0 and intervals[i][0] >= span[1]:
        i -= 1
    return i >= 0 and intervals[i][1] > span[0]


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time of a day in a zone, as an aware UTC datetime.

    In a spring-forward gap the time does not exist; PEP 495's fold=0 reading moves it forward by
    the gap (01:30 in London on the last Sunday of March is 02:30 BST), which is what people mean
    by "we open at 01:30". An ambiguous fall-back time takes its first occurrence."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: ZoneInfo) -> Interval:
    """The UTC interval of a local calendar day (23 or 25 hours long on DST change days)."""
    return wall_clock(day, time(0), tz), wall_clock(day + timedelta(days=1), time(0), tz)


def minute_of_day(moment: datetime, tz: ZoneInfo) -> int:
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def aligned_starts(lo: datetime, hi: datetime, step: int, tz: ZoneInfo) -> Iterable[datetime]:
    """Every moment in [lo, hi] whose local wall-clock time is a multiple of `step` minutes after
    midnight (seconds zero). Re-aligns after a DST jump inside the range."""
    delta = timedelta(minutes=step)
    t = lo.replace(second=0, microsecond=0)
    if t < lo:
        t += timedelta(minutes=1)
    while t <= hi:
        off = minute_of_day(t, tz) % step
        if off:
            t += timedelta(minutes=step - off)
            continue
        yield t
        t += delta


def holds_weekday(weekday: int, first: date, last: date | None) -> bool:
    """Whether the days `first`..`last` (inclusive; None: open-ended) hold a `weekday` (0 Monday)."""
    return last is None or first + timedelta(days=(weekday - first.weekday()) % 7) <= last
