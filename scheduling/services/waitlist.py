"""The waitlist: patients waiting for a time, and freed times offered to them in the order they joined.

When a booked time frees up (a cancellation, a reschedule's previous time) the calendar holds it with
its own held row (as an online booking's hold), so nobody else books it meanwhile, and offers it to
the first waiting entries it suits (``WaitlistPolicy.offers_at_once``, each for ``offer_minutes``).
The first to accept gets it through the booking door: the plan judges the time again for that
patient and ``appointment_hold_confirm`` books the hold. Declined or expired offers move on to the
next entry (``waitlist_offers_expire``, a periodic task); when nobody is left the hold is given back.

Locks, always in this order: the held row, then offers, then entries. Two patients accepting one time
queue on the held row; the second finds the time booked and is told so (WaitlistOfferTaken), staying
on the list."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from config.errors import ApplicationError
from config.events import publish, subscribe
from patients.models import Patient
from patients.services import patient_proved_by_code
from scheduling import events
from scheduling.engine import Problem
from scheduling.exceptions import (
    BookingRefused,
    InvalidScheduling,
    WaitlistLinkInvalid,
    WaitlistOfferClosed,
    WaitlistOfferTaken,
)
from scheduling.models import (
    Appointment,
    DoctorService,
    OfferStatus,
    Service,
    Source,
    Status,
    WaitlistEntry,
    WaitlistFreedTime,
    WaitlistOffer,
    WaitlistPolicy,
    WaitlistStatus,
)
from scheduling.services.booking import _actor_id, _claim, _place, _save_entry
from scheduling.services.holds import appointment_hold_confirm
from scheduling.services.links import manage_link_issue
from scheduling.waitlist import (
    MIN_NOTICE,
    offer_reaches,
    token_hash,
    waitlist_candidates,
    waitlist_policy_get,
    waitlist_why_not,
)
from tenants.authz import Actor, authorize
from tenants.org.models import Branch, StaffMember

#: The longest a patient waits on one entry; after it they join again.
LONGEST_WAIT = timedelta(days=366)
#: A hold outlives its offers a little, so the expiry task (every minute) moves on before anyone
#: else can book the time.
HOLD_GRACE = timedelta(minutes=2)
RELEASED_REASON = "Offered to the waitlist; nobody took it."


@dataclass(frozen=True)
class WaitlistJoined:
    entry: WaitlistEntry
    token: str  # the raw secret of the patient's link to leave the list: shown once, never stored


@dataclass(frozen=True)
class Window:
    """When a patient can come: between two dates, between two times of day on the branch's clock,
    on some weekdays (Monday is 0; none: any)."""

    date_from: date
    date_to: date
    time_from: time
    time_to: time
    weekdays: Sequence[int] = ()


def _check_window(window: Window, *, branch: Branch) -> None:
    today = timezone.now().astimezone(ZoneInfo(branch.timezone)).date()
    problems: dict[str, list[str]] = {}
    if window.date_to < window.date_from:
        problems["date_to"] = ["The last day comes on or after the first."]
    elif window.date_to < today:
        problems["date_to"] = ["The last day has passed."]
    elif window.date_to - max(window.date_from, today) > LONGEST_WAIT:
        problems["date_to"] = ["Wait at most a year on one entry."]
    if window.time_to <= window.time_from:
        problems["time_to"] = ["The latest time comes after the earliest."]
    if any(day not in range(7) for day in window.weekdays):
        problems["weekdays"] = ["Weekdays are 0 (Monday) to 6 (Sunday)."]
    if problems:
        raise InvalidScheduling(fields=problems)


def _insert_entry(
    *,
    actor: Actor | None,
    patient: Patient,
    branch: Branch,
    service: Service,
    doctor: StaffMember | None,
    window: Window,
    source: str,
    notes: str,
) -> WaitlistJoined:
    if not service.is_active or not branch.is_active:
        raise InvalidScheduling(fields={"service": ["This service is not offered at this branch."]})
    offered = DoctorService.objects.filter(branch=branch, service=service)
    if doctor is not None:
        offered = offered.filter(doctor=doctor)
    if not offered.exists():
        field = "doctor" if doctor is not None else "service"
        raise InvalidScheduling(fields={field: ["Nobody offers this service at this branch."]})
    _check_window(window, branch=branch)
    if patient.merged_into_id is not None:
        raise InvalidScheduling(fields={"patient": ["This record was merged into another: use the record kept."]})
    if WaitlistEntry.objects.filter(
        patient=patient, branch=branch, service=service, status=WaitlistStatus.WAITING
    ).exists():
        raise InvalidScheduling(fields={"service": ["Already on the waitlist for this service at this branch."]})
    token = secrets.token_urlsafe(32)
    entry = WaitlistEntry.objects.create(
        patient=patient,
        branch=branch,
        service=service,
        doctor=doctor,
        date_from=window.date_from,
        date_to=window.date_to,
        time_from=window.time_from,
        time_to=window.time_to,
        weekdays=sorted(set(window.weekdays)),
        source=source,
        notes=notes.strip()[:300],
        token_hash=token_hash(token),
        created_by_id=_actor_id(actor),
    )
    publish(events.WaitlistJoined(entry.pk, token))
    _offer_freed_times([entry.pk], now=timezone.now())
    return WaitlistJoined(entry=entry, token=token)


@transaction.atomic
def waitlist_join(
    *,
    actor: Actor,
    patient: Patient,
    branch: Branch,
    service: Service,
    doctor: StaffMember | None,
    window: Window,
    notes: str = "",
) -> WaitlistJoined:
    """Staff put a patient on the waitlist (those who may book at the branch)."""
    authorize(actor, "scheduling.book", branch)
    return _insert_entry(
        actor=actor,
        patient=patient,
        branch=branch,
        service=service,
        doctor=doctor,
        window=window,
        source=Source.STAFF,
        notes=notes,
    )


@transaction.atomic
def waitlist_join_online(
    *,
    branch_id: int,
    service_id: int,
    doctor_id: int | None,
    window: Window,
    first_name: str,
    last_name: str,
    challenge: str,
    code: str,
    ip: str | None,
    request: HttpRequest | None = None,
) -> WaitlistJoined:
    """A visitor of the booking page joins when no time suits, proving their e-mail or phone with the
    booking page's one-time code (patients.portal); the patient is found by that contact or
    registered, as when booking. A refusal leaves no patient and no spent code behind."""
    branch = Branch.objects.filter(pk=branch_id, is_active=True).first()
    service = Service.objects.filter(pk=service_id, is_active=True, bookable_online=True).first()
    doctor = None if doctor_id is None else StaffMember.objects.filter(pk=doctor_id).first()
    if branch is None or service is None or (doctor_id is not None and doctor is None):
        raise InvalidScheduling(fields={"service": ["No such branch, service or doctor."]})
    _check_window(window, branch=branch)
    patient, _ = patient_proved_by_code(
        first_name=first_name, last_name=last_name, challenge=challenge, code=code, ip=ip, request=request
    )
    return _insert_entry(
        actor=None,
        patient=patient,
        branch=branch,
        service=service,
        doctor=doctor,
        window=window,
        source=Source.ONLINE,
        notes="",
    )


# --- offering a freed time -------------------------------------------------------------------------


def _hold(
    *, service: Service, branch: Branch, doctor: StaffMember, start: datetime, now: datetime
) -> Appointment | None:
    """The calendar's held row for a freed time, placed by the plan as any booking (staff rules: the
    waitlist may offer what the desk could book); None if the time cannot be held for this service."""
    try:
        with transaction.atomic():
            hold = _claim(
                actor=None,
                doctor=doctor,
                branch=branch,
                service=service,
                start=start,
                source=Source.WAITLIST,
                patient=None,
                room=None,
                override=False,
                now=now,
                status=Status.HELD,
                hold_expires_at=now + timedelta(minutes=waitlist_policy_get().offer_minutes) + HOLD_GRACE,
                hold_token=secrets.token_urlsafe(24),
            )
            _save_entry(hold, actor=None)
    except ApplicationError:
        return None
    return hold


def _offer_round(hold: Appointment, *, now: datetime) -> list[WaitlistOffer]:
    """Offer a held time to the next waiting entries for its service, up to the policy's number of
    open offers (never to the patient whose appointment freed it); give the time back when nobody
    has an offer open for it any more, saying why on the freed time. An offer made in the chain's
    quiet hours is held from when its message can reach the patient (their end). The caller holds
    the held row's lock."""
    if hold.status != Status.HELD or hold.patient_id is not None or hold.branch is None:
        return []
    policy: WaitlistPolicy = waitlist_policy_get()
    freed = WaitlistFreedTime.objects.filter(hold=hold).order_by("-pk").first()
    own = freed.patient_id if freed is not None else None
    open_now = WaitlistOffer.objects.filter(hold=hold, status=OfferStatus.OPEN).count()
    made: list[WaitlistOffer] = []
    wanted = policy.offers_at_once - open_now
    reaches = offer_reaches(branch=hold.branch, now=now)
    too_soon = hold.span.lower <= reaches + MIN_NOTICE
    if wanted > 0 and not too_soon:
        candidates = waitlist_candidates(
            branch=hold.branch,
            doctor_id=hold.doctor_id,
            start=hold.span.lower,
            service_id=hold.service_id,
            not_offered_hold_id=hold.pk,
            exclude_patient_id=own,
        )
        expires = min(reaches + timedelta(minutes=policy.offer_minutes), hold.span.lower)
        for entry in candidates[:wanted]:
            token = secrets.token_urlsafe(32)
            offer = WaitlistOffer.objects.create(
                entry=entry,
                hold=hold,
                token_hash=token_hash(token),
                expires_at=expires,
                reaches_at=reaches if reaches > now else None,
            )
            publish(events.WaitlistOffered(offer.pk, token))
            made.append(offer)
        if made and (hold.hold_expires_at is None or hold.hold_expires_at < expires + HOLD_GRACE):
            hold.hold_expires_at = expires + HOLD_GRACE
            hold.save(update_fields=["hold_expires_at", "updated_at"])
    if open_now == 0 and not made:
        hold.status = Status.CANCELLED
        hold.cancelled_at, hold.cancellation_reason = now, RELEASED_REASON
        _save_entry(hold, actor=None)
        if freed is not None:
            asked = WaitlistOffer.objects.filter(hold=hold).count()
            freed.reason = (
                "Nobody it was offered to took it in time: it is free to book again."
                if asked
                else _why_not(hold, own=own, too_soon=too_soon, reaches=reaches)
            )
            freed.save(update_fields=["reason"])
    return made


