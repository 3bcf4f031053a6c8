"""Messages of a clinic chain: the outbox every SMS and e-mail goes through, the chain's templates
and its messaging settings.

A ``Message`` row is written in the same transaction as the change that caused it (a subscriber of a
domain event), so a rolled-back change sends nothing and a committed one cannot lose its message. A
periodic task claims due rows (``FOR UPDATE SKIP LOCKED``) and sends them (notifications/outbox.py).
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from patients.models import Patient
from scheduling.models import CalendarEntry
from tenants.org.models import Branch


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class Kind(models.TextChoices):
    """What a message is about. Each kind has a default template per channel and language
    (notifications/templates.py) that a chain may override."""

    CONFIRMATION = "confirmation", "Booking confirmation"
    RESCHEDULED = "rescheduled", "Appointment moved"
    CANCELLED = "cancelled", "Appointment cancelled"
    LEAVE_MOVED = "leave_moved", "Appointment moved: doctor unavailable"
    LEAVE_CANCELLED = "leave_cancelled", "Appointment cancelled: doctor unavailable"
    REMINDER = "reminder", "Reminder"
    RECEIPT = "receipt", "Receipt"
    FEE_NOTICE = "fee_notice", "Fee notice"
    NO_SHOW = "no_show", "Missed appointment"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    FOLLOW_UP = "follow_up", "Follow-up reminder"
    DAILY_SUMMARY = "daily_summary", "Daily summary"
    REPLY = "reply", "Answer to a reply"
    SIGN_IN_CODE = "sign_in_code", "Sign-in code"
    BOOKING_CODE = "booking_code", "Booking code"
    CARD_LINK = "card_link", "Card link"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    UNDELIVERED = "undelivered", "Not delivered"
    CANCELLED = "cancelled", "Not needed any more"
    SKIPPED = "skipped", "Not sent"


OPEN_STATUSES = (MessageStatus.PENDING, MessageStatus.SENDING)


class Message(models.Model):
    """One SMS or e-mail, from the moment a change calls for it until the provider reports on it.

    ``key`` makes creation idempotent: the same reminder of the same appointment (for example
    ``reminder:<appointment>:<offset>``) is one row however often its event runs. ``context`` holds
    the ids and values a template needs; the body is rendered when the message is sent, in the
    recipient's language and the branch's time zone, and kept for the log."""

    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    language = models.CharField(max_length=16, default="en")
    recipient = models.CharField(max_length=254, help_text="E.164 number or e-mail address")
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    appointment = models.ForeignKey(
        CalendarEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    branch = models.ForeignKey(Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    context = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=64, blank=True)
    provider_status = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    #: SHA-256 of the exact text handed to the provider, written before the provider is called: the
    #: recovery sweep recognises the provider's copy of a message whose worker died mid-send by it.
    digest = models.CharField(max_length=64, blank=True)
    #: When the text sent was written (composed just before the provider was called): the time of
    #: the appointment it gave is the appointment's as it stood then.
    written_at = models.DateTimeField(null=True, blank=True)
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="resends")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="message_due"),
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="message_sending"),
            models.Index(fields=["provider_id"], condition=~Q(provider_id=""), name="message_provider_id"),
            models.Index(fields=["patient", "-created_at"], name="message_patient"),
            models.Index(fields=["appointment"], name="message_appointment"),
            models.Index(fields=["recipient", "-sent_at"], name="message_recipient"),
            models.Index(fields=["branch", "due_at"], name="message_branch_due"),  # reporting's day cells
        ]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__gte=0), name="message_attempts_non_negative"),
            models.CheckConstraint(
                condition=~Q(status__in=["sent", "delivered", "undelivered"]) | Q(sent_at__isnull=False),
                name="message_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"


class Template(models.Model):
    """A chain's own wording for one kind of message on one channel in one language. Without one,
    the built-in default applies (notifications/templates.py). Placeholders are ``{name}`` from a
    fixed list; nothing else in the text is interpreted."""

    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    language = models.CharField(max_length=16)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # Every change and every reset to the default (a delete) is kept, with who made it.
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "channel", "language"], name="template_unique")]

    def __str__(self) -> str:
        return f"{self.kind} / {self.channel} / {self.language}"


def default_reminder_offsets() -> list[int]:
    """A day before and two hours before."""
    return [24 * 60, 120]


class MessagingSettings(models.Model):
    """The chain's messaging rules. One row per schema (id = 1), created on first use."""

    reminder_offsets_minutes = ArrayField(models.PositiveIntegerField(), default=default_reminder_offsets, blank=True)
    # On each branch's own clock; no SMS or e-mail to patients goes out between them.
    quiet_hours_start = models.TimeField(null=True, blank=True, default=time(21, 0))
    quiet_hours_end = models.TimeField(null=True, blank=True, default=time(8, 0))
    confirm_online = models.BooleanField(default=True)
    confirm_phone = models.BooleanField(default=True)
    confirm_walk_in = models.BooleanField(default=False)
    confirm_staff = models.BooleanField(default=True)
    sms_enabled = models.BooleanField(default=True)
    email_enabled = models.BooleanField(default=True)
    twilio_messaging_service_sid = models.CharField(max_length=34, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "messaging settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="messaging_settings_singleton")]

    def __str__(self) -> str:
        return "Messaging settings"


# --- replies: what patients text back (notifications/replies.py) ---------------------------------------
class Intent(models.TextChoices):
    """What a patient's text asks for, read from its first word (or Twilio's opt-out field)."""

    CONFIRM = "confirm", "Confirm"
    CANCEL = "cancel", "Cancel"
    STOP = "stop", "Stop texts"
    START = "start", "Texts again"
    HELP = "help", "Help"
    OTHER = "other", "Something else"


class ReplyOutcome(models.TextChoices):
    """What was done with a patient's text."""

    CONFIRMED = "confirmed", "Appointment confirmed"
    ALREADY_CONFIRMED = "already_confirmed", "Already confirmed"
    CANCELLED = "cancelled", "Appointment cancelled"
    TOO_LATE = "too_late", "Too late to cancel by text"
    NOT_CHANGEABLE = "not_changeable", "Appointment no longer changeable"
    NO_APPOINTMENT = "no_appointment", "No upcoming appointment found"
    AMBIGUOUS = "ambiguous", "Several appointments: not told which"
    UNKNOWN_SENDER = "unknown_sender", "Number of no patient"
    OPTED_OUT = "opted_out", "Texts stopped"
    OPTED_IN = "opted_in", "Texts started again"
    ANSWERED = "answered", "Answered with help"
    # Answered a moment ago (help once per number per period; the same command once): recorded only.
    SILENT = "silent", "Recorded, not answered again"
    # Came through a Messaging Service not the chain's own (the platform's shared one, or another's).
    OTHER_SERVICE = "other_service", "Not to this clinic's own number"


class InboundMessage(models.Model):
    """One SMS a patient sent to the chain's number, as Twilio delivered it to /twilio/inbound/, with
    whom it was matched to and what was done. ``sid`` (Twilio's MessageSid) is unique: a retried
    webhook finds the row and changes nothing."""

    sid = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True)
    # The Twilio Messaging Service it came through: only the chain's own one acts on a patient.
    messaging_service_sid = models.CharField(max_length=64, blank=True)
    body = models.TextField(blank=True)
    # Twilio's OptOutType (STOP, START, HELP) when its opt-out handling recognised a keyword.
    opt_out_type = models.CharField(max_length=16, blank=True)
    intent = models.CharField(max_length=10, choices=Intent.choices)
    outcome = models.CharField(max_length=20, choices=ReplyOutcome.choices)
    # What the patient was told (or, when nothing was sent, why), for the desk.
    detail = models.CharField(max_length=500, blank=True)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    # How many of the chain's patients have this number (a parent and a child may share one).
    patients_matched = models.PositiveSmallIntegerField(default=0)
    appointment = models.ForeignKey(
        CalendarEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages"
    )
    # The SMS it answers (the latest confirmation or reminder sent to the number), and our answer.
    answers = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reply = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["from_number", "-received_at"], name="inbound_from"),
            models.Index(fields=["patient", "-received_at"], name="inbound_patient"),
            models.Index(fields=["-received_at"], name="inbound_received"),
        ]

    def __str__(self) -> str:
        return f"SMS from {self.from_number}: {self.get_intent_display()} ({self.outcome})"


class NumberAnswered(models.Model):
    """When a number texting the chain was last answered on its own: the helpful answer goes once per
    number per period, a command (C, X, STOP, START) is not answered twice alike. One row per number,
    locked while one of its texts is handled: two texts of one number at once are handled in turn."""

    number = models.CharField(max_length=32, unique=True)
    helped_at = models.DateTimeField(null=True, blank=True)
    # The last command answered: its intent and the appointment it was about ("cancel:42", "stop:").
    command = models.CharField(max_length=40, blank=True)
    command_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.number
