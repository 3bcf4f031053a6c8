"""The waitlist's messages: the offer of a freed time (with the link to accept or decline it), "that
time was taken" to the others it was offered to, and "you are on the waitlist" with the link to
leave it. Written to the outbox inside the calendar's transaction (by SMS and by e-mail, where the
patient has each); the links are secrets, masked in the message log."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from config.events import subscribe
from notifications.models import Channel, Kind
from notifications.outbox import JsonValue, message_enqueue
from patients.models import Patient
from scheduling.events import WaitlistJoined, WaitlistOffered, WaitlistOfferTaken
from scheduling.models import WaitlistEntry, WaitlistOffer
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
    for channel, recipient in _contacts(patient):
        message_enqueue(
            kind=kind,
            channel=channel,
            recipient=recipient,
            due_at=timezone.now(),
            language=patient.preferred_language or "en",
            patient_id=patient.pk,
            appointment_id=appointment_id,
            branch_id=entry.branch_id,
            context=context,
            key=f"{key}:{channel}",
        )


def _when(offer: WaitlistOffer) -> str:
    local = offer.hold.span.lower.astimezone(ZoneInfo(offer.entry.branch.timezone))
    return f"{local:%A %d %B at %H:%M}"


def send_offer(event: WaitlistOffered) -> None:
    """The offer: the waitlist offer's template names the held time (its appointment: the held row),
    the link to take or decline it, and (``text``) until when it is kept."""
    offer = WaitlistOffer.objects.select_related(
        "entry__patient", "entry__service", "entry__branch", "hold__doctor__user"
    ).get(pk=event.offer_id)
    entry = offer.entry
    link = current_clinic_url() + reverse("waitlist-offer", kwargs={"token": event.token})
    expires = offer.expires_at.astimezone(ZoneInfo(entry.branch.timezone))
    _enqueue(
        entry,
        kind=Kind.WAITLIST_OFFER,
        key=f"waitlist-offer:{offer.pk}",
        text=f"We keep it for you until {expires:%H:%M}.",
        subject=f"A time is free: {entry.service.name} {_when(offer)}",
        link=link,
        appointment_id=offer.hold_id,
    )


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
    )


def connect() -> None:
    subscribe(WaitlistOffered, send_offer)
    subscribe(WaitlistOfferTaken, send_taken)
    subscribe(WaitlistJoined, send_joined)