def _why_not(hold: Appointment, *, own: int | None, too_soon: bool, reaches: datetime) -> str:
    if too_soon:
        return "Offered to nobody: it begins too soon for anyone to be told and come."
    return waitlist_why_not(
        branch=hold.branch,  # type: ignore[arg-type]
        doctor_id=hold.doctor_id,
        start=hold.span.lower,
        exclude_patient_id=own,
        held_services=frozenset({hold.service_id}) if hold.service_id else frozenset(),
    )


def waitlist_time_freed(
    *,
    doctor: StaffMember,
    branch: Branch,
    start: datetime,
    now: datetime | None = None,
    appointment: Appointment | None = None,
) -> list[WaitlistOffer]:
    """A booked time at ``start`` with ``doctor`` is free again: hold it for the first waiting entry it
    suits (for that entry's service) and offer it, never to the patient of ``appointment`` (whose
    cancellation or move freed it). What became of it is kept (WaitlistFreedTime: offered, or why
    not) for the desk. Runs inside the change that freed it (a subscriber of the calendar's events),
    in a savepoint: a time that cannot be held offers nothing and never refuses that change."""
    now = now or timezone.now()
    if start <= now:
        return []
    own = appointment.patient_id if appointment is not None else None
    freed = WaitlistFreedTime.objects.create(
        appointment=appointment, patient_id=own, branch=branch, doctor=doctor, start=start
    )
    if start <= offer_reaches(branch=branch, now=now) + MIN_NOTICE:
        freed.reason = "Offered to nobody: it begins too soon for anyone to be told and come."
        freed.save(update_fields=["reason"])
        return []
    tried: set[int] = set()
    for entry in waitlist_candidates(branch=branch, doctor_id=doctor.pk, start=start, exclude_patient_id=own):
        if entry.service_id in tried:
            continue
        tried.add(entry.service_id)
        hold = _hold(service=entry.service, branch=branch, doctor=doctor, start=start, now=now)
        if hold is not None:
            freed.hold = hold
            freed.save(update_fields=["hold"])
            return _offer_round(hold, now=now)
    if tried:
        freed.reason = (
            "Offered to nobody: the time could not be held for the service of those it suits "
            "(it does not fit the doctor's day as it is now)."
        )
    else:
        freed.reason = waitlist_why_not(branch=branch, doctor_id=doctor.pk, start=start, exclude_patient_id=own)
    freed.save(update_fields=["reason"])
    return []


