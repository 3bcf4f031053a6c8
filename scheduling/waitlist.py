"""Reading the waitlist: who waits for what at a branch, which entries a freed time suits, and what
an offer's or an entry's link opens. The changes are in scheduling.services.waitlist."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from patients.models import Patient
from scheduling.exceptions import WaitlistLinkInvalid
from scheduling.models import (
    ACTIVE_STATUSES,
    CalendarEntry,
    OfferStatus,
    Status,
    WaitlistEntry,
    WaitlistFreedTime,
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


#: The least time between when an offer can reach the patient and the visit: a time beginning
#: sooner is offered to nobody ("too soon").
MIN_NOTICE = timedelta(minutes=15)


def _reach_now(branch: Branch, now: datetime) -> datetime:
    return now


_reach: list[Callable[[Branch, datetime], datetime]] = [_reach_now]


def offer_reach_register(rule: Callable[[Branch, datetime], datetime]) -> None:
    """Who writes the offers' messages (notifications) says when a message written at ``now`` can
    reach a patient of ``branch``: the end of the chain's quiet hours when ``now`` is in them."""
    _reach[0] = rule


def offer_reaches(*, branch: Branch, now: datetime) -> datetime:
    """When an offer made at ``now`` can reach its patient (never before ``now``)."""
    return max(now, _reach[0](branch, now))


def _in_window(entry: WaitlistEntry, local: datetime) -> bool:
    end = local + timedelta(minutes=entry.service.duration_minutes)
    return (
        entry.date_from <= local.date() <= entry.date_to
        and entry.time_from <= local.time().replace(tzinfo=None)
        and (not entry.weekdays or local.weekday() in entry.weekdays)
        and end.date() == local.date()
        and end.time().replace(tzinfo=None) <= entry.time_to
    )


def waitlist_candidates(
    *,
    branch: Branch,
    doctor_id: int,
    start: datetime,
    service_id: int | None = None,
    not_offered_hold_id: int | None = None,
    exclude_patient_id: int | None = None,
) -> list[WaitlistEntry]:
    """The waiting entries a time at ``start`` with the doctor suits, first joined first: the same
    branch, that doctor or any, the date within the entry's dates, the visit (its service's length)
    within the entry's times of day on the branch's clock, on one of its weekdays (or any). An entry
    with an offer still open waits for its answer; one already offered this hold is not asked again;
    a patient already booked at that time is passed over, and so is the patient whose appointment
    freed the time (``exclude_patient_id``: they just gave it up)."""
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
        # nobody offered this time before is asked again: this hold's offers, or an earlier hold's of
        # the same time with the same doctor (given back, then held again for someone who joined)
        offered = WaitlistOffer.objects.filter(
            Q(hold_id=not_offered_hold_id) | Q(hold__doctor_id=doctor_id, hold__span__startswith=start)
        )
        rows = rows.exclude(pk__in=offered.values("entry_id"))
    if exclude_patient_id is not None:
        rows = rows.exclude(patient_id=exclude_patient_id)
    suited = [entry for entry in rows if _in_window(entry, local)]
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
    state: str  # open, late (expired, the time may still be free), accepted, paying, unpaid, taken, closed
    can_accept: bool
    manage_url: str = ""
    #: Once it was let go (declined, or expired): whether the time was then offered to someone else
    #: on the list (None while that does not apply).
    passed_on: bool | None = None


def waitlist_offer_read(*, token: str, now: datetime | None = None) -> OfferShown:
    """The offer a link opens, in this chain only (another chain's link, or a forged one, is
    WaitlistLinkInvalid). An expired offer whose time nobody has booked yet may still be accepted:
    the first to accept gets it."""
    now = now or timezone.now()
    offer = (
        WaitlistOffer.objects.select_related(
            "entry__patient",
            "entry__service",
            "entry__branch",
            "hold__doctor__user",
            "hold__branch",
            "hold__service",
            "appointment",
        )
        .filter(token_hash=token_hash(token))
        .first()
    )
    if offer is None:
        raise WaitlistLinkInvalid()
    hold = offer.hold
    start = hold.span.lower.astimezone(ZoneInfo(offer.entry.branch.timezone))
    waiting = offer.entry.status == WaitlistStatus.WAITING
    kept = offer.appointment if offer.status == OfferStatus.ACCEPTED else None
    if kept is not None and kept.status == Status.HELD:
        state = "paying"  # theirs while the payment asked online is made (waitlist_offer_reserve)
    elif kept is not None and kept.patient_id is None:
        state = "unpaid"  # that payment was never made: the time was given back
    elif offer.status == OfferStatus.ACCEPTED:
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
    passed_on = None
    if state in ("late", "closed") and offer.status in (OfferStatus.EXPIRED, OfferStatus.DECLINED):
        let_go = offer.answered_at or offer.expires_at  # the next round is offered from then on
        passed_on = WaitlistOffer.objects.filter(hold_id=offer.hold_id, created_at__gte=let_go).exists()
    return OfferShown(
        offer=offer, start=start, state=state, can_accept=state in ("open", "late", "paying"), passed_on=passed_on
    )


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


