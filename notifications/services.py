"""What staff change about messages: the chain's own wording of a message (saved, reset to the
built-in default), its messaging settings, and sending a message again. Each checks its permission
(notifications/rules.py) and keeps a history of who changed what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

from django.db import transaction
from django.utils import timezone

from notifications.exceptions import (
    MessageNotResendable,
    MessageResendPending,
    MessageResentAlready,
    MessagingSettingsInvalid,
    TemplateInvalid,
)
from notifications.messaging_service import messaging_service_claim
from notifications.models import OPEN_STATUSES, Channel, Kind, Message, MessageStatus, MessagingSettings, Template
from notifications.outbox import KICK_WITHIN, dispatch_on_commit, message_enqueue
from notifications.policy import language_of, postponed, refusal, zone_of
from notifications.reminders import Replanned, reminders_replan
from notifications.selectors import messaging_settings_get
from notifications.templates import LANGUAGES, wording_errors
from notifications.waitlist_messages import offer_messages_retime
from scheduling.models import CalendarEntry, Status
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize

# --- templates --------------------------------------------------------------------------------------


def _check_target(*, kind: str, channel: str, language: str) -> None:
    fields: dict[str, list[str]] = {}
    if kind not in Kind.values:
        fields["kind"] = ["Choose a kind of message."]
    if channel not in Channel.values:
        fields["channel"] = ["Choose SMS or e-mail."]
    if language not in LANGUAGES:
        fields["language"] = [f"Choose one of: {', '.join(LANGUAGES)}."]
    if fields:
        raise TemplateInvalid("Choose a message, channel and language that exist.", fields=fields)


@transaction.atomic
def template_save(*, actor: Actor, kind: str, channel: str, language: str, subject: str = "", body: str) -> Template:
    """Owners write the chain's own wording of one kind of message on one channel in one language.
    Only the kind's ``{name}`` placeholders are allowed: anything else in braces (an unknown name,
    template code) is refused with a message naming the allowed ones. SMS has no subject."""
    authorize(actor, "notifications.manage_templates")
    _check_target(kind=kind, channel=channel, language=language)
    subject = "" if channel == Channel.SMS else subject.strip()
    body = body.strip().replace("\r\n", "\n")
    fields = wording_errors(kind=kind, channel=channel, subject=subject, body=body)
    if fields:
        raise TemplateInvalid(" ".join(m for ms in fields.values() for m in ms), fields=fields)
    template = Template.objects.select_for_update().filter(
        kind=kind, channel=channel, language=language
    ).first() or Template(kind=kind, channel=channel, language=language)
    template.subject, template.body = subject, body
    template.updated_by = history_user(actor)
    changed_by(template, actor, reason="wording changed").save()
    return template


@transaction.atomic
def template_reset(*, actor: Actor, kind: str, channel: str, language: str) -> bool:
    """Owners go back to the built-in wording: the chain's own is removed (kept in its history).
    Returns whether there was one."""
    authorize(actor, "notifications.manage_templates")
    _check_target(kind=kind, channel=channel, language=language)
    template = Template.objects.select_for_update().filter(kind=kind, channel=channel, language=language).first()
    if template is None:
        return False
    changed_by(template, actor, reason="reset to the default").delete()
    return True


# --- messaging settings -----------------------------------------------------------------------------

#: Reminders go out at most two weeks ahead, at least ten minutes before; at most five of them.
MAX_OFFSET_MINUTES = 14 * 24 * 60
MIN_OFFSET_MINUTES = 10
MAX_OFFSETS = 5
SID = re.compile(r"MG[0-9a-f]{32}")


@dataclass(frozen=True)
class MessagingSettingsIn:
    """The chain's messaging rules as an owner sets them. Offsets in minutes before the appointment;
    quiet hours on each branch's own clock (both or neither)."""

    reminder_offsets_minutes: list[int]
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    confirm_online: bool
    confirm_phone: bool
    confirm_walk_in: bool
    confirm_staff: bool
    sms_enabled: bool
    email_enabled: bool
    twilio_messaging_service_sid: str = ""


