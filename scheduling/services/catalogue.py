"""Shaping the calendar: services, who offers them where, rooms, opening hours, shifts, policy."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, time
from typing import TypedDict, TypeVar, Unpack

from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from simple_history.utils import bulk_create_with_history

from config.validation import name_error, require_valid
from scheduling.exceptions import InvalidScheduling, NameTaken, ShiftOverlap
from scheduling.models import (
    BranchHours,
    DoctorService,
    ExtraShift,
    Room,
    SchedulingPolicy,
    Service,
    ShiftPattern,
    SpecialDay,
)
from scheduling.selectors import policy_get, stranded_by_special_day
from scheduling.services.stranding import refuse_past, refuse_stranding
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, Role, StaffMember

M = TypeVar("M", bound=models.Model)


def _save_named(obj: M, actor: Actor) -> M:
    try:
        with transaction.atomic():
            changed_by(obj, actor).save()
    except IntegrityError as exc:
        if "unique" in str(exc).lower():
            raise NameTaken() from exc
        raise
    return obj


class ServiceOptions(TypedDict, total=False):
    """What a service may say beyond its name and length."""

    description: str
    buffer_before_minutes: int
    buffer_after_minutes: int
    price_minor: int
    requires_room: bool
    bookable_online: bool
    length_adjustable: bool  # staff may change a visit's length on the book (scheduling.services.resize)
    is_active: bool


class ServiceChanges(ServiceOptions, total=False):
    """Any of a service's fields: what an update may change."""

    name: str
    duration_minutes: int


class PolicyChanges(TypedDict, total=False):
    """The chain's booking rules an update may change."""

    cancellation_window_hours: int
    online_min_notice_minutes: int
    online_horizon_days: int
    online_slot_step_minutes: int
    hold_minutes: int
    no_show_auto: bool
    no_show_grace_minutes: int
    no_show_flag_after: int
    no_show_flag_months: int


def _check_service(fields: ServiceChanges) -> None:
    duration = fields.get("duration_minutes")
    require_valid(
        InvalidScheduling,
        {
            "name": name_error(fields["name"]) if "name" in fields else None,
            "duration_minutes": "Between 5 and 720 minutes, in steps of 5."
            if duration is not None and (duration < 5 or duration > 720 or duration % 5)
            else None,
            "buffer_before_minutes": "At most 120 minutes." if fields.get("buffer_before_minutes", 0) > 120 else None,
            "buffer_after_minutes": "At most 120 minutes." if fields.get("buffer_after_minutes", 0) > 120 else None,
        },
    )


@transaction.atomic
def service_create(*, actor: Actor, name: str, duration_minutes: int, **options: Unpack[ServiceOptions]) -> Service:
    authorize(actor, "scheduling.manage_catalogue")
    values: ServiceChanges = {**options, "name": name.strip(), "duration_minutes": duration_minutes}
    _check_service(values)
    return _save_named(Service(**values), actor)


@transaction.atomic
def service_update(*, actor: Actor, service: Service, **changes: Unpack[ServiceChanges]) -> Service:
    """Change the fields given; a field left out keeps its value."""
    authorize(actor, "scheduling.manage_catalogue")
    _check_service(changes)
    service = Service.objects.select_for_update().get(pk=service.pk)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    for key, value in changes.items():
        setattr(service, key, value)
    return _save_named(service, actor)


def _doctor(doctor: StaffMember) -> StaffMember:
    if not doctor.is_active or Role.DOCTOR not in doctor.roles:
        raise InvalidScheduling(fields={"doctor": ["This staff member is not an active doctor."]})
    return doctor


def works_at_branch(doctors: Iterable[StaffMember], branch: Branch, field: str) -> None:
    """Only a doctor who works at `branch` may offer services there: who works where is the owners'
    (the staff page), so a manager of one branch cannot pull another branch's doctor in."""
    outside = [d for d in doctors if not d.branches.filter(pk=branch.pk).exists()]
    if outside:
        names = ", ".join(d.user.get_full_name() or d.user.email for d in outside)
        raise InvalidScheduling(
            fields={field: [f"{names} does not work at {branch.name}: an owner adds the branch on the staff page."]}
        )


