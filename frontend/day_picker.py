"""The day picker of the booking pages (online booking, the portal's change page, the desk's phone
booking and Move page): a "With" doctor filter where the page offers one, a month grid of days with
and without free times, then the chosen day's times under Morning / Afternoon / Evening. The data
is one selector's (scheduling.free_days.day_picker); this module only turns it into what
templates/booking/_days.html and _times.html render."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from frontend.forms import to_date, to_int
from scheduling.free_days import DayPicker, FreeTime
from tenants.org.models import StaffMember

WEEKDAYS = [("Mon", "Monday"), ("Tue", "Tuesday"), ("Wed", "Wednesday"), ("Thu", "Thursday"), ("Fri", "Friday"),
            ("Sat", "Saturday"), ("Sun", "Sunday")]  # fmt: skip


def month_asked(value: str | None) -> date | None:
    """A month from a query string (YYYY-MM), as its first day; None for anything else."""
    return to_date(f"{value}-01") if value and len(value) == 7 else None


def doctor_asked(doctors: Sequence[StaffMember], value: str | None) -> StaffMember | None:
    """The doctor a page's "With" filter chose (?doctor=), only one of those it offers; else None (any)."""
    pk = to_int(value)
    return next((d for d in doctors if d.pk == pk), None)


def _href(base: Mapping[str, object], **extra: object) -> str:
    query = {k: str(v) for k, v in {**base, **extra}.items() if v not in (None, "")}
    return "?" + urlencode(query)


def _weeks(picker: DayPicker, base: Mapping[str, object], today: date) -> list[list[dict[str, Any]]]:
    free = {d.day: d.free_times for d in picker.days}
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(picker.month.year, picker.month.month):
        cells: list[dict[str, Any]] = []
        for day in week:
            if day.month != picker.month.month:
                cells.append({"day": None})
                continue
            bookable = day in free
            cells.append(
                {
                    "day": day,
                    "bookable": bookable,
                    "free": free.get(day, 0),
                    "href": _href(base, day=day.isoformat()) if bookable else "",
                    "current": day == picker.day,
                    "today": day == today,
                }
            )
        weeks.append(cells)
    return weeks


def _shift_month(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def picker_context(
    picker: DayPicker,
    *,
    base: Mapping[str, object],
    post_to: str = "",
    hidden: Mapping[str, object] | None = None,
    link: Callable[[FreeTime], str] | None = None,
    visitor_tz: ZoneInfo | None = None,
    doctor_name: str = "",
    price: str = "",
    late_before: datetime | None = None,
    late_note: str = "",
    doctors: Sequence[StaffMember] = (),
) -> dict[str, Any]:
    """The templates' context: each time posts to ``post_to`` (with ``hidden``, the doctor and the
    start) or, with ``link``, is a link there. ``base`` is the page's query kept by every link;
    ``doctor_name`` when one doctor is chosen (then the times do not repeat it). A time starting
    before ``late_before`` (a patient's cancellation window) carries ``late_note``. With
    ``doctors``, the month carries a "With: any doctor / Dr X" filter (the chosen one is
    ``base["doctor"]``, named as ``doctor_name``)."""
    filter_ = _doctor_filter(picker, base, doctors)
    doctor_name = doctor_name or next((name for _, name, chosen in filter_["doctor_choice"] if chosen), "")
    tz = picker.times[0].local.tzinfo if picker.times else None
    show_theirs = visitor_tz is not None and tz is not None and getattr(tz, "key", None) != visitor_tz.key

    def entry(t: FreeTime) -> dict[str, Any]:
        theirs: datetime | None = t.start.astimezone(visitor_tz) if show_theirs and visitor_tz else None
        return {
            "doctor_id": t.doctor_id,
            "doctor_name": "" if doctor_name else t.doctor_name,
            "start": t.start.isoformat(),
            "local": t.local,
            "theirs": theirs,
            "href": link(t) if link else "",
            "late": late_note if late_before is not None and t.start < late_before else "",
        }

    prev_month, next_month = _shift_month(picker.month, -1), _shift_month(picker.month, 1)
    return {
        "picker": picker,
        "weekdays": WEEKDAYS,
        "weeks": _weeks(picker, base, picker.first),
        "prev_href": _href(base, month=f"{prev_month:%Y-%m}") if prev_month >= picker.first.replace(day=1) else "",
        "next_href": _href(base, month=f"{next_month:%Y-%m}") if next_month <= picker.last else "",
        "periods": [(name, [entry(t) for t in times]) for name, times in picker.periods],
        "next_free_href": _href(base, day=picker.next_free.isoformat()) if picker.next_free else "",
        "post_to": post_to,
        "hidden": list((hidden or {}).items()),
        "show_theirs": show_theirs,
        "doctor_name": doctor_name,
        "price": price,
    } | filter_


def _doctor_filter(picker: DayPicker, base: Mapping[str, object], doctors: Sequence[StaffMember]) -> dict[str, Any]:
    """The "With" filter: the doctors offered, the chosen one marked, and the page's query (and
    the chosen day) kept as hidden fields of its form."""
    if not doctors:
        return {"doctor_choice": []}
    chosen = str(base.get("doctor") or "")
    keep = {k: v for k, v in base.items() if k not in ("doctor", "day", "month") and v not in (None, "")}
    return {
        "doctor_choice": [(d.pk, d.user.get_full_name() or d.user.email, str(d.pk) == chosen) for d in doctors],
        "doctor_keep": list({**keep, "day": picker.day.isoformat()}.items()),
    }
