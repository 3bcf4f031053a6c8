"""FHIR search: the parameters each resource declares (one table, read by the views and by the
CapabilityStatement, so what is declared is what works), how their values are read, and paging.

Handling is strict (FHIR's `Prefer: handling=strict`): a parameter the table does not declare, or a
modifier, is refused with a 400 OperationOutcome naming it, unless the client asks for
`Prefer: handling=lenient`, in which case it is ignored and left out of the `self` link."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlencode

from django.db.models import Q
from django.utils import timezone
from rest_framework.request import Request

from scheduling.fhir.exceptions import InvalidSearch, UnknownSearchParameter

DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_VALUE_LENGTH = 200
MAX_ID = 2**63 - 1  # ids are bigint: a larger number names nothing
RESULT_PARAMETERS = ("_count", "_offset", "_format")
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
SPEC = "http://hl7.org/fhir/SearchParameter/"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # FHIR search parameter type: date, token, reference, string
    documentation: str
    definition: str | None = None


DATE_DOC = (
    " Precision year, month, day or time (`1984`, `1984-05`, `1984-05-17`, `2027-06-07T09:00Z`); a value "
    "without a zone is UTC. Prefixes: " + ", ".join(DATE_PREFIXES) + " (ap: within a tenth of the time "
    "between now and the value, at least a day). Repeat the parameter to AND, separate values by commas to OR."
)
PARAMS: dict[str, tuple[Param, ...]] = {
    "Patient": (
        Param(
            "identifier",
            "token",
            "The medical record number. `urn:clinicflow:mrn|P000123`, a bare value (any system), `|value` "
            "(no system: matches nothing, every MRN has a system) or `urn:clinicflow:mrn|` (every patient). "
            "Another system matches nothing.",
            SPEC + "Patient-identifier",
        ),
        Param(
            "name",
            "string",
            "Every word must be part of the given or family name (case- and accent-insensitive).",
            SPEC + "Patient-name",
        ),
        Param("birthdate", "date", "The date of birth." + DATE_DOC, SPEC + "individual-birthdate"),
        Param("phone", "token", "A phone number, whole or in part (any spacing).", SPEC + "individual-phone"),
    ),
    "Practitioner": (Param("name", "string", "Part of the given or family name.", SPEC + "Practitioner-name"),),
    "Location": (Param("name", "string", "Part of the branch's name.", SPEC + "Location-name"),),
    "HealthcareService": (Param("name", "string", "Part of the service's name.", SPEC + "HealthcareService-name"),),
    "Schedule": (Param("actor", "reference", "`Practitioner/<id>` or `Location/<id>`.", SPEC + "Schedule-actor"),),
    "Slot": (
        Param("schedule", "reference", "Required: `Schedule/d<doctor>-b<branch>`.", SPEC + "Slot-schedule"),
        Param(
            "service-type",
            "token",
            "Required: the HealthcareService id, as `urn:clinicflow:service|<id>` or `<id>`.",
            SPEC + "Slot-service-type",
        ),
        Param(
            "start",
            "date",
            "When the slot starts; default the next 7 days, at most 31 days." + DATE_DOC,
            SPEC + "Slot-start",
        ),
    ),
    "Appointment": (
        Param("patient", "reference", "`Patient/<id>`.", SPEC + "Appointment-patient"),
        Param("practitioner", "reference", "`Practitioner/<id>`.", SPEC + "Appointment-practitioner"),
        Param("location", "reference", "`Location/<id>`.", SPEC + "Appointment-location"),
        Param("date", "date", "When the appointment starts." + DATE_DOC, SPEC + "clinical-date"),
        Param(
            "status",
            "token",
            "booked, pending, arrived, checked-in, fulfilled, cancelled, noshow (comma-separated to OR).",
            SPEC + "Appointment-status",
        ),
    ),
}
SEARCH_DOC = (
    f"Search handling is strict: an undeclared parameter or a modifier is a 400 OperationOutcome, unless the "
    f"request says `Prefer: handling=lenient` (then it is ignored and left out of the self link). Paging: "
    f"`_count` (default {DEFAULT_COUNT}, at most {MAX_COUNT}; 0 gives the total only) and `_offset` (rows "
    f"skipped); the Bundle's `total` is the full count and its `self`, `first`, `previous`, `next` and `last` "
    f"links page through it. `_format` may be json or application/fhir+json."
)


@dataclass(frozen=True)
class Search:
    """A search request once read: the declared parameters in use and the page asked for."""

    resource: str
    values: dict[str, list[str]]  # each repetition of a parameter (AND); commas inside one OR
    count: int
    offset: int

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def alternatives(self, name: str) -> list[list[str]]:
        """For each repetition (ANDed), its comma-separated values (ORed)."""
        return [value.split(",") for value in self.values.get(name, [])]

    def query(self, **overrides: int) -> str:
        pairs = [(name, value) for name, values in self.values.items() for value in values]
        pairs += [("_count", str(overrides.get("count", self.count))), ("_offset", str(overrides.get("offset", 0)))]
        return urlencode(pairs)


def _refuse(name: str, message: str) -> InvalidSearch:
    return InvalidSearch(message, fields={name: [message]})


def _small_int(name: str, raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", raw, re.ASCII):
        raise _refuse(name, f"{name} must be a whole number (0 to 999999999), not {raw[:40]!r}.")
    return int(raw)


def search_read(request: Request, resource: str) -> Search:
    """The search of ``request`` for ``resource``, or an InvalidSearch / UnknownSearchParameter."""
    declared = {p.name for p in PARAMS[resource]}
    lenient = "handling=lenient" in request.headers.get("Prefer", "").replace(" ", "").lower()
    values: dict[str, list[str]] = {}
    for key, raw_values in request.query_params.lists():
        name, colon, modifier = key.partition(":")
        if key in RESULT_PARAMETERS:
            continue
        if name not in declared or colon:
            if lenient:
                continue
            reason = (
                f"The modifier :{modifier} is not supported on {name}."
                if colon and name in declared
                else f"{resource} has no search parameter {key!r}; it has: {', '.join(sorted(declared))}."
            )
            raise UnknownSearchParameter(reason, fields={key[:80]: [reason]})
        for value in raw_values:
            if not value.strip(","):
                raise _refuse(name, f"{name} has no value.")
            if len(value) > MAX_VALUE_LENGTH:
                raise _refuse(name, f"{name} is longer than {MAX_VALUE_LENGTH} characters.")
        values[name] = raw_values
    params = request.query_params
    count = min(_small_int("_count", params["_count"]), MAX_COUNT) if "_count" in params else DEFAULT_COUNT
    offset = _small_int("_offset", params["_offset"]) if "_offset" in params else 0
    ordered = {p.name: values[p.name] for p in PARAMS[resource] if p.name in values}
    return Search(resource=resource, values=ordered, count=count, offset=offset)


def page_links(search: Search, url: str, total: int) -> list[dict[str, str]]:
    """self, first, previous, next and last of a searchset, as FHIR Bundle.link entries."""
    count, offset = search.count, search.offset
    links = [
        {"relation": "self", "url": f"{url}?{search.query(offset=offset)}"},
        {"relation": "first", "url": f"{url}?{search.query(offset=0)}"},
    ]
    if count and offset > 0:
        links.append({"relation": "previous", "url": f"{url}?{search.query(offset=max(offset - count, 0))}"})
    if count and offset + count < total:
        links.append({"relation": "next", "url": f"{url}?{search.query(offset=offset + count)}"})
    if count:
        last = max((total - 1) // count * count, 0)
        links.append({"relation": "last", "url": f"{url}?{search.query(offset=last)}"})
    return links


# --- dates -------------------------------------------------------------------------------------------
_DATE = re.compile(
    r"(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?"
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?P<fraction>\.[0-9]{1,9})?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?",
    re.ASCII,
)
EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """Where a target instant must lie: [lower, upper), either side open when None; or its complement.

    On a target that is a whole day (a birth date), ``inside`` says the day must lie within the
    window (eq, ne, sa, eb); otherwise it need only overlap it (gt, ge, lt, le, ap)."""

    lower: datetime | None
    upper: datetime | None
    negate: bool = False
    empty: bool = False
    inside: bool = False

    def q(self, field: str, *, days: bool = False) -> Q:
        if self.empty:
            return Q(pk__in=[])
        q = Q()
        if self.lower is not None and self.lower > EARLIEST:
            lower = (_ceil_day if self.inside else _floor_day)(self.lower) if days else self.lower
            q &= Q(**{f"{field}__gte": lower}) if lower is not None else Q(pk__in=[])
        upper = (_floor_day if self.inside else _ceil_day)(self.upper) if days and self.upper else self.upper
        if upper is not None:
            q &= Q(**{f"{field}__lt": upper})
        if self.negate:  # a missing value is not "not equal": it has no value to compare
            return (~q & Q(**{f"{field}__isnull": False})) if q else Q(pk__in=[])
        return q

    def holds(self, moment: datetime) -> bool:
        inside = not self.empty and (self.lower is None or moment >= self.lower)
        inside = inside and (self.upper is None or moment < self.upper)
        return inside != self.negate


def _floor_day(moment: datetime) -> date | None:
    return moment.date()


def _ceil_day(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    if moment.time() == time(0):
        return moment.date()
    try:
        return moment.date() + timedelta(days=1)
    except OverflowError:
        return None


def _shift(moment: datetime | None, delta: timedelta) -> datetime | None:
    """``moment + delta`` in UTC; None past the end of the calendar, EARLIEST before its start."""
    if moment is None:
        return None
    try:
        return (moment + delta).astimezone(UTC)
    except OverflowError:
        return None if delta > timedelta(0) else EARLIEST


def _zone(text: str | None) -> dt_timezone:
    if not text or text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError("offset beyond ±14:00")
    offset = timedelta(hours=hours, minutes=minutes)
    return dt_timezone(-offset if text[0] == "-" else offset)


def _bounds(g: dict[str, str | None]) -> tuple[datetime, datetime | None]:
    """The value's implicit range [lower, upper) in UTC; upper None past 9999-12-31."""
    year, month, day = int(g["year"] or 0), int(g["month"] or 1), int(g["day"] or 1)
    fraction = (g["fraction"] or ".")[1:7].ljust(6, "0")
    start = datetime(
        year,
        month,
        day,
        int(g["hour"] or 0),
        int(g["minute"] or 0),
        int(g["second"] or 0),
        int(fraction),
        tzinfo=_zone(g["zone"]),
    )
    if g["hour"] is None:
        if g["month"] is None:
            end = datetime(year + 1, 1, 1, tzinfo=UTC) if year < 9999 else None
        elif g["day"] is None:
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC) if (year, month) < (9999, 12) else None
        else:
            end = _shift(start, timedelta(days=1))
    elif g["second"] is None:
        end = _shift(start, timedelta(minutes=1))
    else:
        end = _shift(start, timedelta(microseconds=1) if g["fraction"] else timedelta(seconds=1))
    return _shift(start, timedelta(0)) or EARLIEST, end