@transaction.atomic
def offering_set(
    *, actor: Actor, doctor: StaffMember, branch: Branch, service_ids: Iterable[int]
) -> list[DoctorService]:
    """The services `doctor` offers at `branch`, replacing what was there. New ones only where she
    works (a doctor who left the branch can still have hers unticked)."""
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    _doctor(doctor)
    ids = set(service_ids)
    if Service.objects.filter(pk__in=ids).count() != len(ids):
        raise InvalidScheduling(fields={"service_ids": ["One or more services do not exist."]})
    have = set(DoctorService.objects.filter(doctor=doctor, branch=branch).values_list("service_id", flat=True))
    if ids - have:
        works_at_branch([doctor], branch, "service_ids")
    DoctorService.objects.filter(doctor=doctor, branch=branch).exclude(service_id__in=ids).delete()
    DoctorService.objects.bulk_create(DoctorService(doctor=doctor, branch=branch, service_id=s) for s in ids - have)
    return list(DoctorService.objects.filter(doctor=doctor, branch=branch))


@transaction.atomic
def room_create(*, actor: Actor, branch: Branch, name: str) -> Room:
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    require_valid(InvalidScheduling, {"name": name_error(name)})
    return _save_named(Room(branch=branch, name=name.strip()), actor)


def _times(rows: Iterable[tuple[time, time]], label: str) -> None:
    for opens, closes in rows:
        if closes <= opens:
            raise InvalidScheduling(
                fields={label: [f"{opens:%H:%M}-{closes:%H:%M}: the end must come after the start."]}
            )


@transaction.atomic
def branch_hours_replace(*, actor: Actor, branch: Branch, hours: list[tuple[int, time, time]]) -> list[BranchHours]:
    """Replace the branch's weekly hours. Rows of one weekday may not overlap."""
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    _times(((o, c) for _, o, c in hours), "hours")
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in hours:
        if not 0 <= weekday <= 6:
            raise InvalidScheduling(fields={"hours": [f"Weekday {weekday} is not 0 (Monday) to 6 (Sunday)."]})
        by_day.setdefault(weekday, []).append((opens, closes))
    for weekday, rows in by_day.items():
        rows.sort()
        for (_, c1), (o2, _) in itertools.pairwise(rows):
            if o2 < c1:
                raise InvalidScheduling(fields={"hours": [f"Weekday {weekday}: two opening intervals overlap."]})
    BranchHours.objects.filter(branch=branch).delete()
    created = [BranchHours(branch=branch, weekday=w, opens=o, closes=c) for w, o, c in sorted(hours)]
    made: list[BranchHours] = bulk_create_with_history(created, BranchHours, default_user=history_user(actor))
    return made


@transaction.atomic
def special_day_create(
    *, actor: Actor, branch: Branch, day: date, opens: time | None = None, closes: time | None = None, note: str = ""
) -> SpecialDay:
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    if (opens is None) != (closes is None):
        raise InvalidScheduling(fields={"closes": ["Give both times, or neither to close the day."]})
    if opens is not None and closes is not None:
        _times([(opens, closes)], "closes")
    refuse_past(branch, ("date", day))
    refuse_stranding(stranded_by_special_day(branch=branch, day=day, opens=opens, closes=closes), "these hours")
    special = SpecialDay(branch=branch, date=day, opens=opens, closes=closes, note=note.strip())
    changed_by(special, actor).save()
    return special


def _overlapping_patterns(
    doctor: StaffMember, weekday: int, starts: time, ends: time, valid_from: date, valid_until: date | None
) -> QuerySet[ShiftPattern]:
    qs = ShiftPattern.objects.filter(doctor=doctor, weekday=weekday, starts__lt=ends, ends__gt=starts)
    qs = qs.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=valid_from))
    if valid_until is not None:
        qs = qs.filter(valid_from__lte=valid_until)
    return qs


@transaction.atomic
def shift_pattern_create(
    *,
    actor: Actor,
    doctor: StaffMember,
    branch: Branch,
    weekday: int,
    starts: time,
    ends: time,
    valid_from: date,
    valid_until: date | None = None,
    break_starts: time | None = None,
    break_ends: time | None = None,
) -> ShiftPattern:
    """A weekly shift. A doctor cannot work two overlapping shifts (at one branch or two)."""
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    _doctor(doctor)
    require_valid(
        InvalidScheduling,
        {
            "weekday": None if 0 <= weekday <= 6 else "Use 0 (Monday) to 6 (Sunday).",
            "ends": None if ends > starts else "The shift must end after it starts.",
            "valid_until": "Must not be before valid_from."
            if valid_until is not None and valid_until < valid_from
            else None,
            "break_ends": "A break needs both times and must lie inside the shift."
            if (break_starts is None) != (break_ends is None)
            or (break_starts is not None and break_ends is not None and not starts <= break_starts < break_ends <= ends)
            else None,
        },
    )
    works_at_branch([doctor], branch, "doctor")  # a shift does not move a doctor to a branch: owners do
    # Serialise shift changes of one doctor so two overlapping patterns cannot both pass the check.
    StaffMember.objects.select_for_update().filter(pk=doctor.pk).exists()
    if _overlapping_patterns(doctor, weekday, starts, ends, valid_from, valid_until).exists():
        raise ShiftOverlap()
    pattern = ShiftPattern(
        doctor=doctor,
        branch=branch,
        weekday=weekday,
        starts=starts,
        ends=ends,
        valid_from=valid_from,
        valid_until=valid_until,
        break_starts=break_starts,
        break_ends=break_ends,
    )
    changed_by(pattern, actor).save()
    return pattern


