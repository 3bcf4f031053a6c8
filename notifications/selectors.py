"""Reading messages: the message log (the branches a user sees, through tenants.org.selectors), one
message with its resends, a patient's messages for the chart, and the chain's wording and messaging
settings as the settings pages show them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from babel import Locale, UnknownLocaleError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import time_format

from config.wording import mid_sentence
from notifications.compose import Composed, compose
from notifications.models import OPEN_STATUSES, Channel, Kind, Message, MessageStatus, MessagingSettings, Template
from notifications.notices import confirms
from notifications.policy import consent_refusal, postponed, zone_of
from notifications.templates import KIND_PLACEHOLDERS, LANGUAGES, PLACEHOLDERS, default_for
from patients.models import Patient
from scheduling.models import Appointment, CalendarEntry, Source
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible


@dataclass(frozen=True)
class MessageFilters:
    """What the log is narrowed to; each empty means any."""

    status: str = ""
    kind: str = ""
    channel: str = ""
    branch_id: int | None = None
    #: Part of the recipient's number or address.
    recipient: str = ""
    due_from: datetime | None = None
    due_until: datetime | None = None
    #: One part of the log: "due" (waiting, the soonest due first), "sent" (sent or settled, the
    #: latest first), "failed" (failed or not delivered and not sent again since, the latest first);
    #: empty: all, the latest due first.
    show: str = ""


#: The parts of the log.
SHOW_DUE, SHOW_SENT, SHOW_FAILED = "due", "sent", "failed"
SHOWS = (SHOW_DUE, SHOW_SENT, SHOW_FAILED)
#: What needs someone: a failure, or a message the provider could not deliver.
TROUBLE = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
#: A resend that went: the failure it answered needs nobody any more.
WENT = (MessageStatus.SENT, MessageStatus.DELIVERED)


def needing_someone(rows: QuerySet[Message]) -> QuerySet[Message]:
    """The failures of ``rows`` still to handle (the log's Failed tab, the morning summary's count):
    failed or not delivered, and not sent again since (a resend that was sent or delivered handled
    it; one still waiting or failed did not)."""
    handled = Message.objects.filter(resend_of=OuterRef("pk"), status__in=WENT)
    return rows.filter(status__in=TROUBLE).exclude(Exists(handled))


def _visible(actor: Actor) -> QuerySet[Message]:
    rows = Message.objects.select_related(
        "patient", "branch", "resend_of", "appointment__service", "appointment__doctor__user", "appointment__branch"
    ).annotate(said_span=_span_when_sent())
    visible = branch_ids_visible(actor=actor)
    if visible is None:
        return rows
    # a message of no branch (a sign-in code, a card link) is the patient's, seen as the chart is
    return rows.filter(Q(branch_id__in=visible) | Q(branch__isnull=True))


def _span_when_sent() -> Subquery:
    """The time a sent message gave: its appointment's span as it stood when the message's text was
    written (else when it went), from the calendar's history, so a row about a visit moved since reads
    the time the patient was told."""
    written = Coalesce(OuterRef("written_at"), OuterRef("sent_at"))
    stood = CalendarEntry.history.filter(id=OuterRef("appointment_id"), history_date__lte=written)
    return Subquery(stood.order_by("-history_date", "-history_id").values("span")[:1])


def message_list(*, actor: Actor, filters: MessageFilters | None = None) -> QuerySet[Message]:
    """The messages of the branches ``actor`` sees, the latest due first (or in the order of the part
    of the log ``filters.show`` names)."""
    authorize(actor, "notifications.view_message")
    f = filters or MessageFilters()
    rows = _filtered(_visible(actor), f)
    if f.show == SHOW_DUE:
        return rows.filter(status__in=OPEN_STATUSES).order_by("due_at", "pk")
    if f.show in (SHOW_SENT, SHOW_FAILED):
        done = needing_someone(rows) if f.show == SHOW_FAILED else rows.exclude(status__in=OPEN_STATUSES)
        # when it happened: sent, else settled (a reminder no longer needed, a message not sent)
        return done.annotate(happened=Coalesce("sent_at", "updated_at")).order_by("-happened", "-pk")
    return rows.order_by("-due_at", "-pk")


@dataclass(frozen=True)
class LogCounts:
    """How many messages each part of the log holds, under the log's other filters."""

    due: int
    failed: int


