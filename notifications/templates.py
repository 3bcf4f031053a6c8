"""The words of each message: a built-in default per kind, channel and language, which a chain may
override (``notifications.models.Template``).

Rendering only replaces ``{name}`` placeholders from a fixed list with plain values, in one pass: no
template language, no attribute access, no format specs, and a value is never read again as a
template (a patient called "{code}" is written as such). Text a user writes can never run code: what
is not a known ``{name}`` stays as it is. Saving refuses anything that looks like template code, so a
chain's wording says only what it seems to say (``template_errors``).

SMS wording is kept to one segment where it can be (160 GSM-7 characters, 70 when a character outside
GSM-7 forces UCS-2): ``sms_segments`` counts them for the preview."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from notifications.memo import memoized
from notifications.models import Channel, Kind, Template

#: The placeholders a template may use (notifications/placeholders.py gives their values when a
#: message is sent). Anything else in braces is refused on save and left as text when rendered.
PLACEHOLDERS: dict[str, str] = {
    "patient": "the patient's first name",
    "doctor": "the practitioner's name",
    "branch": "the branch's name",
    "service": "the service booked",
    "date": "the appointment's date, on the branch's clock",
    "time": "the appointment's time, on the branch's clock",
    "when": "date and time together",
    "manage_link": "the patient's link to move or cancel",
    "amount": "an amount with its currency",
    "clinic": "the clinic chain's name",
    "code": "a one-time code",
    "link": "a link (to pay, save a card, accept an offer, book again)",
    "text": "free text written by the system (a summary, an answer)",
}

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
#: Anything in braces: what saving checks (a known name only, nothing else).
BRACED = re.compile(r"\{([^{}]*)\}")

#: SMS kinds whose default takes two segments: each names the clinic (a patient must know who texts
#: them), the service, where and when, and carries the manage link (some 90 characters): together more
#: than 160. A move because the doctor is away must also say who; cut shorter these read as riddles.
#: A chain that wants one segment writes shorter wording of its own (the preview counts them).
TWO_SEGMENTS = frozenset({"leave_moved", Kind.CONFIRMATION, Kind.RESCHEDULED})

#: The languages the built-in wording exists in; a chain's own wording may be added in each.
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
FALLBACK_LANGUAGE = "en"

_APPOINTMENT = ("patient", "doctor", "branch", "service", "date", "time", "when", "clinic")

#: The placeholders each kind's message has values for: saving a template refuses the others.
KIND_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    Kind.CONFIRMATION: (*_APPOINTMENT, "manage_link"),
    Kind.RESCHEDULED: (*_APPOINTMENT, "manage_link", "text"),
    Kind.CANCELLED: (*_APPOINTMENT, "link", "text"),
    Kind.REMINDER: (*_APPOINTMENT, "manage_link"),
    # the leave hook: the doctor is away (kinds named by value: added by the part that sends them)
    "leave_moved": (*_APPOINTMENT, "manage_link", "text"),
    "leave_cancelled": (*_APPOINTMENT, "link", "text"),
    Kind.RECEIPT: ("patient", "branch", "date", "amount", "clinic", "link"),
    Kind.FEE_NOTICE: (*_APPOINTMENT, "amount", "link", "text"),
    Kind.NO_SHOW: (*_APPOINTMENT, "link"),
    Kind.WAITLIST_OFFER: (*_APPOINTMENT, "link", "text"),
    Kind.FOLLOW_UP: ("patient", "doctor", "branch", "service", "date", "clinic", "link", "text"),
    Kind.DAILY_SUMMARY: ("branch", "date", "clinic", "text"),
    Kind.REPLY: ("patient", "clinic", "text"),
    Kind.SIGN_IN_CODE: ("clinic", "code"),
    Kind.BOOKING_CODE: ("clinic", "code"),
    Kind.CARD_LINK: ("patient", "clinic", "link", "date", "time"),
}

# (kind, channel, language) -> (subject, body). SMS has no subject.
DEFAULTS: dict[tuple[str, str, str], tuple[str, str]] = {
    # --- English
    (Kind.CONFIRMATION, Channel.SMS, "en"): (
        "",
        "{clinic}: booked {service}, {branch}, {when}. Change/cancel: {manage_link}",
    ),
    (Kind.CONFIRMATION, Channel.EMAIL, "en"): (
        "Booked: {service} on {when}",
        "Hello {patient},\n\nYour {service} with {doctor} at {branch} is booked for {when}.\n\n"
        "To move or cancel it: {manage_link}\n\nSee you soon,\n{clinic}",
    ),
    (Kind.RESCHEDULED, Channel.SMS, "en"): (
        "",
        "{clinic}: moved {service}, {branch}, now {when}. {text} Change/cancel: {manage_link}",
    ),
    (Kind.RESCHEDULED, Channel.EMAIL, "en"): (
        "Moved: {service} is now on {when}",
        "Hello {patient},\n\nYour {service} with {doctor} at {branch} is now on {when}.\n{text}\n"
        "To move or cancel it: {manage_link}\n\n{clinic}",
    ),
    (Kind.CANCELLED, Channel.SMS, "en"): (
        "",
        "{clinic}: your {service} on {when} is cancelled. {text} Book again: {link}",
    ),
    (Kind.CANCELLED, Channel.EMAIL, "en"): (
        "Cancelled: {service} on {when}",
        "Hello {patient},\n\nYour {service} with {doctor} at {branch} on {when} is cancelled.\n{text}\n"
        "To book another time: {link}\n\n{clinic}",
    ),
    ("leave_moved", Channel.SMS, "en"): (
        "",
        "{clinic}: {doctor} is away, your {service} is moved to {when}, {branch}. Change/cancel: {manage_link}",
    ),
    ("leave_moved", Channel.EMAIL, "en"): (
        "Moved: {service} is now on {when}",
        "Hello {patient},\n\n{doctor} is not available at the time you booked, so we moved your {service} at "
        "{branch} to {when}.\n{text}\nIf the new time does not suit you, move or cancel it here: {manage_link}\n\n"
        "We are sorry for the change.\n{clinic}",
    ),
    ("leave_cancelled", Channel.SMS, "en"): (
        "",
        "{clinic}: {doctor} is away, so your {service} on {when} is cancelled. Book again: {link}",
    ),
    ("leave_cancelled", Channel.EMAIL, "en"): (
        "Cancelled: {service} on {when}",
        "Hello {patient},\n\n{doctor} is not available, so we had to cancel your {service} at {branch} on "
        "{when}.\n{text}\nPlease book another time here: {link}\n\nWe are sorry for the change.\n{clinic}",
    ),
    (Kind.REMINDER, Channel.SMS, "en"): (
        "",
        "{clinic} reminder: {service} with {doctor} at {branch}, {when}. Reply C to confirm, X to cancel.",
    ),
    (Kind.REMINDER, Channel.EMAIL, "en"): (
        "Reminder: {service} on {when}",
        "Hello {patient},\n\nA reminder of your {service} with {doctor} at {branch} on {when}.\n\n"
        "If you cannot come, move or cancel it here: {manage_link}\n\n{clinic}",
    ),
    (Kind.RECEIPT, Channel.SMS, "en"): ("", "{clinic}: thank you, we received {amount} on {date}. Receipt: {link}"),
    (Kind.RECEIPT, Channel.EMAIL, "en"): (
        "Your receipt from {clinic}",
        "Hello {patient},\n\nThank you: we received your payment of {amount} on {date}.\n\n"
        "Your receipt: {link}\n\n{clinic}",
    ),
    (Kind.FEE_NOTICE, Channel.SMS, "en"): (
        "",
        "{clinic}: a fee of {amount} applies to your {service} on {date}. {text} Details: {link}",
    ),
    (Kind.FEE_NOTICE, Channel.EMAIL, "en"): (
        "A fee of {amount} for {service} on {date}",
        "Hello {patient},\n\nA fee of {amount} applies to your {service} at {branch} on {when}.\n{text}\n"
        "Details: {link}\n\n{clinic}",
    ),
    (Kind.NO_SHOW, Channel.SMS, "en"): (
        "",
        "{clinic}: we missed you at your {service} on {when}. Book again: {link}",
    ),
    (Kind.NO_SHOW, Channel.EMAIL, "en"): (
        "We missed you on {date}",
        "Hello {patient},\n\nWe missed you at your {service} with {doctor} at {branch} on {when}.\n\n"
        "To book another time: {link}\n\n{clinic}",
    ),
    (Kind.WAITLIST_OFFER, Channel.SMS, "en"): (
        "",
        "{clinic}: a time is free for {service}: {when} at {branch}. {text} Take it: {link}",
    ),
    (Kind.WAITLIST_OFFER, Channel.EMAIL, "en"): (
        "A time is free: {service} on {when}",
        "Hello {patient},\n\nA time you were waiting for is free: {service} with {doctor} at {branch} on "
        "{when}.\n{text}\nTo take it: {link}\n\n{clinic}",
    ),
    (Kind.FOLLOW_UP, Channel.SMS, "en"): (
        "",
        "{clinic}: {patient}, it is time for your follow-up {service}. Book: {link}",
    ),
    (Kind.FOLLOW_UP, Channel.EMAIL, "en"): (
        "Time for your follow-up at {clinic}",
        "Hello {patient},\n\n{doctor} asked to see you again for {service} around {date}.\n{text}\n"
        "To book a time: {link}\n\n{clinic}",
    ),
    (Kind.DAILY_SUMMARY, Channel.SMS, "en"): ("", "{branch}, {date}: {text}"),
    (Kind.DAILY_SUMMARY, Channel.EMAIL, "en"): ("{branch}: your day, {date}", "{text}\n\n{clinic}"),
    (Kind.REPLY, Channel.SMS, "en"): ("", "{text}"),
    (Kind.REPLY, Channel.EMAIL, "en"): ("A message from {clinic}", "Hello {patient},\n\n{text}\n\n{clinic}"),
    ("waitlist_joined", Channel.EMAIL, "en"): (
        "You are on the waitlist: {service} at {branch}",
        "Hello {patient},\n\n{text}\n\n{clinic}",
    ),
    (Kind.SIGN_IN_CODE, Channel.SMS, "en"): ("", "{code} is your {clinic} sign-in code. It expires in 10 minutes."),
    (Kind.SIGN_IN_CODE, Channel.EMAIL, "en"): (
        "Your sign-in code: {code}",
        "Your {clinic} sign-in code is {code}.\n\nIt expires in 10 minutes. If you did not ask for it, "
        "ignore this message.",
    ),
    (Kind.BOOKING_CODE, Channel.SMS, "en"): ("", "{code} is your {clinic} booking code. It expires in 10 minutes."),
    (Kind.BOOKING_CODE, Channel.EMAIL, "en"): (
        "Your booking code: {code}",
        "Your {clinic} booking code is {code}.\n\nIt expires in 10 minutes. If you did not ask for it, "
        "ignore this message.",
    ),
    (Kind.CARD_LINK, Channel.SMS, "en"): (
        "",
        "{clinic}: save a card for your visits here (nothing is charged now): {link}",
    ),
    (Kind.CARD_LINK, Channel.EMAIL, "en"): (
        "Save a card with {clinic}",
        "Hello {patient},\n\nTo save a card for your visits, open this link (nothing is charged now):\n{link}\n\n"
        "It works until {date} at {time}.\n\n{clinic}",
    ),
    # --- German
    (Kind.CONFIRMATION, Channel.SMS, "de"): (
        "",
        "{clinic}: {service} gebucht, {branch}, {when}. Ändern/absagen: {manage_link}",
    ),
    (Kind.CONFIRMATION, Channel.EMAIL, "de"): (
        "Gebucht: {service} am {when}",
        "Guten Tag {patient},\n\nIhr Termin {service} bei {doctor} in {branch} ist gebucht für {when}.\n\n"
        "Verschieben oder absagen: {manage_link}\n\nBis bald,\n{clinic}",
    ),
    (Kind.RESCHEDULED, Channel.SMS, "de"): (
        "",
        "{clinic}: {service} verlegt, {branch}, {when}. {text} Ändern/absagen: {manage_link}",
    ),
    (Kind.RESCHEDULED, Channel.EMAIL, "de"): (
        "Verschoben: {service} jetzt am {when}",
        "Guten Tag {patient},\n\nIhr Termin {service} bei {doctor} in {branch} ist jetzt am {when}.\n{text}\n"
        "Verschieben oder absagen: {manage_link}\n\n{clinic}",
    ),
    (Kind.CANCELLED, Channel.SMS, "de"): (
        "",
        "{clinic}: Ihr Termin {service} am {when} ist abgesagt. {text} Neu buchen: {link}",
    ),
    (Kind.CANCELLED, Channel.EMAIL, "de"): (
        "Abgesagt: {service} am {when}",
        "Guten Tag {patient},\n\nIhr Termin {service} bei {doctor} in {branch} am {when} ist abgesagt.\n{text}\n"
        "Einen neuen Termin buchen: {link}\n\n{clinic}",
    ),
    ("leave_moved", Channel.SMS, "de"): (
        "",
        "{clinic}: {doctor} ist verhindert, {service} verlegt auf {when}, {branch}. Ändern/absagen: {manage_link}",
    ),
    ("leave_moved", Channel.EMAIL, "de"): (
        "Verlegt: {service} jetzt am {when}",
        "Guten Tag {patient},\n\n{doctor} ist zum gebuchten Zeitpunkt verhindert. Wir haben Ihren Termin "
        "{service} in {branch} auf {when} verlegt.\n{text}\nFalls der neue Termin nicht passt, verschieben oder "
        "sagen Sie ihn hier ab: {manage_link}\n\nBitte entschuldigen Sie die Änderung.\n{clinic}",
    ),
    ("leave_cancelled", Channel.SMS, "de"): (
        "",
        "{clinic}: {doctor} ist verhindert, {service} am {when} abgesagt. Neu buchen: {link}",
    ),
    ("leave_cancelled", Channel.EMAIL, "de"): (
        "Abgesagt: {service} am {when}",
        "Guten Tag {patient},\n\n{doctor} ist verhindert, daher mussten wir Ihren Termin {service} in {branch} am "
        "{when} absagen.\n{text}\nBitte buchen Sie hier einen neuen Termin: {link}\n\n"
        "Bitte entschuldigen Sie die Änderung.\n{clinic}",
    ),
    (Kind.REMINDER, Channel.SMS, "de"): (
        "",
        "{clinic}, Erinnerung: {service} bei {doctor}, {branch}, {when}. "
        "Antworten Sie C zum Bestätigen, X zum Absagen.",
    ),
    (Kind.REMINDER, Channel.EMAIL, "de"): (
        "Erinnerung: {service} am {when}",
        "Guten Tag {patient},\n\nwir erinnern Sie an Ihren Termin {service} bei {doctor} in {branch} am {when}.\n\n"
        "Falls Sie nicht kommen können, verschieben oder sagen Sie ihn hier ab: {manage_link}\n\n{clinic}",
    ),
    (Kind.RECEIPT, Channel.SMS, "de"): (
        "",
        "{clinic}: Vielen Dank, wir haben {amount} am {date} erhalten. Beleg: {link}",
    ),
    (Kind.RECEIPT, Channel.EMAIL, "de"): (
        "Ihr Beleg von {clinic}",
        "Guten Tag {patient},\n\nvielen Dank: Wir haben Ihre Zahlung von {amount} am {date} erhalten.\n\n"
        "Ihr Beleg: {link}\n\n{clinic}",
    ),
    (Kind.FEE_NOTICE, Channel.SMS, "de"): (
        "",
        "{clinic}: Für Ihren Termin {service} am {date} fällt eine Gebühr von {amount} an. {text} Details: {link}",
    ),
    (Kind.FEE_NOTICE, Channel.EMAIL, "de"): (
        "Gebühr von {amount} für {service} am {date}",
        "Guten Tag {patient},\n\nfür Ihren Termin {service} in {branch} am {when} fällt eine Gebühr von {amount} "
        "an.\n{text}\nDetails: {link}\n\n{clinic}",
    ),
    (Kind.NO_SHOW, Channel.SMS, "de"): (
        "",
        "{clinic}: Wir haben Sie am {when} zu {service} vermisst. Neu buchen: {link}",
    ),
    (Kind.NO_SHOW, Channel.EMAIL, "de"): (
        "Wir haben Sie am {date} vermisst",
        "Guten Tag {patient},\n\nwir haben Sie zu Ihrem Termin {service} bei {doctor} in {branch} am {when} "
        "vermisst.\n\nEinen neuen Termin buchen: {link}\n\n{clinic}",
    ),
    (Kind.WAITLIST_OFFER, Channel.SMS, "de"): (
        "",
        "{clinic}: Ein Termin ist frei: {service}, {when}, {branch}. {text} Jetzt annehmen: {link}",
    ),
    (Kind.WAITLIST_OFFER, Channel.EMAIL, "de"): (
        "Termin frei: {service} am {when}",
        "Guten Tag {patient},\n\nein Termin, auf den Sie warten, ist frei: {service} bei {doctor} in {branch} am "
        "{when}.\n{text}\nTermin annehmen: {link}\n\n{clinic}",
    ),
    (Kind.FOLLOW_UP, Channel.SMS, "de"): (
        "",
        "{clinic}: {patient}, es ist Zeit für Ihren Folgetermin {service}. Buchen: {link}",
    ),
    (Kind.FOLLOW_UP, Channel.EMAIL, "de"): (
        "Zeit für Ihren Folgetermin bei {clinic}",
        "Guten Tag {patient},\n\n{doctor} möchte Sie um den {date} wieder zu {service} sehen.\n{text}\n"
        "Termin buchen: {link}\n\n{clinic}",
    ),
    (Kind.DAILY_SUMMARY, Channel.SMS, "de"): ("", "{branch}, {date}: {text}"),
    (Kind.DAILY_SUMMARY, Channel.EMAIL, "de"): ("{branch}: Ihr Tag, {date}", "{text}\n\n{clinic}"),
    (Kind.REPLY, Channel.SMS, "de"): ("", "{text}"),
    (Kind.REPLY, Channel.EMAIL, "de"): (
        "Eine Nachricht von {clinic}",
        "Guten Tag {patient},\n\n{text}\n\n{clinic}",
    ),
    ("waitlist_joined", Channel.EMAIL, "de"): (
        "Sie stehen auf der Warteliste: {service} in {branch}",
        "Guten Tag {patient},\n\n{text}\n\n{clinic}",
    ),
    (Kind.SIGN_IN_CODE, Channel.SMS, "de"): ("", "{code} ist Ihr Anmeldecode für {clinic}. Er gilt 10 Minuten."),
    (Kind.SIGN_IN_CODE, Channel.EMAIL, "de"): (
        "Ihr Anmeldecode: {code}",
        "Ihr Anmeldecode für {clinic} ist {code}.\n\nEr gilt 10 Minuten. Falls Sie ihn nicht angefordert haben, "
        "ignorieren Sie diese Nachricht.",
    ),
    (Kind.BOOKING_CODE, Channel.SMS, "de"): ("", "{code} ist Ihr Buchungscode für {clinic}. Er gilt 10 Minuten."),
    (Kind.BOOKING_CODE, Channel.EMAIL, "de"): (
        "Ihr Buchungscode: {code}",
        "Ihr Buchungscode für {clinic} ist {code}.\n\nEr gilt 10 Minuten. Falls Sie ihn nicht angefordert haben, "
        "ignorieren Sie diese Nachricht.",
    ),
    (Kind.CARD_LINK, Channel.SMS, "de"): (
        "",
        "{clinic}: Hinterlegen Sie hier eine Karte für Ihre Termine (jetzt wird nichts belastet): {link}",
    ),
    (Kind.CARD_LINK, Channel.EMAIL, "de"): (
        "Karte hinterlegen bei {clinic}",
        "Guten Tag {patient},\n\num eine Karte für Ihre Termine zu hinterlegen, öffnen Sie diesen Link (jetzt wird "
        "nichts belastet):\n{link}\n\nEr gilt bis {date}, {time} Uhr.\n\n{clinic}",
    ),
}

#: Values the preview fills in, per language: as long as real ones, so the segment count is honest.
SAMPLE_VALUES: dict[str, dict[str, str]] = {
    "en": {
        "patient": "Anna",
        "doctor": "Dr Maria Keller",
        "branch": "Riverside",
        "service": "Physiotherapy",
        "date": "Mon 2 Mar",
        "time": "10:30",
        "when": "Mon 2 Mar, 10:30",
        "manage_link": "https://riverside.clinicflow.app/book/manage/Xk3vQ9pL2mR8tY6wZ1aB4cD7eF0gH5jKu2nW8sT4qE1/",
        "amount": "£25.00",
        "clinic": "Riverside Clinics",
        "code": "482913",
        "link": "https://riverside.clinicflow.app/l/Q7mZ2xK9/",
        "text": "",
    },
    "de": {
        "patient": "Anna",
        "doctor": "Dr. Maria Keller",
        "branch": "Mitte",
        "service": "Physiotherapie",
        "date": "Mo. 2. März",
        "time": "10:30",
        "when": "Mo. 2. März, 10:30",
        "manage_link": "https://riverside.clinicflow.app/book/manage/Xk3vQ9pL2mR8tY6wZ1aB4cD7eF0gH5jKu2nW8sT4qE1/",
        "amount": "25,00 €",
        "clinic": "Praxis am Fluss",
        "code": "482913",
        "link": "https://riverside.clinicflow.app/l/Q7mZ2xK9/",
        "text": "",
    },
}


#: The free text of the kinds written from it, for their preview.
SAMPLE_TEXT: dict[tuple[str, str], str] = {
    (Kind.DAILY_SUMMARY, "en"): "9 appointments today, first at 08:30. Yesterday: 1 no-show, 2 cancelled.",
    (Kind.DAILY_SUMMARY, "de"): "Heute 9 Termine, der erste um 08:30. Gestern: 1 nicht erschienen, 2 abgesagt.",
    (Kind.REPLY, "en"): "Thank you: your appointment on Mon 2 Mar, 10:30 is confirmed.",
    (Kind.REPLY, "de"): "Danke: Ihr Termin am Mo. 2. März, 10:30 ist bestätigt.",
}


def sample_values(*, kind: str, language: str) -> dict[str, str]:
    """The values a preview of ``kind`` in ``language`` is filled with."""
    lang = language_of(language)
    return {**SAMPLE_VALUES[lang], "text": SAMPLE_TEXT.get((kind, lang), "")}


def language_of(language: str | None) -> str:
    """The language of the built-in wording for a patient's or chain's language tag: "de-AT" and
    "de_DE" read German; one without wording of its own reads English."""
    base = (language or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else FALLBACK_LANGUAGE


def default_for(*, kind: str, channel: str, language: str) -> tuple[str, str]:
    """The built-in (subject, body) of a kind and channel in a language (English where that language
    has none)."""
    lang = language_of(language)
    found = DEFAULTS.get((kind, channel, lang)) or DEFAULTS.get((kind, channel, FALLBACK_LANGUAGE))
    return found or ("", "{text}")


def wording(*, kind: str, channel: str, language: str) -> tuple[str, str]:
    """The (subject, body) a message of this kind, channel and language is written from: the chain's
    own wording for that language, else the built-in one."""
    lang = language_of(language)
    # read once per dispatch batch (notifications.memo), not once per message
    own = memoized(
        ("wording", kind, channel, lang),
        lambda: Template.objects.filter(kind=kind, channel=channel, language=lang).first(),
    )
    return (own.subject, own.body) if own else default_for(kind=kind, channel=channel, language=lang)


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known ``{name}`` replaced by its value as plain text, in one pass (a value
    is never read as a template); unknown names and anything else stay as written."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values.get(name, "")) if name in PLACEHOLDERS else match.group(0)

    return PLACEHOLDER.sub(value, text)


def render(*, kind: str, channel: str, language: str, values: Mapping[str, str]) -> tuple[str, str]:
    """(subject, body) of a message: the chain's template for (kind, channel, language), else the
    default, with each known ``{name}`` replaced by its value. SMS has no subject; an e-mail's is one
    line (a value with a line break, say a name pasted from a document, would end the header)."""
    own = values.get("wording", "")
    subject, body = wording(kind=own if own in OWN_WORDINGS else kind, channel=channel, language=language)
    return ("" if channel == Channel.SMS else one_line(fill(subject, values))), _tidy(fill(body, values))


#: Messages kept as a reply (a message of no appointment) but worded on their own, named by their
#: context's ``wording``: "you are on the waitlist" has its own subject.
OWN_WORDINGS = frozenset({"waitlist_joined"})


def one_line(text: str) -> str:
    """``text`` on one line: each run of line breaks, tabs and other white space made one space."""
    return " ".join(text.split())


def _tidy(text: str) -> str:
    """No doubled spaces or blank lines where an optional value (``{text}``) was empty."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def template_errors(*, kind: str, text: str) -> list[str]:
    """Why ``text`` cannot be saved as a template of ``kind`` (empty when it can): each ``{...}`` must
    be one of the kind's placeholders; template code (``{{ }}``, ``{% %}``, attribute or format tricks)
    and stray braces are refused, naming the placeholders allowed."""
    allowed = KIND_PLACEHOLDERS.get(kind, tuple(PLACEHOLDERS))
    names = ", ".join("{" + name + "}" for name in allowed)
    errors: list[str] = []
    if re.search(r"\{\{|\}\}|\{%|%\}|\{#|#\}|\$\{", text):
        errors.append(f"Template code is not allowed. Use only these placeholders: {names}.")
    for found in BRACED.findall(text):
        if found in allowed:
            continue
        if found in PLACEHOLDERS:
            errors.append(f"{{{found}}} has no value in this kind of message. Use only these placeholders: {names}.")
        elif not any(e.startswith("Template code") for e in errors):
            errors.append(f"{{{found}}} is not a placeholder. Use only these placeholders: {names}.")
    stray = BRACED.sub("", text)
    if ("{" in stray or "}" in stray) and not errors:
        errors.append(f"Braces are only for placeholders: {names}.")
    return list(dict.fromkeys(errors))