def _offer_freed_times(entry_ids: Sequence[int], *, now: datetime) -> None:
    """Entries that joined, or are free to be offered again (their open offer declined, expired,
    withdrawn, or the time taken by another): the branch's freed times that went to nobody, still
    free and far enough ahead to be offered (the rule offers follow), are offered again through the
    same round as when they freed up (held, first joined first, the policy's offers at once), the
    soonest first, until each entry has an offer to answer. A freed time another change is offering
    right now is left to it (its row is skipped when locked, so two joins at once offer it once and
    nobody waits on a lock taken out of order)."""
    entries = (
        WaitlistEntry.objects.filter(pk__in=list(entry_ids), status=WaitlistStatus.WAITING)
        .exclude(offers__status=OfferStatus.OPEN)
        .select_related("branch", "service")
        .order_by("created_at", "pk")
    )
    for entry in entries:
        _offer_freed_to(entry, now=now)


def _free_again() -> Q:
    """A freed time free to be offered again: offered to nobody, or its offers all declined or let
    run out and the held time given back (never a time someone booked)."""
    given_back = Q(hold__status__in=[Status.CANCELLED, Status.EXPIRED], hold__patient__isnull=True)
    return Q(hold__isnull=True) | given_back


def _offer_freed_to(entry: WaitlistEntry, *, now: datetime) -> None:
    reaches = offer_reaches(branch=entry.branch, now=now)
    tz = ZoneInfo(entry.branch.timezone)
    rows = WaitlistFreedTime.objects.filter(
        _free_again(),
        branch=entry.branch,
        start__gt=reaches + MIN_NOTICE,
        start__gte=datetime.combine(entry.date_from, time.min, tzinfo=tz),  # within the entry's dates
        start__lt=datetime.combine(entry.date_to + timedelta(days=1), time.min, tzinfo=tz),
    ).order_by("start", "-pk")
    if entry.doctor_id is not None:
        rows = rows.filter(doctor_id=entry.doctor_id)
    seen: set[tuple[int, datetime]] = set()
    for freed in rows.select_related("doctor"):
        if (freed.doctor_id, freed.start) in seen:
            continue
        seen.add((freed.doctor_id, freed.start))
        suited = waitlist_candidates(
            branch=entry.branch,
            doctor_id=freed.doctor_id,
            start=freed.start,
            service_id=entry.service_id,
            not_offered_hold_id=freed.hold_id,  # who was offered this time before is not asked again
            exclude_patient_id=freed.patient_id,
        )
        if entry.pk not in {e.pk for e in suited}:
            continue
        locked = WaitlistFreedTime.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            _free_again(), pk=freed.pk
        )
        if locked.first() is None:
            continue
        hold = _hold(service=entry.service, branch=entry.branch, doctor=freed.doctor, start=freed.start, now=now)
        if hold is None:  # booked since, or no longer fits the doctor's day
            continue
        WaitlistFreedTime.objects.filter(pk=freed.pk).update(hold=hold)
        made = _offer_round(hold, now=now)
        if not made:  # given back at once: it stays as it was
            WaitlistFreedTime.objects.filter(pk=freed.pk).update(hold_id=freed.hold_id)
        if any(offer.entry_id == entry.pk for offer in made):
            return


