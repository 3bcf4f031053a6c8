"""The values a message's template may use, read when the message is sent (so a reminder always
names the appointment's current time, on its branch's clock, in the recipient's language).

Placeholders: patient (first name), doctor, branch, service, date, time, when (date and time
together), manage_link, amount, clinic, code, link, text. Unknown ones render empty.

- Times are the appointment's (else the message's own moment: a receipt's payment, a summary's
  morning) on the branch's clock, written the way the message's language writes them (Babel's CLDR
  data: "Tuesday, 24 March 2026, 14:30" in en-GB, "Dienstag, 24. März 2026, 14:30" in German).
- ``manage_link`` is a NEW link to the appointment, issued as the message is sent and only when its
  wording uses one and the appointment can still be changed: the raw token exists nowhere else, and
  is a secret, masked in the log.
- ``amount`` is ``context["amount_minor"]`` (integer minor units) in ``context["currency"]`` (else
  the chain's), written in the chain's locale.
- ``code``, ``link`` and ``text`` come from the context; those named in ``context["secret"]`` are
  secrets, masked in the log (the sending clears them from the row afterwards).
- An e-mail about an upcoming appointment carries it as an .ics attachment (a cancellation's
  removes it from the calendar)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from config.money import money_format
from notifications import templates
from notifications.ics import FILENAME, MIMETYPE, appointment_ics
from notifications.memo import memoized
from notifications.models import Channel, Kind, Message
from notifications.policy import appointment_of, chain_settings
from notifications.templates import render
from scheduling.exceptions import IllegalTransition
from scheduling.models import CalendarEntry, Status
from scheduling.services import manage_link_issue, manage_links_issue
from tenants.org.models import Branch, Role, StaffMember
from tenants.selectors import current_clinic_url

#: (filename, content, MIME type) of a file sent with an e-mail.
Attachment = tuple[str, str, str]

#: Kinds whose e-mail carries the appointment for the patient's calendar.
WITH_CALENDAR = frozenset({Kind.CONFIRMATION, Kind.RESCHEDULED, Kind.LEAVE_MOVED, Kind.REMINDER})
WITH_CALENDAR_CANCEL = frozenset({Kind.CANCELLED, Kind.LEAVE_CANCELLED})
#: Kinds whose ``link`` is the chain's booking page when the context has none (to book again).
REBOOK = frozenset({Kind.CANCELLED, Kind.LEAVE_CANCELLED, Kind.NO_SHOW, Kind.FOLLOW_UP})
CHANGEABLE = frozenset({Status.BOOKED, Status.CONFIRMED})
#: Context entries that are not values of their own.
INTERNAL = frozenset({"secret", "amount_minor", "currency", "asked", "offset", "until"})


@dataclass(frozen=True)
class Values:
    values: dict[str, str]
    #: Values that must not be kept in the log (a manage link's token, a code).
    secrets: tuple[str, ...] = field(default=())
    #: Files an e-mail carries (the appointment's .ics); SMS has none.
    attachments: tuple[Attachment, ...] = field(default=())


@functools.lru_cache(maxsize=64)
def babel_locale(language: str) -> Locale:
    """A language tag ("en-gb", "de") as Babel's Locale; English when Babel does not know it."""
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@dataclass(frozen=True)
class LocalTime:
    date: str
    time: str
    when: str


def local_time(moment: datetime, *, tz: ZoneInfo, language: str) -> LocalTime:
    """``moment`` on ``tz``'s wall clock, written in ``language`` (summer time or not: zoneinfo
    gives the offset of that very moment)."""
    locale = babel_locale(language)
    local = moment.astimezone(tz)
    day = format_date(local, format="full", locale=locale)
    at = format_time(local, format="short", locale=locale)
    pattern = str(locale.datetime_formats.get("medium", "{1}, {0}"))
    return LocalTime(date=day, time=at, when=pattern.replace("{1}", day).replace("{0}", at).replace("'", ""))


def clinic_url() -> str:
    """The chain's site (its primary domain), read once per dispatch batch."""
    return memoized("clinic_url", current_clinic_url)


def site_link(name: str, **kwargs: str) -> str:
    """An absolute link to one of the chain's own pages (on its primary domain)."""
    return clinic_url() + reverse(name, kwargs=kwargs or None, urlconf=settings.ROOT_URLCONF)


def _uses(message: Message, name: str) -> bool:
    """Whether the wording ``message`` is written from names ``{name}`` (rendered with a probe, once
    per wording in a dispatch batch)."""

    def probed() -> bool:
        probe = f"\u27e6{name}\u27e7"
        values = {name: probe}
        subject, body = render(kind=message.kind, channel=message.channel, language=message.language, values=values)
        return probe in subject or probe in body

    return memoized(("uses", message.kind, message.channel, message.language, name), probed)


def _carries_manage_link(message: Message) -> bool:
    """Whether ``message`` carries a manage link (an e-mail's calendar entry names it too)."""
    return message.kind in WITH_CALENDAR or _uses(message, "manage_link")


def _linkable(appointment: CalendarEntry) -> bool:
    return appointment.status in CHANGEABLE and appointment.patient_id is not None


def manage_links_issue_for(messages: Sequence[Message]) -> None:
    """The new manage links ``messages`` (about to be composed in this dispatch batch) will carry,
    issued in one INSERT and kept for their composing: the same links, one per message, that
    composing each would issue."""
    wanting: list[tuple[Message, CalendarEntry]] = []
    for message in messages:
        appointment = appointment_of(message)
        try:
            if appointment is not None and _linkable(appointment) and _carries_manage_link(message):
                wanting.append((message, appointment))
        except Exception:  # noqa: S112 (a wording that cannot be read fails that message when composed)
            continue
    if not wanting:
        return
    tokens = manage_links_issue(appointments=[appointment for _, appointment in wanting])  # type: ignore[misc]
    for (message, _), token in zip(wanting, tokens, strict=True):
        memoized(("manage_link", message.pk), functools.partial(str, token))  # kept for its composing