def refuse_extra_overlap(
    *, doctor: StaffMember, day: date, starts: time, ends: time, moving: ExtraShift | None = None
) -> None:
    """A one-off shift may not overlap the doctor's other one-off shifts that day, nor the hours of
    a weekly shift in force that day (at any branch; its break is free time). The refusal names
    the overlap. The caller holds the doctor's row (see shift_pattern_create)."""
    extras = ExtraShift.objects.filter(doctor=doctor, date=day, starts__lt=ends, ends__gt=starts)
    if moving is not None:
        extras = extras.exclude(pk=moving.pk)
    clash = extras.select_related("branch").first()
    if clash is not None:
        raise ShiftOverlap(
            f"The doctor already has an extra shift at {clash.branch.name} that day, "
            f"{clash.starts:%H:%M}-{clash.ends:%H:%M}."
        )
    weekly = _overlapping_patterns(doctor, day.weekday(), starts, ends, day, day).select_related("branch")
    for p in weekly:
        worked = [(p.starts, p.ends)]
        if p.break_starts is not None and p.break_ends is not None:
            worked = [(p.starts, p.break_starts), (p.break_ends, p.ends)]
        if any(a < ends and starts < b for a, b in worked):
            raise ShiftOverlap(
                f"The doctor's weekly shift at {p.branch.name} covers that time, "
                f"{p.get_weekday_display()}s {p.starts:%H:%M}-{p.ends:%H:%M}."
            )


@transaction.atomic
def extra_shift_create(
    *, actor: Actor, doctor: StaffMember, branch: Branch, day: date, starts: time, ends: time
) -> ExtraShift:
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    _doctor(doctor)
    if ends <= starts:
        raise InvalidScheduling(fields={"ends": ["The shift must end after it starts."]})
    refuse_past(branch, ("date", day))
    works_at_branch([doctor], branch, "doctor")
    StaffMember.objects.select_for_update().filter(pk=doctor.pk).exists()
    refuse_extra_overlap(doctor=doctor, day=day, starts=starts, ends=ends)
    extra = ExtraShift(doctor=doctor, branch=branch, date=day, starts=starts, ends=ends)
    changed_by(extra, actor).save()
    return extra


def _no_show_problems(changes: PolicyChanges) -> dict[str, str | None]:
    """The no-show rules' bounds (scheduling/no_shows.py): a grace period of up to 4 hours, a flag
    after up to 20 no-shows (0: never) counted over 1 to 36 months."""
    grace = changes.get("no_show_grace_minutes")
    after = changes.get("no_show_flag_after")
    months = changes.get("no_show_flag_months")
    return {
        "no_show_grace_minutes": "Use 0 to 240 minutes." if grace is not None and not 0 <= grace <= 240 else None,
        "no_show_flag_after": "Use 0 (never) to 20 no-shows." if after is not None and not 0 <= after <= 20 else None,
        "no_show_flag_months": "Use 1 to 36 months." if months is not None and not 1 <= months <= 36 else None,
    }


@transaction.atomic
def policy_update(*, actor: Actor, **changes: Unpack[PolicyChanges]) -> SchedulingPolicy:
    """Change the chain's booking rules given; a rule left out keeps its value."""
    authorize(actor, "scheduling.manage_policy")
    policy = policy_get()
    policy = SchedulingPolicy.objects.select_for_update().get(pk=policy.pk)
    step = changes.get("online_slot_step_minutes")
    hold = changes.get("hold_minutes")
    horizon = changes.get("online_horizon_days")
    require_valid(
        InvalidScheduling,
        {
            "online_slot_step_minutes": "Use 5 to 240 minutes in steps of 5."
            if step is not None and (step % 5 or not 5 <= step <= 240)
            else None,
            "hold_minutes": "Use 1 to 60 minutes." if hold is not None and not 1 <= hold <= 60 else None,
            "online_horizon_days": "Use 1 to 730 days." if horizon is not None and not 1 <= horizon <= 730 else None,
            **_no_show_problems(changes),
        },
    )
    for key, value in changes.items():
        setattr(policy, key, value)
    changed_by(policy, actor).save()
    return policy