def _locked_hold(hold_id: int, *, skip_locked: bool = False) -> Appointment | None:
    return (
        Appointment.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("branch", "service", "doctor")
        .filter(pk=hold_id)
        .first()
    )


def _offer_by_token(token: str) -> WaitlistOffer:
    offer = WaitlistOffer.objects.filter(token_hash=token_hash(token)).first()
    if offer is None:
        raise WaitlistLinkInvalid()
    return offer


@dataclass(frozen=True)
class WaitlistBooked:
    appointment: Appointment
    manage_token: str  # the raw token of the booking's manage link: shown once, never stored


@transaction.atomic
def waitlist_offer_accept(*, token: str, now: datetime | None = None) -> WaitlistBooked:
    """The patient of an offer's link takes the time. The first to accept gets it, also after the
    offer expired if nobody has booked the time yet; whoever comes second is told
    (WaitlistOfferTaken) and stays on the list. The time is judged again for the patient by the
    booking door's plan and booked by ``appointment_hold_confirm``. A time kept for the patient
    while they pay what the chain asks online (``waitlist_offer_reserve``) is not booked here: it is
    booked once that payment is recorded (WaitlistOfferClosed meanwhile)."""
    now = now or timezone.now()
    found = _offer_by_token(token)
    offer, entry, live = _offer_take(found, now=now)
    if offer.status == OfferStatus.ACCEPTED:
        if live.status == Status.HELD:
            raise WaitlistOfferClosed("This time is kept for you until the payment asked online is made.")
        if live.patient_id is None or live.status in (Status.CANCELLED, Status.EXPIRED):
            # kept while they paid, then given back unpaid: theirs no more (they wait again)
            raise WaitlistOfferClosed("This time was given back: the payment was not made in time.")
        return WaitlistBooked(appointment=live, manage_token=manage_link_issue(appointment=live))
    booked = appointment_hold_confirm(
        actor=None,
        hold=live,
        hold_token=live.hold_token,
        patient=entry.patient,
        notes="Booked from the waitlist",
        now=now,
    )
    _offer_taken(offer, entry, found=found, appointment=booked, now=now)
    return WaitlistBooked(appointment=booked, manage_token=manage_link_issue(appointment=booked))