def message_log_counts(*, actor: Actor, filters: MessageFilters) -> LogCounts:
    """The number of waiting and of failed messages the log's tabs show, whatever the status filter."""
    authorize(actor, "notifications.view_message")
    rows = _filtered(_visible(actor), replace(filters, status=""))
    return LogCounts(due=rows.filter(status__in=OPEN_STATUSES).count(), failed=needing_someone(rows).count())


def _filtered(rows: QuerySet[Message], f: MessageFilters) -> QuerySet[Message]:
    if f.status:
        rows = rows.filter(status=f.status)
    if f.kind:
        rows = rows.filter(kind=f.kind)
    if f.channel:
        rows = rows.filter(channel=f.channel)
    if f.branch_id is not None:
        rows = rows.filter(branch_id=f.branch_id)
    if f.recipient:
        rows = rows.filter(recipient__icontains=f.recipient.strip())
    if f.due_from is not None:
        rows = rows.filter(due_at__gte=f.due_from)
    if f.due_until is not None:
        rows = rows.filter(due_at__lt=f.due_until)
    return rows


def message_get(*, actor: Actor, pk: int) -> Message | None:
    """One message of a branch ``actor`` sees, or None (another branch's is not found)."""
    authorize(actor, "notifications.view_message")
    return _visible(actor).filter(pk=pk).first()


def message_preview(*, message: Message) -> Composed | None:
    """The text a waiting message would be sent with now, written by the sender's own code (the
    wording, the patient's language, the appointment's current time), its secrets masked as the log
    masks them; None once it is sent or settled (its page shows the text as sent). Nothing is
    issued for it: a manage link in it is a stand-in, shown masked."""
    if message.status not in OPEN_STATUSES:
        return None
    return compose(message, preview=True)


def confirmation_said(*, appointment: Appointment, now: datetime | None = None) -> str:
    """What the desk is told after booking ``appointment``: where its confirmation goes (and when, if
    quiet hours hold it), or why none goes (the chain does not confirm such bookings, no address,
    no consent)."""
    now = now or timezone.now()
    rows = list(Message.objects.select_related("branch").filter(appointment_id=appointment.pk, kind=Kind.CONFIRMATION))
    if rows:
        ways = [f"by {mid_sentence(m.get_channel_display())} to {m.recipient}" for m in rows]
        said = "A confirmation goes " + " and ".join(ways)
        held = [at for at in (postponed(m, now=now) for m in rows) if at is not None]
        if held:
            local = timezone.localtime(min(held), zone_of(rows[0]))
            said += f", at {time_format(local, 'TIME_FORMAT')} when quiet hours end"
        return said + "."
    source = Source(appointment.source)
    if not confirms(source):
        return f"No confirmation: the chain does not confirm {source.label.lower()} bookings (messaging settings)."
    patient = appointment.patient
    if patient is None or not (patient.phone or patient.email):
        return "No confirmation: no mobile number or e-mail on file."
    why = [
        consent_refusal(patient, channel=channel, kind=Kind.CONFIRMATION) or f"{Channel(channel).label} is off"
        for channel, address in ((Channel.SMS, patient.phone), (Channel.EMAIL, patient.email))
        if address
    ]
    return "No confirmation: " + " ".join(w if w.endswith(".") else w + "." for w in why)


def language_name(language: str) -> str:
    """A message's language by name, in that language: "English (United Kingdom)", "Deutsch"."""
    try:
        return Locale.parse((language or "").replace("-", "_")).get_display_name() or language
    except (UnknownLocaleError, ValueError):
        return language