def date_window(name: str, raw: str, *, now: datetime | None = None) -> Window:
    """One date value with its prefix, as the window its target instant must lie in (FHIR R4 search:
    the value is a range at its precision; eq contains, ne excludes, gt/sa after its end, lt/eb before
    its start, ge/le from its start/until its end)."""
    match = _DATE.fullmatch(raw)
    if not match:
        raise _refuse(
            name,
            f"{name}: cannot read {raw[:60]!r} as a date; give [prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]] "
            f"with a prefix among {', '.join(DATE_PREFIXES)}.",
        )
    try:
        lower, upper = _bounds(match.groupdict())
    except ValueError as exc:  # well-formed but impossible: month 13, February 30, year 0, offset +25:00
        raise _refuse(name, f"{name}: {raw[:60]!r} is not a date on the calendar ({exc}).") from exc
    prefix = match.group("prefix") or "eq"
    if prefix in ("eq", "ne"):
        return Window(lower, upper, negate=prefix == "ne", inside=True)
    if prefix in ("gt", "sa"):
        return Window(upper, None, empty=upper is None, inside=prefix == "sa")
    if prefix in ("lt", "eb"):
        return Window(None, lower, inside=prefix == "eb")
    if prefix == "ge":
        return Window(lower, None)
    if prefix == "le":
        return Window(None, upper)
    # ap: FHIR leaves "approximately" to the server; we take 10% of the gap to now, at least a day.
    gap = abs((now or timezone.now()) - lower)
    margin = max(timedelta(days=1), gap / 10)
    return Window(_shift(lower, -margin), _shift(upper, margin))