@transaction.atomic
def waitlist_offer_reserve(*, token: str, until: datetime, now: datetime | None = None) -> Appointment:
    """The patient of an offer's link takes the time, to pay online first what the chain asks of them
    (a deposit, after repeated no-shows too): the time is theirs as in ``waitlist_offer_accept`` (the
    first to accept gets it, the others are told it is taken, the entry is closed) but stays a hold,
    kept until ``until``, that the payment books (invoicing.checkout). Returns the hold; taking it
    again while it waits returns the same hold."""
    now = now or timezone.now()
    found = _offer_by_token(token)
    offer, entry, live = _offer_take(found, now=now)
    if offer.status == OfferStatus.ACCEPTED:
        if live.status != Status.HELD:
            raise WaitlistOfferClosed("This offer was already answered.")
        return live
    if live.hold_expires_at is not None and until > live.hold_expires_at:
        live.hold_expires_at = until
        live.save(update_fields=["hold_expires_at", "updated_at"])
    _offer_taken(offer, entry, found=found, appointment=live, now=now)
    return live


@transaction.atomic
def waitlist_offer_unpaid(*, hold_id: int) -> WaitlistEntry | None:
    """A time kept for an offer's patient while they paid online (``waitlist_offer_reserve``) was
    given back unpaid (invoicing.checkout): their entry waits again, in its place, as before they
    took it; the offer's page says the time was given back. None when the hold was no such offer's
    (or was booked after all)."""
    offer = (
        WaitlistOffer.objects.select_for_update()
        .filter(appointment_id=hold_id, status=OfferStatus.ACCEPTED, appointment__patient__isnull=True)
        .first()
    )
    if offer is None:
        return None
    entry = WaitlistEntry.objects.select_for_update(of=("self",)).get(pk=offer.entry_id)
    if entry.status == WaitlistStatus.BOOKED and entry.appointment_id == hold_id:
        entry.status, entry.closed_at, entry.appointment_id = WaitlistStatus.WAITING, None, None
        entry.save(update_fields=["status", "closed_at", "appointment"])
        _offer_freed_times([entry.pk], now=timezone.now())
    return entry


