"""The booking rules, in one place, for booking and availability alike.

A ``Plan`` holds what one service at one branch needs over some days: the branch's open windows,
each doctor's shift windows (breaks removed), what already occupies each doctor and room, and the
policy. ``problem`` judges one start time (booking); ``free_starts`` lists every start time on a
grid that ``problem`` would accept (availability). Both read the same windows; the property tests
hold them to agreeing.

All times are aware UTC datetimes; wall-clock rules were turned into UTC windows per local day in
the branch's zone when the plan was loaded, so DST is settled there and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduling import intervals as iv
from scheduling.error_codes import SchedulingErrorCode as Code
from scheduling.intervals import Interval

# Staff may book on any 5-minute boundary; online bookings on the chain's online grid.
BOOKING_GRANULARITY = 5
PAST_GRACE = timedelta(minutes=5)
STAFF_HORIZON = timedelta(days=3 * 366)  # staff may book years ahead, not forever
TINY = timedelta(microseconds=1)


class Problem:
    """The booking rules that can refuse a time. Each is a calendar error code, spelled once in
    scheduling.error_codes: a refused booking answers with the rule that refused it."""

    IN_THE_PAST = Code.IN_THE_PAST
    TOO_SOON = Code.TOO_SOON
    TOO_FAR_AHEAD = Code.TOO_FAR_AHEAD
    OFF_GRID = Code.OFF_GRID
    NOT_OFFERED = Code.SERVICE_NOT_OFFERED
    BRANCH_CLOSED = Code.BRANCH_CLOSED
    OUTSIDE_SHIFT = Code.OUTSIDE_SHIFT
    DOCTOR_ON_LEAVE = Code.DOCTOR_ON_LEAVE
    DOCTOR_BUSY = Code.DOCTOR_BUSY
    PATIENT_BUSY = Code.PATIENT_BUSY
    ROOM_TAKEN = Code.ROOM_TAKEN


@dataclass(frozen=True)
class ServiceShape:
    duration: timedelta
    before: timedelta
    after: timedelta
    requires_room: bool

    def spans(self, start: datetime) -> tuple[Interval, Interval]:
        """(the patient's span, the doctor's and room's busy span) of a visit starting at start."""
        end = start + self.duration
        return (start, end), (start - self.before, end + self.after)


@dataclass
class DoctorDay:
    shift: list[Interval] = field(default_factory=list)
    busy: list[Interval] = field(default_factory=list)
    leave: list[Interval] = field(default_factory=list)

    def free(self) -> list[Interval]:
        return iv.subtract(self.shift, self.busy)

    def bookable(self, open_windows: list[Interval]) -> list[Interval]:
        """Where a visit (without buffers) may lie, whatever else is booked: the branch open, the
        doctor on shift and not on leave. The same three checks as ``Plan.problem``, as windows."""
        return iv.subtract(iv.intersect(open_windows, self.shift), self.leave)


@dataclass
class Plan:
    tz: ZoneInfo
    shape: ServiceShape
    now: datetime
    online: bool
    online_step: int
    min_notice: timedelta
    horizon: timedelta
    offered_by: set[int]
    open: dict[date, list[Interval]]
    doctors: dict[tuple[int, date], DoctorDay]
    rooms: dict[int, list[Interval]] = field(default_factory=dict)
    patient_busy: list[Interval] = field(default_factory=list)
    override: bool = False
    _day_cache: dict[date, list[Interval]] = field(default_factory=dict, repr=False)

    # --- judging one start (booking) -------------------------------------------------------------
    def local_day(self, start: datetime) -> date:
        return start.astimezone(self.tz).date()

    def problem(self, doctor_id: int, start: datetime, room_id: int | None = None) -> str | None:
        step = self.online_step if self.online else BOOKING_GRANULARITY
        if start.second or start.microsecond or iv.minute_of_day(start, self.tz) % step:
            return Problem.OFF_GRID
        limit = self._limits()
        if start < limit[0]:
            return Problem.TOO_SOON if self.online else Problem.IN_THE_PAST
        if start > limit[1]:
            return Problem.TOO_FAR_AHEAD
        if doctor_id not in self.offered_by:
            return Problem.NOT_OFFERED
        span, busy = self.shape.spans(start)
        day = self.local_day(start)
        if not self.override and iv.covering(self.open.get(day, []), span) is None:
            return Problem.BRANCH_CLOSED
        doc = self.doctors.get((doctor_id, day), DoctorDay())
        if not self.override:
            if iv.covering(doc.shift, busy) is None:
                return Problem.OUTSIDE_SHIFT
            if iv.overlaps(doc.leave, busy):
                return Problem.DOCTOR_ON_LEAVE
            if iv.overlaps(doc.busy, busy):
                return Problem.DOCTOR_BUSY
        if iv.overlaps(self.patient_busy, span):
            return Problem.PATIENT_BUSY
        if (room_id is not None or self.shape.requires_room) and self.free_room(busy, room_id) is None:
            return Problem.ROOM_TAKEN
        return None

    def free_room(self, busy: Interval, wanted: int | None = None) -> int | None:
        candidates = [wanted] if wanted is not None else sorted(self.rooms)
        for room_id in candidates:
            if room_id in self.rooms and not iv.overlaps(self.rooms[room_id], busy):
                return room_id
        return None

    # --- every acceptable start (availability) ---------------------------------------------------
    def _limits(self) -> Interval:
        if self.online:
            return self.now + self.min_notice, self.now + self.horizon
        return self.now - PAST_GRACE, self.now + STAFF_HORIZON

    def _start_ranges(self, windows: list[Interval], before: timedelta, after: timedelta) -> list[Interval]:
        """Start times S with [S - before, S + after) inside one of the windows, as half-open ranges."""
        return iv.merge((a + before, b - after + TINY) for a, b in windows if b - after >= a + before)

    def _day_ranges(self, day: date) -> list[Interval]:
        """Starts allowed by the branch's hours, the day itself and the time limits; the same for
        every doctor, so worked out once a day."""
        cached = self._day_cache.get(day)
        if cached is None:
            ranges = self._start_ranges(self.open.get(day, []), timedelta(0), self.shape.duration)
            earliest, latest = self._limits()
            day_start, day_end = iv.day_bounds(day, self.tz)
            cached = iv.intersect(ranges, [(max(earliest, day_start), min(latest + TINY, day_end))])
            self._day_cache[day] = cached
        return cached

    def free_starts(self, doctor_id: int, day: date, step: int) -> list[datetime]:
        if doctor_id not in self.offered_by:
            return []
        shape = self.shape
        doc = self.doctors.get((doctor_id, day))
        if doc is None or not doc.shift:
            return []
        ranges = self._day_ranges(day)
        if not ranges:
            return []
        ranges = iv.intersect(ranges, self._start_ranges(doc.free(), shape.before, shape.duration + shape.after))
        day_start, day_end = iv.day_bounds(day, self.tz)
        # Wide enough for any span of a visit starting this day.
        around = [(day_start - timedelta(days=1), day_end + timedelta(days=1))]
        if self.patient_busy:
            patient_free = iv.subtract(around, self.patient_busy)
            ranges = iv.intersect(ranges, self._start_ranges(patient_free, timedelta(0), shape.duration))
        if shape.requires_room:
            room_ranges = iv.merge(
                r
                for busy in self.rooms.values()
                for r in self._start_ranges(iv.subtract(around, busy), shape.before, shape.duration + shape.after)
            )
            ranges = iv.intersect(ranges, room_ranges)
        if self.online and step % self.online_step:
            step = self.online_step  # online starts only on the chain's online grid
        out: list[datetime] = []
        for lo, hi in ranges:
            out.extend(iv.aligned_starts(lo, hi - TINY, step, self.tz))
        return out
