"""What patients text back: C confirms, X cancels (within the chain's policy), STOP and START stop and
restart texts, anything else gets a helpful answer.

An inbound SMS is recorded once (``InboundMessage.sid`` is unique: Twilio retries, and a retry finds
the row and changes nothing), matched by its sender's number to this chain's patients, and acted on
as the patient: the text comes from the phone the clinic texts, as a booking link comes from its
inbox, so the change is made by the patient's own (portal) account under exactly the rules the
booking link and the portal follow (``appointment_cancel(by_patient=True)``: refused inside the
cancellation window, and the normal cancellation's event, so the desk, fees, the waitlist and the
notices follow). Which appointment: the one the latest confirmation or reminder texted to that number
was about, while it is still upcoming and changeable; a parent and a child sharing one phone, or a
patient with several appointments, resolve to the one that message named. Answers are outbox
messages of kind REPLY, sent by the dispatcher like any other, never inline.

Only texts through the chain's own Twilio Messaging Service act on a patient: one service belongs to
one chain (tenants.MessagingService), so its patients' words reach their own chain only. A text through
the platform's shared service (a chain with no service of its own) or another chain's is recorded and
never confirms, cancels or changes consent.

The helpful answer (help, an unknown number, anything else) goes once per number per period
(``ANSWER_PERIOD``); later texts are recorded and not answered, so two auto-responders never loop. A
command (C, X, STOP, START) is answered, but the same command about the same appointment only once
per period. The number's ``NumberAnswered`` row is locked while one of its texts is handled: two
texts of one number at once are handled one after the other.

An X that cancels is answered by the cancellation notice itself when that goes to the number by SMS
(one text, not two).

Twilio's own opt-out handling (Advanced Opt-Out) answers STOP, START and HELP itself and tells us in
``OptOutType``: then its word is recorded as the patient's and we send no second answer. Twilio counts
CANCEL among its default opt-out keywords; a chain whose patients text "cancel" to cancel removes it
from the Messaging Service's opt-out keywords (X always works)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation

from notifications.models import (
    Channel,
    InboundMessage,
    Intent,
    Kind,
    Message,
    MessageStatus,
    NumberAnswered,
    ReplyOutcome,
)
from notifications.outbox import message_enqueue
from notifications.policy import language_of
from notifications.reply_words import Voice
from notifications.selectors import messaging_settings_get
from patients.models import Patient
from patients.portal import portal_user_for
from patients.services import consent_set
from scheduling import services as sched
from scheduling.exceptions import IllegalTransition, TooLateToCancel
from scheduling.models import Appointment, Status
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_record
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get

log = logging.getLogger(__name__)

CANCELLED_BY_TEXT = "Cancelled by the patient's text message"
# The texts a reply answers: they name one appointment and say how to confirm or cancel it.
ABOUT_KINDS = (Kind.CONFIRMATION, Kind.REMINDER, Kind.RESCHEDULED)
CHANGEABLE = (Status.BOOKED, Status.CONFIRMED)

# Words, compared case- and space-insensitively after stripping punctuation around them. Twilio's
# default opt-out keywords are recognised too, for chains whose Messaging Service leaves opt-out to us.
WORDS: dict[str, Intent] = {
    **dict.fromkeys(("c", "confirm", "confirmed", "yes"), Intent.CONFIRM),
    **dict.fromkeys(("x", "cancel"), Intent.CANCEL),
    **dict.fromkeys(("stop", "stopall", "unsubscribe", "end", "quit", "optout", "revoke"), Intent.STOP),
    **dict.fromkeys(("start", "unstop", "subscribe"), Intent.START),
    **dict.fromkeys(("help", "info", "?"), Intent.HELP),
}
OPT_OUT_TYPES = {"STOP": Intent.STOP, "START": Intent.START, "HELP": Intent.HELP}
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")
#: One helpful answer per number in this period; the same command is not answered twice in it.
ANSWER_PERIOD = timedelta(hours=12)
COMMANDS = (Intent.CONFIRM, Intent.CANCEL, Intent.STOP, Intent.START)


@dataclass(frozen=True)
class Inbound:
    """An inbound SMS as Twilio posts it (MessageSid, From, To, Body, OptOutType)."""

    sid: str
    from_number: str
    to_number: str = ""
    body: str = ""
    opt_out_type: str = ""
    messaging_service_sid: str = ""


def intent_of(*, body: str, opt_out_type: str = "") -> Intent:
    """What the text asks for: Twilio's opt-out verdict when it gave one (it has already acted on
    it), else the text's word: "C", " confirm ", "Yes!" confirm; "x", "Cancel." cancel."""
    if opt_out_type.strip().upper() in OPT_OUT_TYPES:
        verdict = OPT_OUT_TYPES[opt_out_type.strip().upper()]
        # "yes" is one of Twilio's opt-in keywords and our confirmation: it does both.
        if verdict == Intent.START and WORDS.get(_word(body)) == Intent.CONFIRM:
            return Intent.CONFIRM
        return verdict
    word = _word(body)
    if word == "?":
        return Intent.HELP
    return WORDS.get(word, Intent.OTHER)