def _offer_take(found: WaitlistOffer, *, now: datetime) -> tuple[WaitlistOffer, WaitlistEntry, Appointment]:
    """The offer locked and its time held for its patient, judged again by the booking door; an
    offer already accepted comes back with its appointment (booked, or kept while they pay)."""
    hold = _locked_hold(found.hold_id)  # first: accepts of one time queue here
    offer = WaitlistOffer.objects.select_for_update().get(pk=found.pk)
    entry = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("patient").get(pk=offer.entry_id)
    if offer.status == OfferStatus.ACCEPTED and offer.appointment_id is not None:
        return offer, entry, Appointment.objects.select_for_update().get(pk=offer.appointment_id)
    if offer.status == OfferStatus.TAKEN:
        raise WaitlistOfferTaken()
    if offer.status in (OfferStatus.DECLINED, OfferStatus.WITHDRAWN, OfferStatus.ACCEPTED) or (
        entry.status != WaitlistStatus.WAITING
    ):
        raise WaitlistOfferClosed()
    if hold is None or hold.branch is None or hold.service is None:
        raise WaitlistOfferTaken()
    if hold.span.lower <= now:
        raise WaitlistOfferClosed("This time has passed.")
    if hold.status == Status.HELD and hold.patient_id is None:
        live = hold
    elif hold.status in (Status.CANCELLED, Status.EXPIRED):
        # Given back (nobody else answered in time): if the time is still free it is held again.
        fresh = _hold(service=hold.service, branch=hold.branch, doctor=hold.doctor, start=hold.span.lower, now=now)
        if fresh is None:
            raise WaitlistOfferTaken()
        live = fresh
    else:  # booked by someone else
        raise WaitlistOfferTaken()
    try:
        # The booking door's judgement, for this patient (another appointment of theirs at that
        # time, the doctor's shift and the branch's hours as they are now), ignoring the hold itself.
        _place(
            service=live.service,  # type: ignore[arg-type]
            branch=live.branch,  # type: ignore[arg-type]
            doctor=live.doctor,
            start=live.span.lower,
            room=None,
            online=False,
            override=False,
            patient_id=entry.patient_id,
            ignore_entry_id=live.pk,
            now=now,
        )
    except BookingRefused as exc:
        if exc.code == Problem.PATIENT_BUSY:
            raise BookingRefused(Problem.PATIENT_BUSY, "You already have an appointment at that time.") from exc
        raise WaitlistOfferTaken() from exc
    if live.hold_expires_at is None or live.hold_expires_at <= now:
        live.hold_expires_at = now + HOLD_GRACE  # lapsed but still free: it is this patient's now
        live.save(update_fields=["hold_expires_at", "updated_at"])
    return offer, entry, live


def _offer_taken(
    offer: WaitlistOffer, entry: WaitlistEntry, *, found: WaitlistOffer, appointment: Appointment, now: datetime
) -> None:
    """The offer accepted for ``appointment`` (booked, or kept while its patient pays), the entry
    closed, and the others asked about this time told it is gone (they stay on the list)."""
    offer.status, offer.answered_at, offer.appointment_id = OfferStatus.ACCEPTED, now, appointment.pk
    offer.save(update_fields=["status", "answered_at", "appointment"])
    entry.status, entry.closed_at, entry.appointment_id = WaitlistStatus.BOOKED, now, appointment.pk
    entry.save(update_fields=["status", "closed_at", "appointment"])
    freed_up: list[int] = []
    for other in WaitlistOffer.objects.select_for_update().filter(hold_id=found.hold_id).exclude(pk=offer.pk):
        if other.status in (OfferStatus.OPEN, OfferStatus.EXPIRED):
            was_open = other.status == OfferStatus.OPEN
            other.status = OfferStatus.TAKEN
            other.save(update_fields=["status"])
            if was_open:
                publish(events.WaitlistOfferTaken(other.pk))
                freed_up.append(other.entry_id)
    _withdraw_open_offers(entry, now=now, keep=offer.pk)
    _offer_freed_times(freed_up, now=now)


def _withdraw_open_offers(entry: WaitlistEntry, *, now: datetime, keep: int | None = None) -> None:
    """An entry closed (booked, removed, left): its open offers of other times move on to the next."""
    for other in WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OPEN).exclude(pk=keep or 0):
        hold = _locked_hold(other.hold_id)
        other = WaitlistOffer.objects.select_for_update().get(pk=other.pk)
        if other.status != OfferStatus.OPEN:
            continue
        other.status, other.answered_at = OfferStatus.WITHDRAWN, now
        other.save(update_fields=["status", "answered_at"])
        if hold is not None:
            _offer_round(hold, now=now)


@transaction.atomic
def waitlist_offer_decline(*, token: str, now: datetime | None = None) -> WaitlistOffer:
    """The patient does not want this time (and stays on the list): it goes to the next one."""
    now = now or timezone.now()
    found = _offer_by_token(token)
    hold = _locked_hold(found.hold_id)
    offer = WaitlistOffer.objects.select_for_update().get(pk=found.pk)
    if offer.status == OfferStatus.DECLINED:
        return offer
    if offer.status not in (OfferStatus.OPEN, OfferStatus.EXPIRED):
        raise WaitlistOfferClosed("This offer was already answered.")
    was_open = offer.status == OfferStatus.OPEN
    offer.status, offer.answered_at = OfferStatus.DECLINED, now
    offer.save(update_fields=["status", "answered_at"])
    if was_open and hold is not None:
        _offer_round(hold, now=now)
    if was_open:
        _offer_freed_times([offer.entry_id], now=now)
    return offer