# --- why a freed time went to nobody, and what became of it ---------------------------------------

#: Why one waiting entry was not offered a freed time, in the order they are checked: (one, many).
WHY_NOT = {
    "own": ("is the patient whose appointment freed it", "are the patient whose appointment freed it"),
    "doctor": ("waits for another doctor", "wait for another doctor"),
    "window": ("can come on other days or at other times", "can come on other days or at other times"),
    "service": ("waits for a service this time cannot be held for", "wait for services this time cannot be held for"),
    "open": ("already has an offer to answer", "already have an offer to answer"),
    "busy": ("is booked at that time", "are booked at that time"),
}


def waitlist_why_not(
    *,
    branch: Branch,
    doctor_id: int,
    start: datetime,
    exclude_patient_id: int | None = None,
    held_services: frozenset[int] = frozenset(),
) -> str:
    """Why a time at ``start`` with the doctor was offered to nobody, in the desk's words: nobody
    waits at the branch, or how many of those waiting were passed over for each reason (the patient
    who gave it up, another doctor, other days or times, a service it could not be held for, an
    offer still to answer, booked then). ``held_services``: the services it could be held for."""
    waiting = list(
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, branch=branch)
        .select_related("service")
        .prefetch_related(Prefetch("offers", queryset=WaitlistOffer.objects.filter(status=OfferStatus.OPEN)))
    )
    if not waiting:
        return "Offered to nobody: nobody was waiting at this branch then."
    local = start.astimezone(ZoneInfo(branch.timezone))
    busy = _patients_busy(
        patient_ids=[e.patient_id for e in waiting],
        start=start,
        end=start + timedelta(minutes=max(e.service.duration_minutes for e in waiting)),
    )
    counts: Counter[str] = Counter()
    for entry in waiting:
        if entry.patient_id == exclude_patient_id:
            counts["own"] += 1
        elif entry.doctor_id is not None and entry.doctor_id != doctor_id:
            counts["doctor"] += 1
        elif not _in_window(entry, local):
            counts["window"] += 1
        elif held_services and entry.service_id not in held_services:
            counts["service"] += 1
        elif entry.offers.all():
            counts["open"] += 1
        elif entry.patient_id in busy:
            counts["busy"] += 1
        else:
            counts["service"] += 1
    parts = [f"{n} {WHY_NOT[why][0 if n == 1 else 1]}" for why in WHY_NOT if (n := counts[why])]
    return f"Offered to nobody: of {len(waiting)} waiting, " + ", ".join(parts) + "."


#: How a freed time offered to nobody begins its reason (nobody waiting, or why each was passed over).
OFFERED_TO_NOBODY = "Offered to nobody:"


def waitlist_offered_on_joining(*, entry: WaitlistEntry) -> str:
    """The freed time offered to ``entry`` at once as it joined, as the desk's flash says it
    ("Wed 25 Nov 13:00", on the branch's clock), or "" when none was."""
    offer = (
        WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OPEN)
        .select_related("hold")
        .order_by("created_at", "pk")
        .first()
    )
    if offer is None:
        return ""
    return f"{offer.hold.span.lower.astimezone(ZoneInfo(entry.branch.timezone)):%a %-d %b %H:%M}"


#: How the waitlist's service records a freed time given back after its offers (none taken).
NOBODY_TOOK_IT = "Nobody it was offered to took it"


def waitlist_freed_named(*, freed: list[WaitlistFreedTime]) -> list[Patient]:
    """Everyone the desk reads of on these freed times: whose visit freed each, and to whom it was
    offered (their reads go on the access log)."""
    named = {f.patient_id: f.patient for f in freed if f.patient is not None}
    holds = [f.hold_id for f in freed if f.hold_id is not None]
    for offer in WaitlistOffer.objects.filter(hold_id__in=holds).select_related("entry__patient"):
        named.setdefault(offer.entry.patient_id, offer.entry.patient)
    return list(named.values())