def _fresh_manage_link(message: Message, appointment: CalendarEntry, *, preview: bool = False) -> str:
    if not _linkable(appointment):
        return ""
    if preview:  # issues no link: the stand-in is a secret, shown masked as the log masks the real one
        return site_link("book-manage", token="preview")  # noqa: S106 (no secret: a stand-in shown masked)

    def issued() -> str:
        try:
            return manage_link_issue(appointment=appointment)  # type: ignore[arg-type]
        except IllegalTransition:
            return ""

    token = memoized(("manage_link", message.pk), issued)
    return site_link("book-manage", token=token) if token else ""


def _calendar(message: Message, appointment: CalendarEntry, values: dict[str, str]) -> tuple[Attachment, ...]:
    if message.channel != Channel.EMAIL:
        return ()
    cancelled = message.kind in WITH_CALENDAR_CANCEL and appointment.status == Status.CANCELLED
    if not cancelled and (message.kind not in WITH_CALENDAR or appointment.status not in CHANGEABLE):
        return ()
    manage = values.get("manage_link", "")
    ics = appointment_ics(
        appointment,
        host=clinic_url().split("://", 1)[-1],
        summary=f"{values['service']}, {values['clinic']}",
        description=f"{values['doctor']}. {manage}".strip(),
        now=timezone.now(),
        cancelled=cancelled,
    )
    return ((FILENAME, ics, MIMETYPE),)


def placeholders(message: Message, *, preview: bool = False) -> Values:
    """The values of ``message`` as text, read now; the ones named in ``context["secret"]`` (and a
    manage link issued for it) are secrets. A ``preview`` issues no manage link (a masked stand-in)."""
    context = message.context or {}
    chain = chain_settings()
    values: dict[str, str] = {"clinic": chain.name}
    secret_names = {str(n) for n in context.get("secret") or []}
    appointment = appointment_of(message)
    patient = message.patient if message.patient_id else (appointment.patient if appointment else None)
    if patient is not None:
        values["patient"] = patient.first_name
    branch = appointment.branch if appointment is not None and appointment.branch else message.branch
    if branch is not None:
        values["branch"] = branch.name
    tz = ZoneInfo(branch.timezone if branch is not None else chain.default_timezone)
    # The appointment's time; else the moment the context names (a link's expiry); else the message's own.
    until = context.get("until")
    moment = appointment.span.lower if appointment is not None else message.due_at
    if appointment is None and isinstance(until, str):
        moment = datetime.fromisoformat(until)
    when = local_time(moment, tz=tz, language=message.language)
    values.update(date=when.date, time=when.time, when=when.when)
    attachments: tuple[Attachment, ...] = ()
    if appointment is not None:
        values["doctor"] = appointment.doctor.user.get_full_name() or str(appointment.doctor)
        values["service"] = str(appointment.service or "")
        if _carries_manage_link(message):
            values["manage_link"] = _fresh_manage_link(message, appointment, preview=preview)
            secret_names.add("manage_link")
        attachments = _calendar(message, appointment, values)
    if "amount_minor" in context:
        currency = str(context.get("currency") or chain.currency)
        values["amount"] = money_format(int(str(context["amount_minor"])), currency, locale=chain.locale)
    for name, value in context.items():
        if name not in INTERNAL and value is not None:
            values[str(name)] = str(value)
    if message.kind in REBOOK and not values.get("link"):
        values["link"] = site_link("book")
    secrets = tuple(values[name] for name in sorted(secret_names) if values.get(name))
    return Values(values=values, secrets=secrets, attachments=attachments)


#: A manage link's token as long as a real one, so an SMS preview counts its segments honestly.
SAMPLE_TOKEN = "Xk3vQ9pL2mR8tY6wZ1aB4cD7eF0gH5jKu2nW8sT4qE1"  # noqa: S105 - a sample, no secret


def sample_values(*, kind: str, language: str) -> dict[str, str]:
    """The values a wording's preview is filled with: this chain's name, its first branch, one of its
    doctors and links on its own site; the built-in samples for what the chain has none of (a date,
    an amount, a code)."""
    values = templates.sample_values(kind=kind, language=language)
    values["clinic"] = chain_settings().name or values["clinic"]
    branch = memoized("sample_branch", Branch.objects.filter(is_active=True).order_by("name").first)
    if branch is not None:
        values["branch"] = branch.name
    doctors = StaffMember.objects.filter(is_active=True, roles__contains=[Role.DOCTOR]).select_related("user")
    doctor = memoized("sample_doctor", doctors.first)
    if doctor is not None:
        values["doctor"] = doctor.user.get_full_name() or str(doctor)
    values["manage_link"] = site_link("book-manage", token=SAMPLE_TOKEN)
    values["link"] = clinic_url() + "/l/Q7mZ2xK9/"
    return values


def template_preview(*, kind: str, channel: str, language: str, subject: str, body: str) -> templates.Preview:
    """A wording (saved or as typed) filled with this chain's sample values, as the settings pages
    show it."""
    return templates.preview(
        kind=kind,
        channel=channel,
        language=language,
        subject=subject,
        body=body,
        values=sample_values(kind=kind, language=language),
    )