@transaction.atomic
def waitlist_offers_expire(*, now: datetime | None = None) -> int:
    """Offers not answered in time expire and their times go to the next entries (or back to the
    calendar). Idempotent: run twice, or by two workers at once, each offer expires once (an offer
    whose time is being accepted right now is left to the next run)."""
    now = now or timezone.now()
    due = list(
        WaitlistOffer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now)
        .order_by("hold_id", "pk")
        .values_list("pk", "hold_id")
    )
    expired = 0
    for offer_id, hold_id in due:
        with transaction.atomic():
            hold = _locked_hold(hold_id, skip_locked=True)
            if hold is None:
                continue
            offer = WaitlistOffer.objects.select_for_update().get(pk=offer_id)
            if offer.status != OfferStatus.OPEN or offer.expires_at > now:
                continue
            offer.status = OfferStatus.EXPIRED
            offer.save(update_fields=["status"])
            expired += 1
            _offer_round(hold, now=now)
            _offer_freed_times([offer.entry_id], now=now)
    return expired


@dataclass(frozen=True)
class OffersRetimed:
    """Open offers whose message waited for quiet hours, after the quiet hours changed: those now
    held from another moment (``retimed``) and those whose time now begins too soon to be offered
    (``withdrawn``, their time offered on or given back)."""

    retimed: list[WaitlistOffer]
    withdrawn: list[WaitlistOffer]


#: Why an offer waiting for quiet hours was withdrawn when they grew.
RETIME_WITHDRAWN = "The new quiet hours end too close to the offered time for the patient to be told and come."


@transaction.atomic
def waitlist_offers_retime(*, now: datetime | None = None) -> OffersRetimed:
    """The chain's quiet hours changed: every open offer whose message still waits for them to end
    (``reaches_at`` after ``now``) is held from when the new quiet hours let it reach the patient
    (``now`` when they no longer hold it back), for the policy's offer time, and its held row is kept
    until its offers end. An offer whose time would now begin too soon after that is withdrawn and
    the time goes to the next entry or back to the calendar. In the caller's transaction (the
    settings change); the held rows are locked first, then the offers (the lock order of accepting
    and of the expiry sweep, which skips a held row being re-timed and comes back next run)."""
    now = now or timezone.now()
    waiting = (
        WaitlistOffer.objects.filter(status=OfferStatus.OPEN, reaches_at__gt=now)
        .order_by("hold_id")
        .values_list("hold_id", flat=True)
        .distinct()
    )
    minutes = timedelta(minutes=waitlist_policy_get().offer_minutes)
    retimed: list[WaitlistOffer] = []
    withdrawn: list[WaitlistOffer] = []
    for hold_id in list(waiting):
        hold = _locked_hold(hold_id)
        if hold is None or hold.branch is None:
            continue
        offers = WaitlistOffer.objects.select_for_update().filter(
            hold_id=hold_id, status=OfferStatus.OPEN, reaches_at__gt=now
        )
        reaches = offer_reaches(branch=hold.branch, now=now)
        for offer in offers.order_by("pk"):
            if hold.span.lower <= reaches + MIN_NOTICE:
                offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now
                offer.save(update_fields=["status", "answered_at"])
                withdrawn.append(offer)
                continue
            offer.reaches_at = reaches if reaches > now else None
            offer.expires_at = min(reaches + minutes, hold.span.lower)
            offer.save(update_fields=["reaches_at", "expires_at"])
            retimed.append(offer)
        ends = [o.expires_at for o in WaitlistOffer.objects.filter(hold_id=hold_id, status=OfferStatus.OPEN)]
        if ends and hold.hold_expires_at != max(ends) + HOLD_GRACE:
            hold.hold_expires_at = max(ends) + HOLD_GRACE
            hold.save(update_fields=["hold_expires_at", "updated_at"])
        if not ends:
            _offer_round(hold, now=now)
    _offer_freed_times([offer.entry_id for offer in withdrawn], now=now)
    return OffersRetimed(retimed=retimed, withdrawn=withdrawn)


def _close(entry: WaitlistEntry, status: str, *, now: datetime) -> WaitlistEntry:
    # Held rows first (the lock order), then the entry.
    for hold_id in WaitlistOffer.objects.filter(entry=entry, status=OfferStatus.OPEN).values_list("hold_id", flat=True):
        _locked_hold(hold_id)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status == WaitlistStatus.BOOKED and _paying(entry):
        # left (or removed) while paying for a kept time: if it is given back unpaid, they do not
        # wait again; if the payment comes, the time is still theirs
        entry.status, entry.closed_at = status, now
        entry.save(update_fields=["status", "closed_at"])
        return entry
    if entry.status != WaitlistStatus.WAITING:
        return entry
    entry.status, entry.closed_at = status, now
    entry.save(update_fields=["status", "closed_at"])
    _withdraw_open_offers(entry, now=now)
    return entry