def _offsets_checked(offsets: list[int]) -> list[int]:
    if len(set(offsets)) > MAX_OFFSETS:
        raise MessagingSettingsInvalid(
            fields={"reminder_offsets_minutes": [f"At most {MAX_OFFSETS} reminders per appointment."]}
        )
    for minutes in offsets:
        if not MIN_OFFSET_MINUTES <= minutes <= MAX_OFFSET_MINUTES:
            raise MessagingSettingsInvalid(
                fields={
                    "reminder_offsets_minutes": [
                        f"Each reminder goes between {MIN_OFFSET_MINUTES} minutes and 14 days before the appointment."
                    ]
                }
            )
    # one reminder per time, the earliest first
    return sorted(set(offsets), reverse=True)


@dataclass(frozen=True)
class MessagingSettingsChange:
    """The saved settings and what re-planning the pending reminders changed (None: the reminder
    times and quiet hours stayed as they were, nothing re-planned)."""

    settings: MessagingSettings
    replanned: Replanned | None
    #: Messages sent as soon as written (confirmations, notices, receipts, follow-ups) that were
    #: held for the old quiet hours and were given the time the new ones say.
    held_retimed: int = 0
    #: Waitlist offers whose message waited for the old quiet hours, given the time the new ones say.
    offers_retimed: int = 0
    #: Of those messages and offers, how many go now (the others wait until ``quiet_end``).
    retimed_now: int = 0
    #: When the new quiet hours end (branch clock), None without quiet hours.
    quiet_end: time | None = None


@transaction.atomic
def messaging_settings_update(*, actor: Actor, values: MessagingSettingsIn) -> MessagingSettings:
    """``messaging_settings_change``, answering the saved settings."""
    return messaging_settings_change(actor=actor, values=values).settings


@transaction.atomic
def messaging_settings_change(*, actor: Actor, values: MessagingSettingsIn) -> MessagingSettingsChange:
    """Owners set when reminders go out, the quiet hours, which bookings are confirmed, the channels
    and the Twilio Messaging Service. Each change is kept in the settings' history. A change of the
    reminder times or quiet hours re-plans the pending reminders of every upcoming visit in the same
    transaction (``reminders_replan``: reminders already sent stay sent), and a change of the quiet
    hours re-times the waitlist offers whose message still waits for them (``offer_messages_retime``)."""
    authorize(actor, "notifications.manage_messaging_settings")
    offsets = _offsets_checked(list(values.reminder_offsets_minutes))
    if (values.quiet_hours_start is None) != (values.quiet_hours_end is None):
        raise MessagingSettingsInvalid(
            fields={"quiet_hours_end": ["Give quiet hours both a start and an end, or neither."]}
        )
    if values.quiet_hours_start is not None and values.quiet_hours_start == values.quiet_hours_end:
        raise MessagingSettingsInvalid(fields={"quiet_hours_end": ["Quiet hours must end at another time."]})
    sid = values.twilio_messaging_service_sid.strip()
    if sid and not SID.fullmatch(sid):
        raise MessagingSettingsInvalid(
            fields={
                "twilio_messaging_service_sid": [
                    "A Messaging Service SID is MG followed by 32 characters 0-9 and a-f (Twilio console, Messaging)."
                ]
            }
        )
    current = messaging_settings_get()
    current = MessagingSettings.objects.select_for_update().get(pk=current.pk)
    timing = (list(current.reminder_offsets_minutes), current.quiet_hours_start, current.quiet_hours_end)
    current.reminder_offsets_minutes = offsets
    current.quiet_hours_start, current.quiet_hours_end = values.quiet_hours_start, values.quiet_hours_end
    current.confirm_online, current.confirm_phone = values.confirm_online, values.confirm_phone
    current.confirm_walk_in, current.confirm_staff = values.confirm_walk_in, values.confirm_staff
    current.sms_enabled, current.email_enabled = values.sms_enabled, values.email_enabled
    current.twilio_messaging_service_sid = sid
    messaging_service_claim(sid=sid)
    current.updated_by = history_user(actor)
    changed_by(current, actor, reason="messaging settings changed").save()
    retimed = timing != (offsets, values.quiet_hours_start, values.quiet_hours_end)
    held = HeldRetimed(count=0, now=0)
    offers, offers_now = 0, 0
    if timing[1:] != (values.quiet_hours_start, values.quiet_hours_end):
        now = timezone.now()
        offered = offer_messages_retime(now=now)
        offers = len(offered.retimed)
        offers_now = sum(1 for offer in offered.retimed if (offer.reaches_at or now) <= now)
        held = held_messages_retime(ended=timing[2], now=now)
    replanned = reminders_replan() if retimed else None
    return MessagingSettingsChange(
        settings=current,
        replanned=replanned,
        held_retimed=held.count,
        offers_retimed=offers,
        retimed_now=held.now + offers_now,
        quiet_end=values.quiet_hours_end,
    )