def message_resends(*, message: Message) -> QuerySet[Message]:
    """The resends of ``message``, the first first."""
    return Message.objects.filter(resend_of=message).order_by("created_at", "pk")


def patient_messages(*, actor: Actor, patient: Patient, limit: int = 50) -> list[Message]:
    """The messages sent (or to be sent) to ``patient`` at the branches ``actor`` sees, newest first."""
    authorize(actor, "notifications.view_message")
    authorize(actor, "patients.view_patient", patient)
    return list(_visible(actor).filter(patient=patient).order_by("-due_at", "-pk")[:limit])


# --- wording ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """One kind of message on one channel in one language, as the templates page lists it: the
    chain's own wording when there is one, else the built-in one."""

    kind: str
    kind_label: str
    channel: str
    channel_label: str
    language: str
    language_label: str
    subject: str
    body: str
    own: Template | None
    default_subject: str
    default_body: str
    placeholders: tuple[str, ...]

    @property
    def is_own(self) -> bool:
        return self.own is not None


def _wording(kind: str, channel: str, language: str, own: Template | None) -> Wording:
    default_subject, default_body = default_for(kind=kind, channel=channel, language=language)
    return Wording(
        kind=kind,
        kind_label=Kind(kind).label,
        channel=channel,
        channel_label=Channel(channel).label,
        language=language,
        language_label=LANGUAGES[language],
        subject=own.subject if own else default_subject,
        body=own.body if own else default_body,
        own=own,
        default_subject=default_subject,
        default_body=default_body,
        placeholders=KIND_PLACEHOLDERS.get(kind, tuple(PLACEHOLDERS)),
    )


def wording_list(*, actor: Actor, language: str | None = None) -> list[Wording]:
    """Every kind of message on each channel in each language (or one), own or built-in."""
    authorize(actor, "notifications.view_templates")
    own = {(t.kind, t.channel, t.language): t for t in Template.objects.select_related("updated_by")}
    languages = [language] if language in LANGUAGES else list(LANGUAGES)
    return [
        _wording(kind, channel, lang, own.get((kind, channel, lang)))
        for lang in languages
        for kind in Kind.values
        for channel in Channel.values
    ]


def wording_get(*, actor: Actor, kind: str, channel: str, language: str) -> Wording | None:
    """One wording, or None when the kind, channel or language does not exist."""
    authorize(actor, "notifications.view_templates")
    if kind not in Kind.values or channel not in Channel.values or language not in LANGUAGES:
        return None
    own = Template.objects.select_related("updated_by").filter(kind=kind, channel=channel, language=language).first()
    return _wording(kind, channel, language, own)


@dataclass(frozen=True)
class WordingChange:
    """One change of a chain's wording: when, what ("written", "changed", "reset") and by whom."""

    at: datetime
    what: str
    by: str


CHANGE_WORDS = {"+": "written", "~": "changed", "-": "reset"}


def wording_history(*, actor: Actor, kind: str, channel: str, language: str, limit: int = 10) -> list[WordingChange]:
    """The last changes of one wording (written, changed, back to the default), newest first."""
    authorize(actor, "notifications.view_templates")
    rows = Template.history.filter(kind=kind, channel=channel, language=language).select_related("history_user")
    return [
        WordingChange(
            at=row.history_date,
            what=CHANGE_WORDS.get(row.history_type, "changed"),
            by=(row.history_user.get_full_name() or row.history_user.email) if row.history_user else "the system",
        )
        for row in rows.order_by("-history_date", "-history_id")[:limit]
    ]


def messaging_settings_get() -> MessagingSettings:
    """The chain's messaging settings (the defaults until an owner changes them), for the code that
    writes and sends messages."""
    found, _ = MessagingSettings.objects.get_or_create(pk=1)
    return found


def messaging_settings_read(*, actor: Actor) -> MessagingSettings:
    """The chain's messaging settings, for those who may see them (owners, branch managers)."""
    authorize(actor, "notifications.view_messaging_settings")
    return messaging_settings_get()