def waitlist_freed_said(*, freed: WaitlistFreedTime, now: datetime | None = None) -> str:
    """What became of a freed time, in the desk's words: to whom it was offered (and until when, or
    that the message waits for quiet hours to end), or why nobody."""
    now = now or timezone.now()
    if freed.hold_id is None:
        return freed.reason
    offers = list(
        WaitlistOffer.objects.filter(hold_id=freed.hold_id)
        .select_related("entry__patient", "entry__branch", "appointment")
        .order_by("created_at", "pk")
    )
    if not offers:
        return freed.reason
    tz = ZoneInfo(freed.branch.timezone)
    said = []
    for offer in offers:
        name = f"{offer.entry.patient.first_name} {offer.entry.patient.last_name}"
        if offer.status == OfferStatus.OPEN and offer.reaches_at is not None and offer.reaches_at > now:
            said.append(f"{name} (not sent yet: quiet hours until {offer.reaches_at.astimezone(tz):%H:%M})")
        elif offer.status == OfferStatus.OPEN:
            said.append(f"{name} (held until {offer.expires_at.astimezone(tz):%H:%M})")
        elif offer.status == OfferStatus.ACCEPTED and offer.appointment and offer.appointment.status == Status.HELD:
            kept = offer.appointment.hold_expires_at
            until = f" until {kept.astimezone(tz):%H:%M}" if kept else ""
            said.append(f"{name} (accepted: kept for them{until} while they pay online)")
        elif offer.status == OfferStatus.ACCEPTED and offer.appointment and offer.appointment.patient_id is None:
            said.append(f"{name} (accepted, not paid online in time: given back)")
        else:
            said.append(f"{name} ({offer.get_status_display().lower()})")
    text = "The freed time went to the waitlist: offered to " + ", ".join(said) + "."
    reason = freed.reason
    if reason.startswith(OFFERED_TO_NOBODY):  # offered later, once someone it suited joined or was free
        why = reason.removeprefix(OFFERED_TO_NOBODY).strip().rstrip(".")
        reason = f"First offered to nobody ({why}); offered again once someone it suited could have it."
    if reason.startswith(NOBODY_TOOK_IT):  # say how: declined, not answered in time, or both
        answers = {offer.status for offer in offers}
        if answers == {OfferStatus.DECLINED}:
            reason = "Everyone it was offered to declined it: it is free to book again."
        elif answers == {OfferStatus.EXPIRED}:
            reason = "Nobody it was offered to answered in time: it is free to book again."
        elif answers <= {OfferStatus.DECLINED, OfferStatus.EXPIRED}:
            reason = "Nobody it was offered to took it (declined, or not answered in time): it is free to book again."
        else:
            reason = "Nobody it was offered to took it: it is free to book again."
    return f"{text} {reason}" if reason else text


def waitlist_freed_of(*, appointment_id: int) -> WaitlistFreedTime | None:
    """The latest time this appointment freed (its cancellation, or its move), if the waitlist saw it."""
    return (
        WaitlistFreedTime.objects.select_related("branch")
        .filter(appointment_id=appointment_id)
        .order_by("-created_at", "-pk")
        .first()
    )


def waitlist_freed_list(*, actor: Actor, branch: Branch, limit: int = 10) -> list[tuple[WaitlistFreedTime, str]]:
    """The branch's latest freed times still to come, each with what became of it."""
    authorize(actor, "scheduling.view_calendar", branch)
    now = timezone.now()
    rows = (
        WaitlistFreedTime.objects.filter(branch=branch, start__gt=now)
        .select_related("branch", "doctor__user", "patient")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [(freed, waitlist_freed_said(freed=freed, now=now) + _still_free_for(freed, now=now)) for freed in rows]


def _still_free_for(freed: WaitlistFreedTime, *, now: datetime) -> str:
    """For a time offered to nobody that is still free: how many waiting now suit it (each answers
    the offer they have first; it is offered to them in turn once they have none)."""
    if freed.hold_id is not None or freed.start <= now:
        return ""
    if CalendarEntry.objects.filter(
        doctor_id=freed.doctor_id, status__in=ACTIVE_STATUSES, span__overlap=(freed.start, freed.start + MIN_NOTICE)
    ).exists():
        return ""
    local = freed.start.astimezone(ZoneInfo(freed.branch.timezone))
    waiting = (
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, branch_id=freed.branch_id)
        .filter(Q(doctor_id__isnull=True) | Q(doctor_id=freed.doctor_id))
        .select_related("service")
    )
    if freed.patient_id is not None:
        waiting = waiting.exclude(patient_id=freed.patient_id)
    matching = sum(1 for entry in waiting if _in_window(entry, local))
    if not matching:
        return ""
    return (
        f" Still free, matching: {matching} waiting (it is offered to them in turn once they have no other "
        "offer to answer)."
    )