@dataclass(frozen=True)
class HeldRetimed:
    """How many messages held for the old quiet hours were given a new time, and of those how many go now."""

    count: int
    now: int


#: Kinds with a time of their own, re-planned by their own code when quiet hours change
#: (``reminders_replan``, ``offer_messages_retime``); every other kind is written due at once.
OWN_TIME = (Kind.REMINDER, Kind.WAITLIST_OFFER)


def held_messages_retime(*, ended: time | None, now: datetime | None = None) -> HeldRetimed:
    """The quiet hours changed (in ``messaging_settings_change``'s transaction): each waiting message
    of a kind sent at once that the old quiet hours held (due later, at their end ``ended`` on its
    branch's clock) is given the time the new ones say: when they end if they hold it now, else now.
    Rows are locked with ``SKIP LOCKED`` as the dispatcher claims them: one it is claiming is left to
    it (sent once, or held again by the new hours), one locked here waits for its new time. Answers
    how many were given a new time, and how many of them go now."""
    if ended is None:
        return HeldRetimed(count=0, now=0)
    now = now or timezone.now()
    rows = (
        Message.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("branch")
        .filter(status=MessageStatus.PENDING, due_at__gt=now)
        .exclude(kind__in=OWN_TIME)
        .order_by("pk")
    )
    count, going, kick = 0, 0, False
    for message in rows:
        if message.due_at.astimezone(zone_of(message)).time().replace(tzinfo=None) != ended:
            continue  # not held by quiet hours (a retry waiting after a failure keeps its time)
        due = postponed(message, now=now) or now
        if due != message.due_at:
            Message.objects.filter(pk=message.pk).update(due_at=due)
            count += 1
            going += due <= now
            kick = kick or due <= now + KICK_WITHIN
    if kick:
        dispatch_on_commit()
    return HeldRetimed(count=count, now=going)


# --- resending --------------------------------------------------------------------------------------

#: What may be sent again: one that failed, was not delivered, or was sent (the patient says it never
#: came). A delivered one is resent too: patients delete messages; the log says it arrived.
RESENDABLE = (MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.SENT, MessageStatus.DELIVERED)
#: A code is never sent twice: the patient asks for a new one (the old one may have expired).
NEVER_RESENT = (Kind.SIGN_IN_CODE, Kind.BOOKING_CODE)
#: An offer of a freed time held it for one patient for a while, with a link sent once; by the time
#: staff look, the time may be another patient's booking. Never sent again: the waitlist offers anew.
NOT_AN_OFFER_AGAIN = (
    "An offer of a freed time is sent once: by now the time may be taken or the hold over. Nothing was sent again."
)
#: An answer to a patient's text (her "C" confirmed, her "X" cancelled, "STOP" ended her texts, the
#: help) answered that text at that moment; sent again it may say what is no longer true (a visit
#: since cancelled "is confirmed") or reach a number that has since opted out. Never sent again.
NOT_AN_ANSWER_AGAIN = (
    "An answer to a patient's text is not sent again: it answered that text at that moment, and the visit "
    "or the patient's consent to texts may have changed since. Contact the patient afresh instead."
)
#: Kinds about an appointment still to come: pointless (and confusing) once it has begun or is off.
ABOUT_WHAT_COMES = (Kind.CONFIRMATION, Kind.RESCHEDULED, Kind.LEAVE_MOVED, Kind.REMINDER, Kind.WAITLIST_OFFER)