def wording_errors(*, kind: str, channel: str, subject: str, body: str) -> dict[str, list[str]]:
    """Why a wording cannot be saved, per field (empty when it can): the message of each refusal is
    the same whether it is met on Save or on Preview. ``subject`` and ``body`` as typed (trimmed)."""
    fields: dict[str, list[str]] = {}
    if not body:
        fields["body"] = ["Write the message."]
    elif len(body) > (1600 if channel == Channel.SMS else 10_000):
        fields["body"] = [
            "An SMS is at most 1600 characters (ten segments)." if channel == Channel.SMS else "Too long."
        ]
    elif errors := template_errors(kind=kind, text=body):
        fields["body"] = errors
    if channel == Channel.EMAIL:
        if not subject:
            fields["subject"] = ["An e-mail needs a subject."]
        elif len(subject) > 200 or "\n" in subject:
            fields["subject"] = ["The subject is one line of at most 200 characters."]
        elif errors := template_errors(kind=kind, text=subject):
            fields["subject"] = errors
    return fields


@dataclass(frozen=True)
class Segments:
    """How an SMS is split by carriers: its encoding, length in that encoding and segments."""

    encoding: str
    length: int
    segments: int


GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> Segments:
    """Segments of an SMS: GSM-7 (160 characters in one, 153 each when split; €, [, ] and a few
    others count twice) unless a character outside GSM-7 forces UCS-2 (70 in one, 67 each)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        length = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        return Segments("GSM-7", length, 1 if length <= 160 else -(-length // 153))
    length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    return Segments("UCS-2", length, 1 if length <= 70 else -(-length // 67))


@dataclass(frozen=True)
class Preview:
    """A wording filled with sample values, as the settings pages show it before it is saved."""

    subject: str
    body: str
    segments: Segments | None


def preview(
    *, kind: str, channel: str, language: str, subject: str, body: str, values: Mapping[str, str] | None = None
) -> Preview:
    """``subject`` and ``body`` (saved or not) rendered with sample ``values`` (by default the
    built-in ones of ``language``; the pages give the chain's own, notifications.placeholders),
    exactly as a message is rendered; an SMS also says how many segments it takes."""
    values = values if values is not None else sample_values(kind=kind, language=language)
    text = _tidy(fill(body, values))
    if channel == Channel.SMS:
        return Preview(subject="", body=text, segments=sms_segments(text))
    return Preview(subject=fill(subject, values), body=text, segments=None)
