"""Changing a clinic's set-up after the fact: who offers a service where, per-branch prices, rooms
and services taken out of use, shifts changed or ended, extra shifts and special days edited.

A change never strands a booked appointment silently: when a shift ends or narrows, or a day
closes, while booked appointments lie in the time it removes, the change is refused with
AppointmentsAffected, and the selectors ``appointments_stranded_by_shift`` / ``_by_day`` list them
for the page. The staff move or cancel them first (a mature calendar does not leave a patient
booked with a doctor who is not there)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta

from django.db import transaction
from django.db.models import Q

from scheduling import intervals as iv
from scheduling.exceptions import InvalidScheduling, ShiftOverlap
from scheduling.models import (
    DoctorService,
    ExtraShift,
    Room,
    Service,
    ServicePrice,
    ShiftPattern,
    SpecialDay,
)
from scheduling.selectors import (
    stranded_by_extra_shift,
    stranded_by_shift_change,
    stranded_by_shift_end,
    stranded_by_special_day,
)
from scheduling.services.catalogue import _doctor, refuse_extra_overlap, works_at_branch
from scheduling.services.stranding import branch_today, refuse_past, refuse_stranding
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, Role, StaffMember

MAX_PRICE_MINOR = 100_000_000  # a million in major units: anything above is a typo


def _lock_doctor(doctor: StaffMember) -> None:
    # Shift changes of one doctor are serialised (as in shift_pattern_create), so two changes
    # cannot both pass the overlap check.
    StaffMember.objects.select_for_update().filter(pk=doctor.pk).exists()


# --- who offers a service where, and what it costs there -----------------------------------------
@transaction.atomic
def service_offerings_set(
    *, actor: Actor, service: Service, branch: Branch, doctor_ids: Iterable[int]
) -> list[DoctorService]:
    """The doctors who offer `service` at `branch`, replacing who did. The mirror of offering_set
    (a doctor's services at a branch), for the service page. Only doctors who work at the branch
    may be newly ticked (owners say who works where, on the staff page)."""
    authorize(actor, "scheduling.manage_branch_calendar", branch)
    ids = set(doctor_ids)
    doctors = list(
        StaffMember.objects.filter(pk__in=ids, is_active=True, roles__contains=[Role.DOCTOR]).select_related("user")
    )
    if len(doctors) != len(ids):
        raise InvalidScheduling(fields={"doctor_ids": ["One or more of them is not an active doctor."]})
    have = set(DoctorService.objects.filter(service=service, branch=branch).values_list("doctor_id", flat=True))
    works_at_branch([d for d in doctors if d.pk not in have], branch, "doctor_ids")
    DoctorService.objects.filter(service=service, branch=branch).exclude(doctor_id__in=ids).delete()
    DoctorService.objects.bulk_create(
        DoctorService(doctor_id=d, service=service, branch=branch) for d in sorted(ids - have)
    )
    return list(DoctorService.objects.filter(service=service, branch=branch).order_by("doctor_id"))


@transaction.atomic
def service_price_set(
    *, actor: Actor, service: Service, branch: Branch, price_minor: int | None
) -> ServicePrice | None:
    """The price of `service` at `branch`; None removes the branch's own price, so the service's
    price applies again. Prices are the owners' (scheduling.manage_catalogue); history keeps the
    old ones."""
    authorize(actor, "scheduling.manage_catalogue")
    if price_minor is not None and not 0 <= price_minor <= MAX_PRICE_MINOR:
        raise InvalidScheduling(fields={"price_minor": [f"Use 0 to {MAX_PRICE_MINOR} minor units."]})
    # The service's row serialises price changes, so two first prices cannot race into the
    # unique constraint.
    Service.objects.select_for_update().filter(pk=service.pk).exists()
    current = ServicePrice.objects.filter(service=service, branch=branch).first()
    if price_minor is None:
        if current is not None:
            changed_by(current, actor).delete()
        return None
    price = current or ServicePrice(service=service, branch=branch)
    price.price_minor = price_minor
    changed_by(price, actor).save()
    return price


# --- rooms --------------------------------------------------------------------------------------
@transaction.atomic
def room_set_active(*, actor: Actor, room: Room, is_active: bool) -> Room:
    """Take a room out of use or back. An inactive room is given to no new booking; the
    appointments already in it stay."""
    room = Room.objects.select_for_update().get(pk=room.pk)
    authorize(actor, "scheduling.manage_branch_calendar", room.branch)
    room.is_active = is_active
    changed_by(room, actor).save()
    return room


# --- weekly shifts ------------------------------------------------------------------------------
def _shift_errors(starts: time, ends: time, break_starts: time | None, break_ends: time | None) -> None:
    if ends <= starts:
        raise InvalidScheduling(fields={"ends": ["The shift must end after it starts."]})
    if (break_starts is None) != (break_ends is None) or (
        break_starts is not None and break_ends is not None and not starts <= break_starts < break_ends <= ends
    ):
        raise InvalidScheduling(fields={"break_ends": ["A break needs both times and must lie inside the shift."]})


@transaction.atomic
def shift_pattern_end(*, actor: Actor, pattern: ShiftPattern, last_day: date) -> ShiftPattern | None:
    """The weekly shift's last day: it stays in the past, ends after `last_day`. A shift that has
    not begun by then is removed (None). Refused while booked appointments lie after it."""
    pattern = ShiftPattern.objects.select_for_update().get(pk=pattern.pk)
    authorize(actor, "scheduling.manage_branch_calendar", pattern.branch)
    if last_day < branch_today(pattern.branch) - timedelta(days=1):
        raise InvalidScheduling(
            fields={"last_day": ["The past stays as it was: end the shift yesterday at the earliest."]}
        )
    if pattern.valid_until is not None and last_day >= pattern.valid_until:
        raise InvalidScheduling(fields={"last_day": ["The shift already ends by then."]})
    refuse_stranding(stranded_by_shift_end(pattern=pattern, last_day=last_day), "ending this shift")
    if last_day < pattern.valid_from:
        changed_by(pattern, actor).delete()
        return None
    pattern.valid_until = last_day
    changed_by(pattern, actor).save()
    return pattern


@transaction.atomic
def shift_pattern_change(
    *,
    actor: Actor,
    pattern: ShiftPattern,
    starts: time,
    ends: time,
    break_starts: time | None,
    break_ends: time | None,
    from_day: date,
) -> ShiftPattern:
    """New hours for a weekly shift from `from_day` on. The weeks before keep the old hours: the
    old pattern ends the day before and a new one carries on (until the old one's end). Refused
    while booked appointments lie in the time the change removes."""
    pattern = ShiftPattern.objects.select_for_update().get(pk=pattern.pk)
    authorize(actor, "scheduling.manage_branch_calendar", pattern.branch)
    _shift_errors(starts, ends, break_starts, break_ends)
    if from_day < branch_today(pattern.branch):
        raise InvalidScheduling(
            fields={"from_day": ["The past stays as it was: new hours start today at the earliest."]}
        )
    if pattern.valid_until is not None and from_day > pattern.valid_until:
        raise InvalidScheduling(fields={"from_day": ["The shift has ended by then."]})
    _lock_doctor(pattern.doctor)
    first = max(from_day, pattern.valid_from)
    others = (
        ShiftPattern.objects.filter(doctor=pattern.doctor, weekday=pattern.weekday, starts__lt=ends, ends__gt=starts)
        .exclude(pk=pattern.pk)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first))
    )
    if pattern.valid_until is not None:
        others = others.filter(valid_from__lte=pattern.valid_until)
    if others.exists():
        raise ShiftOverlap()
    stranded = stranded_by_shift_change(
        pattern=pattern, starts=starts, ends=ends, break_starts=break_starts, break_ends=break_ends, from_day=first
    )
    refuse_stranding(stranded, "this change")
    # The weeks before keep the old hours, when they hold a day of the shift's weekday at all.
    if first > pattern.valid_from and iv.holds_weekday(pattern.weekday, pattern.valid_from, first - timedelta(days=1)):
        successor = ShiftPattern(
            doctor=pattern.doctor,
            branch=pattern.branch,
            weekday=pattern.weekday,
            valid_from=first,
            valid_until=pattern.valid_until,
        )
        pattern.valid_until = first - timedelta(days=1)
        changed_by(pattern, actor).save()
        pattern = successor
    pattern.starts, pattern.ends, pattern.break_starts, pattern.break_ends = starts, ends, break_starts, break_ends
    changed_by(pattern, actor).save()
    return pattern


# --- extra shifts -------------------------------------------------------------------------------
@transaction.atomic
def extra_shift_update(*, actor: Actor, extra: ExtraShift, day: date, starts: time, ends: time) -> ExtraShift:
    """Move a one-off shift to another day or other hours. The past stays as it was (a shift
    before today is not changed, nor moved before today); refused while booked appointments lie in
    the time it gives up, or when it would overlap the doctor's other shifts."""
    extra = ExtraShift.objects.select_for_update().get(pk=extra.pk)
    authorize(actor, "scheduling.manage_branch_calendar", extra.branch)
    _doctor(extra.doctor)
    _shift_errors(starts, ends, None, None)
    refuse_past(extra.branch, ("date", min(extra.date, day)))
    _lock_doctor(extra.doctor)
    refuse_extra_overlap(doctor=extra.doctor, day=day, starts=starts, ends=ends, moving=extra)
    refuse_stranding(stranded_by_extra_shift(extra=extra, day=day, starts=starts, ends=ends), "this change")
    extra.date, extra.starts, extra.ends = day, starts, ends
    changed_by(extra, actor).save()
    return extra


@transaction.atomic
def extra_shift_delete(*, actor: Actor, extra: ExtraShift) -> None:
    """Cancel a one-off shift of today or later. Refused while booked appointments lie in it."""
    extra = ExtraShift.objects.select_for_update().get(pk=extra.pk)
    authorize(actor, "scheduling.manage_branch_calendar", extra.branch)
    refuse_past(extra.branch, ("date", extra.date))
    refuse_stranding(stranded_by_extra_shift(extra=extra), "cancelling this shift")
    changed_by(extra, actor).delete()


# --- closures and special hours -----------------------------------------------------------------
@transaction.atomic
def special_day_update(
    *, actor: Actor, special: SpecialDay, day: date, opens: time | None, closes: time | None, note: str
) -> SpecialDay:
    """Change a closure or special hours, of today or later and to today or later. Refused when
    booked appointments would fall outside the opening the change leaves, on the day it lands on
    and on the day it leaves (which has its other special rows, or its weekly hours, again)."""
    special = SpecialDay.objects.select_for_update().get(pk=special.pk)
    authorize(actor, "scheduling.manage_branch_calendar", special.branch)
    if (opens is None) != (closes is None):
        raise InvalidScheduling(fields={"closes": ["Give both times, or neither to close the day."]})
    if opens is not None and closes is not None and closes <= opens:
        raise InvalidScheduling(fields={"closes": ["The end must come after the start."]})
    refuse_past(special.branch, ("date", min(special.date, day)))
    stranded = stranded_by_special_day(branch=special.branch, day=day, opens=opens, closes=closes, replacing=special)
    refuse_stranding(stranded, "these hours")
    special.date, special.opens, special.closes, special.note = day, opens, closes, note.strip()[:200]
    changed_by(special, actor).save()
    return special


@transaction.atomic
def special_day_delete(*, actor: Actor, special: SpecialDay) -> None:
    """Remove a closure or special hours of today or later: the day has the hours of its other
    special rows again, or its weekly hours, which must still hold its booked appointments."""
    special = SpecialDay.objects.select_for_update().get(pk=special.pk)
    authorize(actor, "scheduling.manage_branch_calendar", special.branch)
    refuse_past(special.branch, ("date", special.date))
    refuse_stranding(stranded_by_special_day(branch=special.branch, replacing=special), "removing these hours")
    changed_by(special, actor).delete()