def _word(body: str) -> str:
    text = " ".join(body.split()).casefold()
    return "?" if text == "?" else _EDGES.sub("", text)


@dataclass
class Handled:
    """What was done with one text, filled in as it is handled."""

    outcome: ReplyOutcome
    answer: str = ""  # what we text back; "" sends nothing
    detail: str = ""  # for the desk when nothing is sent
    patient: Patient | None = None
    appointment: Appointment | None = None
    answers: Message | None = None
    bypass_consent: bool = False  # the one confirmation of a STOP we handle ourselves
    told_by: Message | None = None  # a notice that answers the text (the SMS cancellation notice)


@transaction.atomic
def inbound_message_receive(*, inbound: Inbound, now: datetime | None = None) -> tuple[InboundMessage, bool]:
    """Record an inbound SMS and act on it, once: (the row, True), or (the row recorded before,
    False) for a retried or duplicated delivery of the same MessageSid, which changes nothing.

    The row is inserted first: a duplicate delivered at the same moment waits on the unique index
    until this transaction ends, and then finds it (nothing done twice)."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(
                sid=inbound.sid,
                from_number=inbound.from_number[:32],
                to_number=inbound.to_number[:32],
                body=inbound.body[:1600],
                opt_out_type=inbound.opt_out_type[:16],
                messaging_service_sid=inbound.messaging_service_sid[:64],
                intent=intent_of(body=inbound.body, opt_out_type=inbound.opt_out_type),
                outcome=ReplyOutcome.ANSWERED,
                received_at=now,
            )
    except IntegrityError:
        return InboundMessage.objects.get(sid=inbound.sid), False
    own = messaging_settings_get().twilio_messaging_service_sid
    if not own or inbound.messaging_service_sid != own:
        row.outcome = ReplyOutcome.OTHER_SERVICE
        row.detail = (
            "Sent through the platform's shared number (this clinic has no Messaging Service of its own)"
            if not own
            else "Sent through a Messaging Service that is not this clinic's"
        ) + ": recorded, nothing changed and nothing answered."
        row.save(update_fields=["outcome", "detail"])
        return row, True
    # The number's row, locked to the end: its texts are handled one at a time.
    NumberAnswered.objects.bulk_create([NumberAnswered(number=row.from_number)], ignore_conflicts=True)
    answered = NumberAnswered.objects.select_for_update().get(number=row.from_number)
    patients = list(Patient.objects.filter(phone=inbound.from_number, merged_into__isnull=True).order_by("pk"))
    handled = _once(_handle(row, patients=patients, now=now), row=row, answered=answered, now=now)
    row.outcome = handled.outcome
    row.patient = handled.patient or (patients[0] if patients else None)
    row.patients_matched = min(len(patients), 32767)
    row.appointment = handled.appointment
    row.answers = handled.answers
    row.detail = (handled.answer or handled.detail)[:500]
    if handled.told_by is not None:
        row.reply = handled.told_by
        row.detail = f"{handled.detail} (told by the cancellation notice)"[:500]
    elif handled.answer:
        row.reply = _answer(row, handled, now=now)
    row.save()
    # A text from a patient is patient data received: on the access log like any record written.
    if row.patient_id is not None:
        access_log_record(
            actor=None,
            action=AccessLog.Action.CREATE,
            object_type="inbound_sms",
            object_ids=[row.pk] * len(patients),
            patient_ids=[p.pk for p in patients],
            reason=f"SMS reply: {row.get_intent_display()} ({row.outcome})",
        )
    return row, True


def _once(handled: Handled, *, row: InboundMessage, answered: NumberAnswered, now: datetime) -> Handled:
    """Whether the number is answered this time: a command unless the same one about the same
    appointment was answered within the period; anything else once per period. Not answered: the
    text is recorded as SILENT, with when the number was last answered."""
    if not handled.answer and handled.told_by is None:
        return handled
    since = now - ANSWER_PERIOD
    intent = Intent(row.intent)
    if intent in COMMANDS:
        command = f"{intent}:{handled.appointment.pk if handled.appointment else ''}"
        if answered.command == command and answered.command_at is not None and answered.command_at > since:
            return _silent(handled, answered.command_at, "the same text was answered", keep_outcome=True)
        answered.command, answered.command_at = command, now
        answered.save(update_fields=["command", "command_at"])
        return handled
    if answered.helped_at is not None and answered.helped_at > since:
        return _silent(handled, answered.helped_at, "this number had its answer")
    answered.helped_at = now
    answered.save(update_fields=["helped_at"])
    return handled


def _silent(handled: Handled, last: datetime, what: str, *, keep_outcome: bool = False) -> Handled:
    """Recorded, not answered: a repeated command keeps what was done (nothing new), anything else
    is SILENT."""
    hours = int(ANSWER_PERIOD.total_seconds() // 3600)
    at = formats.time_format(timezone.localtime(last), "TIME_FORMAT")
    if not keep_outcome:
        handled.outcome = ReplyOutcome.SILENT
    handled.detail = f"{what} at {at}; one answer per {hours} hours."
    handled.answer = ""
    handled.told_by = None
    return handled


def _handle(row: InboundMessage, *, patients: list[Patient], now: datetime) -> Handled:
    chain = chain_settings_get()
    voice = Voice.of(clinic=chain.name, language=language_of(patients[0] if patients else None))
    intent = Intent(row.intent)
    by_twilio = bool(row.opt_out_type)
    if intent == Intent.STOP:
        _consent(patients, given=False)
        if by_twilio:
            return Handled(ReplyOutcome.OPTED_OUT, detail="Twilio stopped texts to this number and told the patient.")
        # Carriers expect one last text confirming the opt-out; policy would refuse it now that
        # consent is withdrawn, so it is written without a patient.
        return Handled(
            ReplyOutcome.OPTED_OUT,
            answer=voice.say("stop"),
            bypass_consent=True,
        )
    if intent == Intent.START:
        _consent(patients, given=True)
        if by_twilio:
            return Handled(ReplyOutcome.OPTED_IN, detail="Twilio restarted texts to this number and told the patient.")
        return Handled(ReplyOutcome.OPTED_IN, answer=voice.say("start"))
    if row.opt_out_type and intent == Intent.CONFIRM:
        _consent(patients, given=True)  # "yes" is also Twilio's opt-in word
    if intent == Intent.HELP and by_twilio:
        return Handled(ReplyOutcome.ANSWERED, detail="Twilio answered the patient's HELP.")
    if not patients:
        return Handled(
            ReplyOutcome.UNKNOWN_SENDER,
            answer=voice.say("unknown", call=voice.call(_branch_to_call(None))),
        )
    if intent in (Intent.CONFIRM, Intent.CANCEL):
        return _appointment_change(intent, patients=patients, now=now, voice=voice)
    branch = _branch_to_call(_branch_of_latest(row.from_number, patients))
    return Handled(ReplyOutcome.ANSWERED, answer=voice.say("help", call=voice.call(branch)))


def _consent(patients: list[Patient], *, given: bool) -> None:
    """The number's owner speaks for every patient who has it (a parent for a child): each one's SMS
    consent changes, as that patient's own account, with its history and access-log row."""
    for patient in patients:
        user = portal_user_for(patient=patient)
        # Read again: the account may be new, and the rule reads the record's own link to it.
        consent_set(actor=user, patient=Patient.objects.get(pk=patient.pk), channel="sms", given=given)