def _paying(entry: WaitlistEntry) -> bool:
    """Whether the entry's time is kept for its patient while they pay (not booked yet)."""
    return (
        entry.appointment_id is not None
        and Appointment.objects.filter(pk=entry.appointment_id, status=Status.HELD, patient__isnull=True).exists()
    )


@transaction.atomic
def waitlist_remove(*, actor: Actor, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    """Staff take a patient off the list; an offer they had open goes to the next one."""
    authorize(actor, "scheduling.book", entry.branch)
    return _close(entry, WaitlistStatus.REMOVED, now=now or timezone.now())


@transaction.atomic
def waitlist_leave(*, token: str, now: datetime | None = None) -> WaitlistEntry:
    """The patient leaves the list by their own link (the entry's, or an offer's)."""
    hashed = token_hash(token)
    entry = WaitlistEntry.objects.filter(token_hash=hashed).first()
    if entry is None:
        offer = WaitlistOffer.objects.select_related("entry").filter(token_hash=hashed).first()
        entry = offer.entry if offer else None
    if entry is None:
        raise WaitlistLinkInvalid()
    return _close(entry, WaitlistStatus.LEFT, now=now or timezone.now())


@transaction.atomic
def waitlist_policy_update(*, actor: Actor, offer_minutes: int, offers_at_once: int) -> WaitlistPolicy:
    authorize(actor, "scheduling.manage_policy")
    problems: dict[str, list[str]] = {}
    if not 5 <= offer_minutes <= 1440:
        problems["offer_minutes"] = ["Between 5 minutes and a day."]
    if not 1 <= offers_at_once <= 5:
        problems["offers_at_once"] = ["Between 1 and 5."]
    if problems:
        raise InvalidScheduling(fields=problems)
    policy = WaitlistPolicy.objects.select_for_update().get(pk=waitlist_policy_get().pk)
    policy.offer_minutes, policy.offers_at_once = offer_minutes, offers_at_once
    policy.save()
    return policy


# --- what the calendar announces -------------------------------------------------------------------


def _freed(appointment_id: int, *, doctor_id: int | None = None, start: datetime | None = None) -> None:
    appointment = Appointment.objects.select_related("branch", "doctor").filter(pk=appointment_id).first()
    if appointment is None or appointment.branch is None or appointment.patient_id is None:
        return
    doctor = appointment.doctor
    if doctor_id is not None and doctor_id != appointment.doctor_id:
        doctor = StaffMember.objects.get(pk=doctor_id)
    try:
        with transaction.atomic():  # the waitlist never refuses the change that freed the time
            waitlist_time_freed(
                doctor=doctor,
                branch=appointment.branch,
                start=start or appointment.span.lower,
                appointment=appointment,
            )
    except ApplicationError:
        return


def on_cancelled(event: events.AppointmentCancelled) -> None:
    """A cancelled visit's time goes to the waitlist. Not when the doctor's leave cancelled it: the
    leave takes that time. A waitlist hold cancelled by staff withdraws its offers."""
    hold = Appointment.objects.filter(pk=event.appointment_id, patient__isnull=True, source=Source.WAITLIST).first()
    if hold is not None:
        withdrawn = WaitlistOffer.objects.filter(hold=hold, status=OfferStatus.OPEN)
        entry_ids = list(withdrawn.values_list("entry_id", flat=True))
        withdrawn.update(status=OfferStatus.WITHDRAWN)
        _offer_freed_times(entry_ids, now=timezone.now())
        return
    if event.cause == events.Cause.LEAVE:
        return
    _freed(event.appointment_id)


def on_rescheduled(event: events.AppointmentRescheduled) -> None:
    """A moved visit's previous time goes to the waitlist (not when the doctor's leave moved it)."""
    if event.cause == events.Cause.LEAVE:
        return
    _freed(event.appointment_id, doctor_id=event.previous_doctor_id, start=event.previous_start)


def connect() -> None:
    subscribe(events.AppointmentCancelled, on_cancelled)
    subscribe(events.AppointmentRescheduled, on_rescheduled)
