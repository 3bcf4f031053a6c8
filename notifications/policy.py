"""Whether, where and when a message may go out: the channels a patient is reached on for each kind
of message, the patient's consent and opt-out per channel, the chain's channel switches, and the
chain's quiet hours on the branch's own clock.

Consent, the rule we keep (a transactional message is about something the patient asked for; a
marketing-like one is not):
- Appointment and billing messages (confirmations, changes, reminders, receipts, fees, waitlist
  offers) by **e-mail** need no recorded consent (they are part of the service the patient asked
  for) but stop once the patient withdrew e-mail consent; by **SMS** they need the patient's SMS
  consent on record and not withdrawn since (carriers and the TCPA expect texts to a mobile to be
  opted in; STOP withdraws it, notifications/replies.py).
- Follow-up reminders (a call to book again, not about a booking) need consent on either channel.
- What the person asked for a moment ago or replied to (a sign-in or booking code, a card link staff
  send on request, the answer to an SMS) goes to the address given, consent or not: refusing it
  would lock a patient out of their own booking.

Everything is checked twice: when a message is written (no row for a patient who cannot receive it)
and by ``refusal`` just before it is sent (consent, the chain's switches or the appointment may have
changed since). Quiet hours never apply to codes, replies and staff summaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import formats, timezone

from notifications.memo import memoized
from notifications.models import Channel, Kind, Message, MessagingSettings
from patients.models import Patient
from scheduling.intervals import wall_clock
from scheduling.models import CalendarEntry, Status
from tenants.org.models import ChainSettings
from tenants.org.selectors import chain_settings_get

#: Asked for by the person a moment ago (or an answer to their SMS): sent whatever the consent,
#: at any hour.
REQUESTED = frozenset({Kind.SIGN_IN_CODE, Kind.BOOKING_CODE, Kind.CARD_LINK, Kind.REPLY})
#: Not to a patient: no consent or quiet hours apply.
TO_STAFF = frozenset({Kind.DAILY_SUMMARY})
#: Consent on record needed on both channels.
OPT_IN_ONLY = frozenset({Kind.FOLLOW_UP})
#: Told on every channel the patient can be reached on (a change they must not miss); the other
#: kinds go on one channel, the first of their order that reaches the patient.
EVERY_CHANNEL = frozenset(
    {Kind.CONFIRMATION, Kind.RESCHEDULED, Kind.CANCELLED, Kind.LEAVE_MOVED, Kind.LEAVE_CANCELLED, Kind.NO_SHOW}
)
SMS_FIRST = frozenset({Kind.REMINDER, Kind.WAITLIST_OFFER, Kind.FOLLOW_UP})
#: About an appointment that must still be upcoming when the message leaves.
ABOUT_UPCOMING = frozenset({Kind.REMINDER, Kind.CONFIRMATION, Kind.RESCHEDULED, Kind.LEAVE_MOVED})
UPCOMING = frozenset({Status.BOOKED, Status.CONFIRMED})
#: A reminder that would fall in quiet hours goes this long before they begin, so a busy dispatcher
#: still sends it before them.
QUIET_MARGIN = timedelta(minutes=30)


def messaging_settings() -> MessagingSettings:
    """The chain's messaging settings (read once per dispatch batch)."""
    # imported here: the selectors read composed messages, whose values read this module
    from notifications.selectors import messaging_settings_get

    return memoized("messaging_settings", messaging_settings_get)


def chain_settings() -> ChainSettings:
    """The chain's profile (read once per dispatch batch)."""
    return memoized("chain_settings", chain_settings_get)


def language_of(patient: Patient | None) -> str:
    """The language a patient is written to in: their own, else the chain's. A language without a
    region ("en") in a chain of that language with one ("en-gb") takes the chain's, so its dates
    and times read as the chain's patients write them ("26 November", "10:30", not "November 26",
    "10:30 AM")."""
    chain = _tag(chain_settings().locale) or "en"
    own = _tag(patient.preferred_language if patient is not None else "")
    if not own or (own == chain.split("-")[0]):
        return chain
    return own


def _tag(language: str | None) -> str:
    return (language or "").strip().lower().replace("_", "-")


def _opted_out(patient: Patient, channel: str) -> bool:
    given = getattr(patient, f"{channel}_consent_at")
    withdrawn = getattr(patient, f"{channel}_consent_withdrawn_at")
    return withdrawn is not None and (given is None or withdrawn >= given)


def consent_refusal(patient: Patient, *, channel: str, kind: str) -> str | None:
    """Why ``patient`` must not get a message of ``kind`` on ``channel`` (the rule above), or None."""
    if kind in REQUESTED or kind in TO_STAFF:
        return None
    label = Channel(channel).label
    if _opted_out(patient, channel):
        return f"The patient opted out of {label} messages."
    needs_opt_in = channel == Channel.SMS or kind in OPT_IN_ONLY
    if needs_opt_in and getattr(patient, f"{channel}_consent_at") is None:
        return f"The patient has not agreed to receive {label} messages."
    return None