def _latest_about(number: str, patients: list[Patient] | None = None) -> Message | None:
    """The latest confirmation or reminder that reached ``number`` and named an appointment; with
    ``patients``, only one sent to a patient who holds the number now (a number given up and handed
    to someone else speaks for nobody's appointment but its new holder's)."""
    rows = Message.objects.filter(
        channel=Channel.SMS,
        recipient=number,
        kind__in=ABOUT_KINDS,
        appointment__isnull=False,
        status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
    )
    if patients is not None:
        rows = rows.filter(patient__in=patients)
    return rows.order_by("-sent_at", "-id").first()


def _texted_about(number: str, appointment: Appointment) -> bool:
    return Message.objects.filter(
        channel=Channel.SMS,
        recipient=number,
        appointment_id=appointment.pk,
        status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
    ).exists()


def _branch_of_latest(number: str, patients: list[Patient]) -> Branch | None:
    """The branch of the latest text about an appointment sent to the number's patients, else of
    their next appointment."""
    latest = _latest_about(number, patients)
    if latest is not None and latest.branch is not None:
        return latest.branch
    upcoming = Appointment.objects.filter(patient__in=patients, span__startswith__gt=timezone.now())
    first = upcoming.select_related("branch").order_by("span").first()
    return first.branch if first is not None else None