def _contact(message: Message) -> str:
    """Where the resend goes: the patient's number or address on file now (it may have been
    corrected since the failure), else where the message went."""
    patient = message.patient
    if patient is not None:
        current = (patient.phone if message.channel == Channel.SMS else patient.email) or ""
        if current.strip():
            return current.strip()
    return message.recipient


def _why_not(message: Message, now: datetime) -> MessageNotResendable | MessageResendPending | None:
    """Why ``message`` cannot be sent again now, or None."""
    if message.kind in NEVER_RESENT:
        return MessageNotResendable("A code is never sent twice: the patient asks for a new one.")
    if message.kind == Kind.REPLY:
        return MessageNotResendable(NOT_AN_ANSWER_AGAIN)
    if message.kind == Kind.WAITLIST_OFFER:
        return MessageNotResendable(NOT_AN_OFFER_AGAIN)
    if message.status not in RESENDABLE:
        return MessageResendPending(
            f"This message is {message.get_status_display().lower()}: only a sent or failed one is sent again."
        )
    if Message.objects.filter(resend_of=message, status__in=OPEN_STATUSES).exists():
        return MessageResendPending("A resend of this message is already on its way.")
    if message.kind in ABOUT_WHAT_COMES and message.appointment_id is not None:
        entry = CalendarEntry.objects.filter(pk=message.appointment_id).first()
        if entry is None or entry.status not in (Status.BOOKED, Status.CONFIRMED) or entry.span.lower <= now:
            return MessageNotResendable("The appointment has begun, was cancelled or is gone: nothing to remind of.")
    # what the dispatcher would refuse now (consent withdrawn or never given, the channel switched
    # off): said before anything is written, so staff can ask the patient rather than wait for "Not sent"
    reason = refusal(message)
    if reason:
        return MessageNotResendable(f"{reason} Nothing was sent again.")
    return None


def _resent_already(message: Message) -> MessageResentAlready | None:
    """The refusal of a further resend not confirmed: the message was sent again already."""
    earlier = Message.objects.filter(resend_of=message).order_by("-created_at", "-pk").first()
    if earlier is None:
        return None
    return MessageResentAlready(
        f"This message was sent again on {timezone.localtime(earlier.created_at, zone_of(message)):%d %b %Y, %H:%M} "
        f"({earlier.get_status_display().lower()}). Confirm to send it once more."
    )


@transaction.atomic
def message_resend(*, actor: Actor, message: Message, confirm: bool = False, now: datetime | None = None) -> Message:
    """Send ``message`` again, now: a new outbox row (``resend_of`` the original) with the same kind,
    channel, language and values, to the patient's current contact. Composed when sent, so it says
    the appointment's current time and a fresh link. Refused for codes, for a message about an
    appointment that has begun or is no longer booked, for one still waiting or being sent, and while
    an earlier resend of it is on its way: two clicks, or two people at once, make one resend (the
    original's row is locked while this is decided, so the second waits and then sees the first).
    A message sent again already is sent once more only with ``confirm`` (``MessageResentAlready``).
    The resend is written afresh: in the language the patient is written to now (``language_of``)."""
    authorize(actor, "notifications.resend_message", message)
    now = now or timezone.now()
    original = Message.objects.select_for_update(of=("self",)).select_related("patient").get(pk=message.pk)
    refused = _why_not(original, now)
    if refused is not None:
        raise refused
    again = None if confirm else _resent_already(original)
    if again is not None:
        raise again
    resent = message_enqueue(
        kind=Kind(original.kind),
        channel=Channel(original.channel),
        recipient=_contact(original),
        due_at=now,
        language=language_of(original.patient) if original.patient_id else original.language,
        patient_id=original.patient_id,
        appointment_id=original.appointment_id,
        branch_id=original.branch_id,
        staff_user_id=original.staff_user_id,
        context=dict(original.context),
    )
    Message.objects.filter(pk=resent.pk).update(resend_of=original)
    resent.resend_of = original
    return resent


def resend_blocked(*, message: Message, now: datetime | None = None) -> str:
    """Why the message page offers no resend ("" when it does): message_resend's rules, read without
    its lock (the service decides again when asked)."""
    refused = _why_not(message, now or timezone.now())
    return refused.message if refused else ""
