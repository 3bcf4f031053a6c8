"""The waitlist's messages: the offer of a freed time (with the link to accept or decline it), "that
time was taken" to the others it was offered to, and "you are on the waitlist" with the link to
leave it. Written to the outbox inside the calendar's transaction (by SMS and by e-mail, where the
patient has each); the links are secrets, masked in the message log."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from django.urls import reverse
from django.utils import timezone

from config.events import subscribe
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import KICK_WITHIN, JsonValue, dispatch_on_commit, message_enqueue
from notifications.placeholders import babel_locale, local_time
from notifications.policy import language_of, messaging_settings, quiet_bounds
from patients.models import Patient
from scheduling.events import WaitlistJoined, WaitlistOffered, WaitlistOfferTaken
from scheduling.models import WaitlistEntry, WaitlistOffer
from scheduling.services.waitlist import RETIME_WITHDRAWN, OffersRetimed, waitlist_offers_retime
from scheduling.waitlist import offer_reach_register
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get
from tenants.selectors import current_clinic_url


def _contacts(patient: Patient) -> list[tuple[Channel, str]]:
    found = [(Channel.SMS, patient.phone), (Channel.EMAIL, patient.email)]
    return [(channel, to) for channel, to in found if to]


def _enqueue(
    entry: WaitlistEntry,
    *,
    kind: Kind,
    key: str,
    text: str,
    subject: str,
    link: str = "",
    appointment_id: int | None = None,
    due_at: datetime | None = None,
    wording: str = "",
) -> None:
    patient = entry.patient
    context: dict[str, JsonValue] = {
        "text": text,
        "subject": subject,
        "patient": patient.first_name,
        "service": entry.service.name,
        "branch": entry.branch.name,
        "clinic": chain_settings_get().name,
    }
    if link:
        context |= {"link": link, "secret": ["link"]}
    if wording:  # worded on its own (notifications.templates.OWN_WORDINGS)
        context["wording"] = wording
    for channel, recipient in _contacts(patient):
        message_enqueue(
            kind=kind,
            channel=channel,
            recipient=recipient,
            due_at=due_at or timezone.now(),
            language=language_of(patient),
            patient_id=patient.pk,
            appointment_id=appointment_id,
            branch_id=entry.branch_id,
            context=context,
            key=f"{key}:{channel}",
        )


def _when(offer: WaitlistOffer) -> str:
    """The offered time as the patient's language writes it ("Thursday, 26 November 2026, 10:30" in en-GB)."""
    tz = ZoneInfo(offer.entry.branch.timezone)
    return local_time(offer.hold.span.lower, tz=tz, language=language_of(offer.entry.patient)).when


def reaches(branch: Branch, now: datetime) -> datetime:
    """When an offer's message written at ``now`` can go out to a patient of ``branch``: the end of
    the chain's quiet hours on the branch's clock when ``now`` is in them, else ``now``."""
    bounds = quiet_bounds(now, tz=ZoneInfo(branch.timezone), settings=messaging_settings())
    return bounds[1] if bounds else now


#: "today" and "tomorrow" as a hold's end reads them, per language (others write the day).
NEAR_DAYS = {"en": ("today", "tomorrow"), "de": ("heute", "morgen")}


def hold_until(moment: datetime, *, tz: ZoneInfo, language: str, now: datetime | None = None) -> str:
    """Until when an offer is held, with its day, as the language writes it ("Thu 26 Nov, 07:34" in
    en-GB); "today 07:34" or "tomorrow 09:30" when it ends on the day of ``now`` or the next (on the
    branch's clock), in the languages that have those words here."""
    locale = babel_locale(language)
    local = moment.astimezone(tz)
    said_time = format_time(local, format="short", locale=locale)
    near = NEAR_DAYS.get(language.split("-")[0].lower())
    if now is not None and near is not None and 0 <= (days := (local.date() - now.astimezone(tz).date()).days) <= 1:
        return f"{near[days]} {said_time}"
    day = format_skeleton("MMMEd", local, locale=locale)
    return f"{day}, {said_time}"


KEPT = {"de": "Wir halten ihn für Sie frei bis {until}."}


