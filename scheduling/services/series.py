"""Recurring series: the same wall-clock time every few days, each occurrence booked like one appointment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from patients.models import Patient
from scheduling import intervals as iv
from scheduling.exceptions import BookingRefused, InvalidScheduling, SeriesConflicts
from scheduling.models import Appointment, Room, Series, Service, Source
from scheduling.services.booking import _actor_id, _aware, appointment_book
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, StaffMember


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    appointment: Appointment | None
    problem: str | None
    message: str = ""


@transaction.atomic
def series_book(
    *,
    actor: Actor,
    patient: Patient,
    doctor: StaffMember,
    branch: Branch,
    service: Service,
    first_start: datetime,
    count: int,
    every_days: int = 7,
    all_or_nothing: bool = True,
    room: Room | None = None,
    source: str = Source.STAFF,
    override: bool = False,
    override_reason: str = "",
    notes: str = "",
) -> tuple[Series, list[Occurrence]]:
    """Book a recurring series at the same wall-clock time every `every_days` days; each
    occurrence is booked like one appointment (with the override and notes, if given).

    all_or_nothing: every occurrence is booked, or none is and SeriesConflicts lists the problems.
    Otherwise the free occurrences are booked and the others reported; when none is free,
    SeriesConflicts all the same (nothing was booked)."""
    first_start = _aware(first_start)
    errors = {}
    if not 2 <= count <= 52:
        errors["count"] = ["Book between 2 and 52 occurrences."]
    if not 1 <= every_days <= 90:
        errors["every_days"] = ["Repeat every 1 to 90 days."]
    if errors:
        raise InvalidScheduling(fields=errors)
    authorize(actor, "scheduling.book", branch)
    tz = ZoneInfo(branch.timezone)
    local = first_start.astimezone(tz)
    starts = [
        iv.wall_clock(local.date() + timedelta(days=every_days * i), local.timetz().replace(tzinfo=None), tz)
        for i in range(count)
    ]
    series = Series.objects.create(created_by_id=_actor_id(actor), every_days=every_days, count=count)
    results: list[Occurrence] = []
    for start in starts:
        try:
            with transaction.atomic():
                booked = appointment_book(
                    actor=actor,
                    patient=patient,
                    doctor=doctor,
                    branch=branch,
                    service=service,
                    start=start,
                    room=room,
                    source=source,
                    series=series,
                    override=override,
                    override_reason=override_reason,
                    notes=notes,
                )
            results.append(Occurrence(start, booked, None))
        except (BookingRefused, InvalidScheduling) as exc:
            results.append(Occurrence(start, None, exc.code, exc.message))
    failed = [r for r in results if r.problem]
    if failed and (all_or_nothing or len(failed) == len(results)):
        fields = {r.start.astimezone(tz).isoformat(): [f"{r.problem}: {r.message}"] for r in failed}
        raise SeriesConflicts(
            f"{len(failed)} of {count} occurrences cannot be booked; nothing was booked.", fields=fields
        )
    return series, results