def _branch_to_call(branch: Branch | None) -> Branch | None:
    """The branch whose number the patient is given: this one if it has a phone, else the chain's
    first open branch with one (the clinic's number to call)."""
    if branch is not None and branch.phone:
        return branch
    return Branch.objects.filter(is_active=True).exclude(phone="").order_by("pk").first() or branch


def _upcoming(patients: list[Patient], now: datetime) -> list[Appointment]:
    return list(
        Appointment.objects.filter(patient__in=patients, status__in=CHANGEABLE, span__startswith__gt=now)
        .select_related("branch", "service", "patient")
        .order_by("span")
    )


def _resolve(patients: list[Patient], number: str, now: datetime, voice: Voice) -> Handled:
    """The appointment a reply is about: the one the latest confirmation or reminder texted to a
    patient who holds this number now named, if it is still upcoming and changeable; if it is off,
    the number's only upcoming visit when no text named it. Without such a text, the
    number's only upcoming appointment; several, or none, are answered with what to do instead."""
    latest = _latest_about(number, patients)
    appointment = (
        Appointment.objects.select_related("branch", "service", "patient").filter(pk=latest.appointment_id).first()
        if latest is not None and latest.appointment_id is not None
        else None
    )
    if latest is not None and appointment is not None:
        if appointment.status in CHANGEABLE and appointment.span.lower > now:
            return Handled(ReplyOutcome.ANSWERED, appointment=appointment, patient=appointment.patient, answers=latest)
    upcoming = _upcoming(patients, now)
    if latest is not None and appointment is not None:
        # The text named a visit that is over or off. The number's only upcoming visit is meant when
        # no text ever named it (booked at the desk since, say): the patient knows of it otherwise.
        if len(upcoming) == 1 and not _texted_about(number, upcoming[0]):
            return Handled(ReplyOutcome.ANSWERED, appointment=upcoming[0], patient=upcoming[0].patient)
        return Handled(
            ReplyOutcome.NOT_CHANGEABLE,
            patient=appointment.patient,
            appointment=appointment,
            answers=latest,
            answer=_off(appointment, voice, now),
        )
    if len(upcoming) == 1:
        return Handled(ReplyOutcome.ANSWERED, appointment=upcoming[0], patient=upcoming[0].patient)
    if not upcoming:
        branch = _branch_to_call(_branch_of_latest(number, patients))
        return Handled(ReplyOutcome.NO_APPOINTMENT, answer=voice.say("none", call=voice.call(branch)))
    return Handled(
        ReplyOutcome.AMBIGUOUS,
        answer=voice.say("several", count=len(upcoming), call=voice.call(_branch_to_call(upcoming[0].branch))),
    )