def send_offer(event: WaitlistOffered) -> None:
    """The offer: the waitlist offer's template names the held time (its appointment: the held row)
    in the patient's language, the link to take or decline it, and (``text``) until when it is
    kept, with its day. Made in quiet hours, it waits for their end (when its hold begins)."""
    offer = WaitlistOffer.objects.select_related(
        "entry__patient", "entry__service", "entry__branch", "hold__doctor__user"
    ).get(pk=event.offer_id)
    entry = offer.entry
    link = current_clinic_url() + reverse("waitlist-offer", kwargs={"token": event.token})
    _enqueue(
        entry,
        kind=Kind.WAITLIST_OFFER,
        key=f"waitlist-offer:{offer.pk}",
        text=_kept_text(offer),
        subject=f"A time is free: {entry.service.name} {_when(offer)}",
        link=link,
        appointment_id=offer.hold_id,
        due_at=offer.reaches_at,
    )


def _kept_text(offer: WaitlistOffer) -> str:
    language = language_of(offer.entry.patient)
    until = hold_until(
        offer.expires_at,
        tz=ZoneInfo(offer.entry.branch.timezone),
        language=language,
        now=offer.reaches_at or timezone.now(),  # the day the patient reads it on
    )
    return KEPT.get(language.split("-")[0], "We keep it for you until {until}.").format(until=until)


def offer_messages_retime(*, now: datetime | None = None) -> OffersRetimed:
    """The chain's quiet hours changed (``messaging_settings_change``, in its transaction): the open
    offers whose message still waited for quiet hours are held anew (``waitlist_offers_retime``) and
    their waiting messages follow: due when the offer now reaches the patient (at once when the new
    quiet hours no longer hold it back, with a kick), saying the new end of the hold; those of a
    withdrawn offer are not sent. The messages are locked as they are changed: the dispatcher claims
    with ``SKIP LOCKED``, so it passes over one being re-timed and claims it at its new time, and one
    it claimed first is no longer pending here (it is being sent)."""
    now = now or timezone.now()
    changed = waitlist_offers_retime(now=now)
    kick = False
    for offer in changed.retimed:
        offer = WaitlistOffer.objects.select_related("entry__patient", "entry__branch").get(pk=offer.pk)
        due = offer.reaches_at or now
        for message in _offer_messages(offer.pk):
            message.due_at = due
            message.context = {**(message.context or {}), "text": _kept_text(offer)}
            message.save(update_fields=["due_at", "context"])
            kick = kick or due <= now + KICK_WITHIN
    if changed.withdrawn:
        Message.objects.filter(pk__in=[m.pk for offer in changed.withdrawn for m in _offer_messages(offer.pk)]).update(
            status=MessageStatus.CANCELLED, last_error=RETIME_WITHDRAWN
        )
    if kick:
        dispatch_on_commit()
    return changed


def _offer_messages(offer_id: int) -> list[Message]:
    keys = [f"waitlist-offer:{offer_id}:{channel}" for channel in Channel]
    return list(Message.objects.select_for_update().filter(key__in=keys, status=MessageStatus.PENDING).order_by("pk"))


def send_taken(event: WaitlistOfferTaken) -> None:
    offer = WaitlistOffer.objects.select_related("entry__patient", "entry__service", "entry__branch", "hold").get(
        pk=event.offer_id
    )
    entry = offer.entry
    text = (
        f"Sorry: the time {_when(offer)} we offered you for {entry.service.name} was taken by someone else first. "
        "You are still on the waitlist: we will write when another time suits you."
    )
    # Said in the clinic's own words around ``text`` (a message of no appointment: the reply kind).
    _enqueue(entry, kind=Kind.REPLY, key=f"waitlist-taken:{offer.pk}", text=text, subject="That time was taken")


def send_joined(event: WaitlistJoined) -> None:
    entry = WaitlistEntry.objects.select_related("patient", "service", "branch").get(pk=event.entry_id)
    link = current_clinic_url() + reverse("waitlist-entry", kwargs={"token": event.token})
    text = (
        f"You are on the waitlist for {entry.service.name} at {entry.branch.name}, "
        f"{entry.date_from:%d %B} to {entry.date_to:%d %B}. We will write when a time frees up. "
        f"To leave the list: {link}"
    )
    _enqueue(
        entry,
        kind=Kind.REPLY,
        key=f"waitlist-joined:{entry.pk}",
        text=text,
        subject="You are on the waitlist",
        link=link,
        wording="waitlist_joined",
    )


def connect() -> None:
    offer_reach_register(reaches)
    subscribe(WaitlistOffered, send_offer)
    subscribe(WaitlistOfferTaken, send_taken)
    subscribe(WaitlistJoined, send_joined)