def any_of(conditions: Iterable[Q]) -> Q:
    """OR of the conditions (the comma-separated values of one parameter); one that holds for every
    row (an empty Q) makes the whole hold, where Django's `|` would drop it."""
    found = list(conditions)
    if not found or any(not condition for condition in found):
        return Q() if found else Q(pk__in=[])
    q = found[0]
    for condition in found[1:]:
        q |= condition
    return q


def date_q(search: Search, name: str, field: str, *, days: bool = False) -> Q:
    """The ANDed repetitions of date parameter ``name``, each an OR of its comma-separated values."""
    q = Q()
    for alternatives in search.alternatives(name):
        q &= any_of(date_window(name, raw).q(field, days=days) for raw in alternatives)
    return q


# --- tokens and references ---------------------------------------------------------------------------
def token(raw: str) -> tuple[str | None, str]:
    """(system, code): system None when the value has no bar (any system), "" for `|code` (no system)."""
    if "|" in raw:
        system, code = raw.split("|", 1)
        return system, code
    return None, raw


_REFERENCE = re.compile(r"(?:(?:https?://\S*/)?(?P<type>[A-Za-z]+)/)?(?P<id>[A-Za-z0-9.\-]{1,64})", re.ASCII)


def reference(name: str, raw: str, *kinds: str) -> tuple[str, str]:
    """(type, id) of `Type/id`, `id` (the first of ``kinds``) or `<base>/Type/id`; a reference to a
    type not in ``kinds``, or not a reference at all (Unicode digits, spaces), is refused."""
    match = _REFERENCE.fullmatch(raw)
    kind = (match.group("type") or kinds[0]) if match else ""
    if not match or kind not in kinds:
        expected = " or ".join(f"{k}/123" for k in kinds)
        raise _refuse(name, f"{name}: expected a reference like {expected}, got {raw[:60]!r}.")
    return kind, match.group("id")


def int_id(text: str) -> int | None:
    """Our numeric id in ``text``, or None when it cannot name one of our rows (letters, out of range)."""
    if not re.fullmatch(r"[0-9]{1,19}", text, re.ASCII):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
