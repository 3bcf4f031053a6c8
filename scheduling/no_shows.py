"""No-shows: the system marks a visit nobody came to, and a patient who keeps missing visits is flagged.

- ``no_shows_mark``: a booked or confirmed appointment whose start plus the chain's grace period
  (``SchedulingPolicy.no_show_grace_minutes``) has passed with nobody checking the patient in is
  marked a no-show through ``appointment_mark_no_show`` by ``NO_SHOW_SWEEPER`` (the system: history
  names no user), so ``AppointmentNoShow`` is announced and billing's fee, packages' forfeit and the
  patient's notice follow as they do for the desk's "No-show". Whatever staff did first (checked in,
  started, completed, cancelled, moved it later, marked it) stands: each appointment is re-read under
  its row lock before it is marked, so the sweep and the desk's check-in at the same moment have one
  winner. Only visits that started within ``LOOKBACK`` are looked at: a chain turning the sweep on
  does not mark its old, never-closed appointments (the desk may still mark those by hand).
- ``no_show_record`` / ``no_show_records``: how many no-shows a patient has in the chain's period
  (``no_show_flag_months``) and whether that flags them (``no_show_flag_after``; 0 never flags):
  the one answer the desk, online booking's deposit rule (invoicing.checkout.policy) and the API read.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from config.errors import ApplicationError
from scheduling.exceptions import IllegalTransition
from scheduling.models import Appointment, Kind, SchedulingPolicy, Status
from scheduling.selectors import policy_get
from scheduling.services.lifecycle import appointment_mark_no_show
from tenants.authz import SystemActor

log = logging.getLogger(__name__)

#: The system marking missed visits: it may change an appointment's status, nothing else.
NO_SHOW_SWEEPER = SystemActor("no-show sweep", {"scheduling.change_appointment"})
#: How far back the sweep looks: visits that started longer ago than this are left to the desk.
LOOKBACK = timedelta(days=1)
#: The statuses nobody acted on yet: staff checked nobody in, nor cancelled, nor marked the visit.
AWAITING = (Status.BOOKED, Status.CONFIRMED)


# --- the flag -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NoShowRecord:
    """A patient's no-shows in the chain's period, and whether they flag the patient."""

    count: int
    flagged: bool
    months: int

    @property
    def period(self) -> str:
        return "the last year" if self.months == 12 else f"the last {self.months} months"

    @property
    def said(self) -> str:
        """In words, for the desk ("" when there is none): a flag is said, never only coloured."""
        if not self.count:
            return ""
        missed = f"missed {self.count} appointment{'s' if self.count != 1 else ''} in {self.period}"
        return f"Flagged for no-shows: {missed}" if self.flagged else missed[0].upper() + missed[1:]


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` moved back by whole calendar months (31 March less one month is 28/29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _record(count: int, policy: SchedulingPolicy) -> NoShowRecord:
    flagged = policy.no_show_flag_after > 0 and count >= policy.no_show_flag_after
    return NoShowRecord(count=count, flagged=flagged, months=policy.no_show_flag_months)


def no_show_records(*, patient_ids: Iterable[int], now: datetime | None = None) -> dict[int, NoShowRecord]:
    """Each patient's no-shows that started in the chain's period up to ``now`` (one query)."""
    ids = sorted(set(patient_ids))
    policy = policy_get()
    now = now or timezone.now()
    counts = dict(
        Appointment.objects.filter(
            patient_id__in=ids,
            kind=Kind.APPOINTMENT,
            status=Status.NO_SHOW,
            span__startswith__gte=months_before(now, policy.no_show_flag_months),
            span__startswith__lte=now,
        )
        .values("patient_id")
        .annotate(n=Count("pk"))
        .values_list("patient_id", "n")
    )
    return {pk: _record(counts.get(pk, 0), policy) for pk in ids}


def no_show_record(*, patient_id: int, now: datetime | None = None) -> NoShowRecord:
    """How many no-shows the patient has in the chain's period up to ``now``, and whether they are flagged."""
    return no_show_records(patient_ids=[patient_id], now=now)[patient_id]


# --- the sweep ------------------------------------------------------------------------------------
def no_shows_overdue(*, now: datetime) -> list[int]:
    """The appointments the sweep would mark at ``now``: booked or confirmed, with a patient, whose
    start plus the grace period has passed, started within ``LOOKBACK``. Empty when the chain has
    turned the sweep off."""
    policy = policy_get()
    if not policy.no_show_auto:
        return []
    latest_start = now - timedelta(minutes=policy.no_show_grace_minutes)
    return list(
        Appointment.objects.filter(
            kind=Kind.APPOINTMENT,
            status__in=AWAITING,
            patient__isnull=False,
            span__startswith__lte=latest_start,
            span__startswith__gte=now - LOOKBACK,
        )
        .order_by("span", "pk")
        .values_list("pk", flat=True)
    )


def no_show_mark_overdue(*, appointment_id: int, now: datetime | None = None) -> bool:
    """Mark one appointment a no-show as the system if, under its row lock, it is still awaited
    (booked or confirmed) and its grace period has passed; False when staff acted first (or it was
    moved later), True when it was marked. Safe to run twice and at once with the desk."""
    now = now or timezone.now()
    grace = timedelta(minutes=policy_get().no_show_grace_minutes)
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("branch")
            .filter(pk=appointment_id, kind=Kind.APPOINTMENT)
            .first()
        )
        if appointment is None or appointment.status not in AWAITING or appointment.patient_id is None:
            return False
        if appointment.span.lower + grace > now:
            return False
        appointment_mark_no_show(actor=NO_SHOW_SWEEPER, appointment=appointment, now=now)
    return True


def no_shows_mark(*, now: datetime | None = None) -> int:
    """Mark every overdue appointment of this chain a no-show (``no_shows_overdue``), each in its
    own transaction: one refused (logged) never stops the others. Returns how many were marked."""
    now = now or timezone.now()
    marked = 0
    for pk in no_shows_overdue(now=now):
        try:
            marked += no_show_mark_overdue(appointment_id=pk, now=now)
        except IllegalTransition:  # its status changed between the list and the lock: staff acted
            continue
        except ApplicationError:
            log.exception("appointment %s: could not be marked a no-show; the next sweep tries again", pk)
    return marked