def _off(appointment: Appointment, voice: Voice, now: datetime) -> str:
    """What became of an appointment that can no longer be changed by text, and whom to call."""
    started = appointment.status in CHANGEABLE and appointment.span.lower <= now
    state = voice.say("started") if started else voice.say("is", status=voice.status(appointment))
    return voice.say("off", when=_when(appointment), state=state, call=voice.call(appointment.branch))


def _appointment_change(intent: Intent, *, patients: list[Patient], now: datetime, voice: Voice) -> Handled:
    number = patients[0].phone
    handled = _resolve(patients, number, now, voice)
    appointment = handled.appointment
    if appointment is None or handled.outcome != ReplyOutcome.ANSWERED:
        return handled
    patient = appointment.patient
    if patient is None:  # never: it is an appointment of one of the number's patients
        return handled
    # The appointment's row first, as the desk's cancel takes it, before the patient's record is
    # touched (their portal account made): one order of locks, so the two at once never deadlock.
    list(Appointment.objects.select_for_update().filter(pk=appointment.pk).values_list("pk", flat=True))
    when = _when(appointment)
    if intent == Intent.CONFIRM:
        if appointment.status == Status.CONFIRMED:
            handled.outcome = ReplyOutcome.ALREADY_CONFIRMED
            handled.answer = voice.say("already", when=when)
            return handled
        try:
            with transaction.atomic():
                sched.appointment_confirm(actor=portal_user_for(patient=patient), appointment=appointment)
        except IllegalTransition:  # the desk changed it a moment ago
            return _no_longer(handled, appointment, voice, now)
        handled.outcome = ReplyOutcome.CONFIRMED
        handled.answer = voice.say("confirmed", when=when)
        return handled
    try:
        # A refusal must leave nothing behind: no portal account made for it.
        with transaction.atomic():
            sched.appointment_cancel(
                actor=portal_user_for(patient=patient),
                appointment=appointment,
                reason=CANCELLED_BY_TEXT,
                by_patient=True,
                now=now,
            )
    except IllegalTransition:  # the desk changed it a moment ago
        return _no_longer(handled, appointment, voice, now)
    except TooLateToCancel as refused:
        handled.outcome = ReplyOutcome.TOO_LATE
        handled.answer = voice.say("too_late", when=when, reason=refused.message, call=voice.call(appointment.branch))
        return handled
    handled.outcome = ReplyOutcome.CANCELLED
    handled.answer = voice.say("cancelled", when=when)
    # The cancellation notice written by the cancel says so (and how to book again): when it goes to
    # this number by SMS, it is the answer, not a second text.
    handled.told_by = Message.objects.filter(
        kind=Kind.CANCELLED,
        channel=Channel.SMS,
        appointment_id=appointment.pk,
        recipient=number,
        status=MessageStatus.PENDING,
    ).first()
    if handled.told_by is not None:
        handled.detail, handled.answer = handled.answer, ""
    return handled


def _no_longer(handled: Handled, appointment: Appointment, voice: Voice, now: datetime) -> Handled:
    appointment.refresh_from_db()
    handled.outcome = ReplyOutcome.NOT_CHANGEABLE
    handled.answer = _off(appointment, voice, now)
    return handled


def _when(appointment: Appointment) -> str:
    """The appointment's start on its branch's clock, in the patient's language."""
    zone = ZoneInfo(appointment.branch.timezone if appointment.branch else "UTC")
    language = (appointment.patient.preferred_language if appointment.patient else "") or chain_settings_get().locale
    with translation.override(language or "en"):
        local = appointment.span.lower.astimezone(zone)
        return f"{formats.date_format(local, 'D j M')} at {formats.time_format(local, 'TIME_FORMAT')}"


def _answer(row: InboundMessage, handled: Handled, *, now: datetime) -> Message:
    patient = None if handled.bypass_consent else (handled.patient or row.patient)
    appointment = handled.appointment
    return message_enqueue(
        kind=Kind.REPLY,
        channel=Channel.SMS,
        recipient=row.from_number,
        due_at=now,
        language=language_of(patient),
        patient_id=patient.pk if patient else None,
        appointment_id=appointment.pk if appointment else None,
        branch_id=appointment.branch_id if appointment else None,
        context={"text": handled.answer},
        key=f"reply:{row.sid}",
    )


__all__ = ["Inbound", "inbound_message_receive", "intent_of"]
