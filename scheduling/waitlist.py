"""Reading the waitlist: who waits for what at a branch, which entries a freed time suits, and what
an offer's or an entry's link opens. The changes are in scheduling.services.waitlist."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from scheduling.exceptions import WaitlistLinkInvalid
from scheduling.models import (
    ACTIVE_STATUSES,
    CalendarEntry,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistPolicy,
    WaitlistStatus,
)
from tenants.authz import Actor, authorize
from tenants.org.models import Branch
from tenants.org.selectors import branch_ids_visible


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def waitlist_policy_get() -> WaitlistPolicy:
    policy, _ = WaitlistPolicy.objects.get_or_create(id=1)
    return policy


def waitlist_candidates(
    *,
    branch: Branch,
    doctor_id: int,
    start: datetime,
    service_id: int | None = None,
    not_offered_hold_id: int | None = None,
) -> list[WaitlistEntry]:
    """The waiting entries a time at ``start`` with the doctor suits, first joined first: the same
    branch, that doctor or any, the date within the entry's dates, the visit (its service's length)
    within the entry's times of day on the branch's clock, on one of its weekdays (or any). An entry
    with an offer still open waits for its answer; one already offered this hold is not asked again;
    a patient already booked at that time is passed over."""
    local = start.astimezone(ZoneInfo(branch.timezone))
    rows = (
        WaitlistEntry.objects.filter(
            status=WaitlistStatus.WAITING,
            branch=branch,
            date_from__lte=local.date(),
            date_to__gte=local.date(),
            time_from__lte=local.time(),
        )
        .filter(Q(doctor_id__isnull=True) | Q(doctor_id=doctor_id))
        .exclude(offers__status=OfferStatus.OPEN)
        .select_related("service", "patient")
        .order_by("created_at", "pk")
    )
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    if not_offered_hold_id is not None:
        rows = rows.exclude(offers__hold_id=not_offered_hold_id)
    suited = []
    for entry in rows:
        end = local + timedelta(minutes=entry.service.duration_minutes)
        if entry.weekdays and local.weekday() not in entry.weekdays:
            continue
        if end.date() != local.date() or end.time() > entry.time_to:
            continue
        suited.append(entry)
    if not suited:
        return []
    busy = _patients_busy(
        patient_ids=[e.patient_id for e in suited],
        start=start,
        end=start + timedelta(minutes=max(e.service.duration_minutes for e in suited)),
    )
    return [e for e in suited if e.patient_id not in busy]


def _patients_busy(*, patient_ids: list[int], start: datetime, end: datetime) -> set[int]:
    return set(
        CalendarEntry.objects.filter(
            patient_id__in=patient_ids, status__in=ACTIVE_STATUSES, span__overlap=(start, end)
        ).values_list("patient_id", flat=True)
    )


def waitlist_list(
    *, actor: Actor, branch: Branch | None = None, statuses: tuple[str, ...] = (WaitlistStatus.WAITING,)
) -> QuerySet[WaitlistEntry]:
    """The entries of the branches the actor sees (of one branch if given), first joined first, each
    with its offers (newest first) and their held times."""
    if branch is not None:
        authorize(actor, "scheduling.view_calendar", branch)
    visible = branch_ids_visible(actor=actor)
    rows = WaitlistEntry.objects.filter(status__in=statuses)
    if visible is not None:
        rows = rows.filter(branch_id__in=visible)
    if branch is not None:
        rows = rows.filter(branch=branch)
    offers = WaitlistOffer.objects.select_related("hold__doctor__user").order_by("-created_at", "-pk")
    return rows.select_related("patient", "service", "branch", "doctor__user").prefetch_related(
        Prefetch("offers", queryset=offers)
    )


def waitlist_entry_get(*, actor: Actor, entry_id: int) -> WaitlistEntry:
    """One entry of a branch the actor sees; any other is WaitlistLinkInvalid (404)."""
    entry = waitlist_list(actor=actor, statuses=tuple(WaitlistStatus)).filter(pk=entry_id).first()
    if entry is None:
        raise WaitlistLinkInvalid("No such waitlist entry.")
    return entry


def waitlist_offer_list(
    *, actor: Actor, branch: Branch | None = None, status: str | None = None
) -> QuerySet[WaitlistOffer]:
    """Offers made at the branches the actor sees (of one branch if given), newest first."""
    if branch is not None:
        authorize(actor, "scheduling.view_calendar", branch)
    visible = branch_ids_visible(actor=actor)
    rows = WaitlistOffer.objects.select_related(
        "entry__patient", "entry__service", "hold__doctor__user", "hold__branch", "hold__service"
    ).order_by("-created_at", "-pk")
    if visible is not None:
        rows = rows.filter(entry__branch_id__in=visible)
    if branch is not None:
        rows = rows.filter(entry__branch=branch)
    if status:
        rows = rows.filter(status=status)
    return rows


@dataclass(frozen=True)
class OfferShown:
    """What an offer's link shows its patient: the time, and what may still be done."""

    offer: WaitlistOffer
    start: datetime  # on the branch's clock
    state: str  # open, late (expired, the time may still be free), accepted, taken, closed
    can_accept: bool
    manage_url: str = ""


def waitlist_offer_read(*, token: str, now: datetime | None = None) -> OfferShown:
    """The offer a link opens, in this chain only (another chain's link, or a forged one, is
    WaitlistLinkInvalid). An expired offer whose time nobody has booked yet may still be accepted:
    the first to accept gets it."""
    now = now or timezone.now()
    offer = (
        WaitlistOffer.objects.select_related(
            "entry__patient", "entry__service", "entry__branch", "hold__doctor__user", "hold__branch", "hold__service"
        )
        .filter(token_hash=token_hash(token))
        .first()
    )
    if offer is None:
        raise WaitlistLinkInvalid()
    hold = offer.hold
    start = hold.span.lower.astimezone(ZoneInfo(offer.entry.branch.timezone))
    waiting = offer.entry.status == WaitlistStatus.WAITING
    if offer.status == OfferStatus.ACCEPTED:
        state = "accepted"
    elif offer.status == OfferStatus.TAKEN or (
        hold.patient_id is not None and hold.patient_id != offer.entry.patient_id
    ):
        state = "taken"
    elif offer.status in (OfferStatus.DECLINED, OfferStatus.WITHDRAWN) or not waiting:
        state = "closed"
    elif hold.span.lower <= now:
        state = "past"
    elif offer.status == OfferStatus.EXPIRED or offer.expires_at <= now:
        state = "late"
    else:
        state = "open"
    return OfferShown(offer=offer, start=start, state=state, can_accept=state in ("open", "late"))


def waitlist_entry_read(*, token: str) -> WaitlistEntry:
    """The entry a patient's own link opens (to see it and leave the list), in this chain only."""
    entry = (
        WaitlistEntry.objects.select_related("patient", "service", "branch", "doctor__user")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if entry is None:
        raise WaitlistLinkInvalid()
    return entry


def waitlist_default_dates(*, branch: Branch, days: int = 30) -> tuple[date, date]:
    """The dates a new entry waits between unless told otherwise: from today, a month, on the branch's clock."""
    today = timezone.now().astimezone(ZoneInfo(branch.timezone)).date()
    return today, today + timedelta(days=days)