#: The rule above as staff and patients read it wherever consent is shown or set (the chart, the
#: desk's new-patient form): one wording, so no page says the opposite of what is sent.
SMS_CONSENT_LABEL = "Agrees to the confirmation and reminders by SMS"
EMAIL_HELP = "Confirmations, reminders and notices about visits go by e-mail unless the patient says no e-mails."
EMAIL_FOLLOW_UPS_LABEL = "Agrees to follow-up reminders by e-mail too"
EMAIL_WITHDRAWN_LABEL = "No e-mails: the patient does not want e-mail, not even about visits"
#: The same, as the patient reads it on their own account page.
OWN_SMS_CONSENT_LABEL = "Send me the confirmation and reminders by SMS"
OWN_EMAIL_HELP = "We e-mail you about your visits (confirmations, reminders, changes) unless you tick No e-mails."
OWN_EMAIL_FOLLOW_UPS_LABEL = "Send me follow-up reminders by e-mail too"
OWN_EMAIL_WITHDRAWN_LABEL = "No e-mails, not even about my visits"


def consent_said(patient: Patient, channel: str) -> str:
    """What ``patient`` gets on ``channel`` under the rule above, in words ("E-mail: about visits
    unless withdrawn; follow-ups not agreed"), for the chart."""
    label = Channel(channel).label
    withdrawn = getattr(patient, f"{channel}_consent_withdrawn_at")
    if _opted_out(patient, channel):
        return f"{label}: withdrawn on {formats.date_format(timezone.localtime(withdrawn), 'DATE_FORMAT')}, none sent"
    agreed = getattr(patient, f"{channel}_consent_at") is not None
    if channel == Channel.SMS:
        return f"{label}: agreed" if agreed else f"{label}: not agreed, none sent"
    if agreed:
        return f"{label}: about visits and follow-ups (agreed)"
    return f"{label}: about visits unless withdrawn; follow-ups not agreed"


def _switched_off(channel: str, settings: MessagingSettings) -> bool:
    return not (settings.sms_enabled if channel == Channel.SMS else settings.email_enabled)


def routes(patient: Patient, *, kind: Kind) -> list[tuple[Channel, str]]:
    """The (channel, address) pairs a message of ``kind`` goes to for ``patient`` now: every channel
    that reaches them for a change they must not miss, else the first in the kind's order."""
    settings = messaging_settings()
    order = (Channel.SMS, Channel.EMAIL) if kind in SMS_FIRST else (Channel.EMAIL, Channel.SMS)
    address = {Channel.SMS: patient.phone, Channel.EMAIL: patient.email}
    reachable = [
        (channel, address[channel])
        for channel in order
        if address[channel]
        and not _switched_off(channel, settings)
        and consent_refusal(patient, channel=channel, kind=kind) is None
    ]
    return reachable if kind in EVERY_CHANNEL else reachable[:1]


#: What a message's wording and policy read of its appointment, fetched with it.
APPOINTMENT_RELATED = ("patient", "branch", "service", "doctor__user", "room")


def appointments_read(messages: Iterable[Message]) -> None:
    """The appointments of ``messages`` read in one query and kept for the dispatch batch, so the
    policy and the placeholders of each message share one read (``appointment_of``)."""
    batch: dict[int, CalendarEntry | None] = memoized("appointments", dict)
    wanted = {m.appointment_id for m in messages if m.appointment_id is not None} - batch.keys()
    if not wanted:
        return
    found = CalendarEntry.objects.select_related(*APPOINTMENT_RELATED).in_bulk(wanted)
    batch.update({pk: found.get(pk) for pk in wanted})


def appointment_of(message: Message) -> CalendarEntry | None:
    """``message``'s appointment as it is now (with its patient, branch, service, doctor and room):
    the batch's read (``appointments_read``), else read here."""
    pk = message.appointment_id
    if pk is None:
        return None
    batch: dict[int, CalendarEntry | None] = memoized("appointments", dict)
    if pk not in batch:
        batch[pk] = CalendarEntry.objects.select_related(*APPOINTMENT_RELATED).filter(pk=pk).first()
    return batch[pk]


def _appointment_refusal(message: Message) -> str | None:
    appointment = appointment_of(message) if message.kind in ABOUT_UPCOMING else None
    if appointment is None:
        return None
    if appointment.status not in UPCOMING:
        return f"The appointment is {appointment.get_status_display().lower()}: nothing to tell about it any more."
    if message.kind == Kind.REMINDER and appointment.span.lower <= timezone.now():
        return "The appointment has already begun."
    return None


def refusal(message: Message) -> str | None:
    """Why ``message`` must not be sent at all (kept as its reason), or None. Asked just before
    sending: consent, the chain's switches and the appointment may have changed since it was written."""
    if message.kind not in REQUESTED and _switched_off(message.channel, messaging_settings()):
        return f"The chain has turned {message.get_channel_display()} messages off."
    patient = message.patient
    if patient is not None:
        reason = consent_refusal(patient, channel=message.channel, kind=message.kind)
        if reason:
            return reason
    return _appointment_refusal(message)


def zone_of(message: Message) -> ZoneInfo:
    """The clock a message is read on: its branch's, else the chain's."""
    branch = message.branch
    return ZoneInfo(branch.timezone if branch is not None else chain_settings().default_timezone)


def _quiet_bounds(moment: datetime, *, tz: ZoneInfo, start: time, end: time) -> tuple[datetime, datetime] | None:
    """The quiet period (its start and end, UTC) ``moment`` falls in on ``tz``'s wall clock, or None.
    Quiet hours usually wrap midnight (21:00 to 08:00); each bound is read on its own day's clock,
    so a period across a clock change is an hour longer or shorter, as the wall clock says."""
    local = moment.astimezone(tz)
    day, at = local.date(), local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= at < end
        start_day = end_day = day
    else:
        inside = at >= start or at < end
        start_day = day if at >= start else day - timedelta(days=1)
        end_day = start_day + timedelta(days=1)
    if not inside:
        return None
    return wall_clock(start_day, start, tz), wall_clock(end_day, end, tz)


def quiet_bounds(moment: datetime, *, tz: ZoneInfo, settings: MessagingSettings) -> tuple[datetime, datetime] | None:
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    return _quiet_bounds(moment, tz=tz, start=start, end=end)


def postponed(message: Message, *, now: datetime) -> datetime | None:
    """When ``message`` may go out if ``now`` falls in the chain's quiet hours on its branch's clock
    (the end of them), else None. Codes, replies and staff summaries are never held back, nor the
    answer to what the patient did that moment (``context["asked"]``: the confirmation of their
    online booking, of their own move or cancellation): they are waiting for it."""
    if message.kind in REQUESTED or message.kind in TO_STAFF or (message.context or {}).get("asked"):
        return None
    bounds = quiet_bounds(now, tz=zone_of(message), settings=messaging_settings())
    return bounds[1] if bounds else None


#: A reminder pulled to the end of quiet hours still leaves the patient this long before the visit
#: (or half its own lead time, when that is shorter: a 30-minute reminder needs 15 minutes).
QUIET_END_LEAD = timedelta(hours=1)
#: A reminder pulled to before quiet hours is left out when another reminder of the same visit
#: goes out less than this before it: the patient would hear twice the same day.
REMINDER_GAP = timedelta(hours=24)


def _nominal_due(*, start: datetime, offset_minutes: int, tz: ZoneInfo) -> datetime:
    """``offset_minutes`` before ``start``, whole days counted on the branch's wall clock ("a day
    before" is the same local time the day before, also across a clock change)."""
    days, minutes = divmod(offset_minutes, 24 * 60)
    local = start.astimezone(tz)
    due = wall_clock(local.date() - timedelta(days=days), local.time().replace(tzinfo=None), tz)
    return due - timedelta(minutes=minutes)


def reminder_moments(
    *, start: datetime, offsets: list[int], tz: ZoneInfo, settings: MessagingSettings
) -> dict[int, datetime]:
    """offset (minutes) -> when that reminder of a visit at ``start`` goes out, by the one rule
    (stated on the reminder settings page and in docs/architecture.md):

    1. A reminder goes its offset before the visit, whole days on the branch's wall clock.
    2. One that falls in quiet hours goes when they end, if that is still at least an hour before
       the visit (half its own lead time, for a reminder of less than two hours).
    3. Otherwise it goes just before quiet hours begin (``QUIET_MARGIN`` before, so a busy dispatcher
       still sends it in time), and is left out when another reminder of the same visit goes out
       less than 24 hours before that: the patient already heard that day.
    4. Two reminders brought to one moment are one (the longer offset's).

    The moments depend only on the visit's time and the settings, never on when they are worked
    out: planning again (a change of settings, a move) gives the same answer."""
    moments: dict[int, datetime] = {}
    pulled_early: set[int] = set()
    for offset in sorted(set(offsets), reverse=True):
        due = _nominal_due(start=start, offset_minutes=offset, tz=tz)
        bounds = quiet_bounds(due, tz=tz, settings=settings)
        if bounds is not None:
            quiet_start, quiet_end = bounds
            if start - quiet_end >= min(QUIET_END_LEAD, timedelta(minutes=offset) / 2):
                due = quiet_end
            else:
                due = quiet_start - QUIET_MARGIN
                pulled_early.add(offset)
        if due >= start or due in moments.values():
            continue
        moments[offset] = due
    for offset in pulled_early & moments.keys():
        due = moments[offset]
        if any(other != offset and timedelta(0) < due - at < REMINDER_GAP for other, at in moments.items()):
            del moments[offset]
    return moments


def reminder_due(
    *, start: datetime, offset_minutes: int, tz: ZoneInfo, settings: MessagingSettings, now: datetime
) -> datetime | None:
    """When the reminder ``offset_minutes`` before an appointment at ``start`` goes out, or None when
    that moment has passed or the rule leaves it out (``reminder_moments``, with the chain's other
    offsets)."""
    offsets = sorted({*settings.reminder_offsets_minutes, offset_minutes})
    due = reminder_moments(start=start, offsets=offsets, tz=tz, settings=settings).get(offset_minutes)
    return due if due is not None and due > now else None
