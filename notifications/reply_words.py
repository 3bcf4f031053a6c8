"""The automatic answers to patients' texts (C, X, STOP, START, help), in the languages the message
templates have (notifications.templates.LANGUAGES: English and German), in the patient's language
(else the chain's). Names and numbers are values put in, never read as wording."""

from __future__ import annotations

from dataclasses import dataclass

from config.validation import phone_shown
from notifications.templates import language_of
from scheduling.models import Appointment, Status
from tenants.org.models import Branch
from tenants.org.selectors import phone_region

ANSWERS: dict[str, dict[str, str]] = {
    "en": {
        "stop": "{clinic}: you will get no more texts from us. Reply START to get them again.",
        "start": "{clinic}: you will get our texts again. Reply STOP to stop.",
        "unknown": "{clinic}: we could not find this number in our records. {call}",
        "help": "{clinic}: reply C to confirm your appointment, X to cancel it, or STOP to stop texts. {call}",
        "none": "{clinic}: we found no upcoming appointment for this number. {call}",
        "several": (
            "{clinic}: this number has {count} upcoming appointments. To change one, please use the link in its "
            "booking message. {call}"
        ),
        "off": "{clinic}: your appointment on {when} {state}. {call}",
        "started": "has already started",
        "is": "is {status}",
        "already": "{clinic}: your appointment on {when} is already confirmed. See you then.",
        "confirmed": "{clinic}: thank you, your appointment on {when} is confirmed.",
        "too_late": "{clinic}: your appointment on {when} was not cancelled. {reason}",
        "cancelled": "{clinic}: your appointment on {when} is cancelled.",
        "call": "Please call {branch} on {number}.",
        "call_clinic": "Please call the clinic.",
    },
    "de": {
        "stop": "{clinic}: Sie erhalten keine SMS mehr von uns. Antworten Sie START, um sie wieder zu erhalten.",
        "start": "{clinic}: Sie erhalten wieder SMS von uns. Antworten Sie STOP, um sie abzubestellen.",
        "unknown": "{clinic}: Wir konnten diese Nummer nicht finden. {call}",
        "help": (
            "{clinic}: Antworten Sie C, um Ihren Termin zu bestätigen, X, um ihn abzusagen, oder STOP, um keine "
            "SMS mehr zu erhalten. {call}"
        ),
        "none": "{clinic}: Wir haben keinen bevorstehenden Termin zu dieser Nummer gefunden. {call}",
        "several": (
            "{clinic}: Zu dieser Nummer gibt es {count} bevorstehende Termine. Bitte ändern Sie einen über den "
            "Link in seiner Buchungsnachricht. {call}"
        ),
        "off": "{clinic}: Ihr Termin am {when} {state}. {call}",
        "started": "hat bereits begonnen",
        "is": "ist {status}",
        "already": "{clinic}: Ihr Termin am {when} ist bereits bestätigt. Bis dann.",
        "confirmed": "{clinic}: Danke, Ihr Termin am {when} ist bestätigt.",
        "too_late": (
            "{clinic}: Ihr Termin am {when} wurde nicht abgesagt: so kurz vorher ist das per SMS nicht mehr "
            "möglich. {call}"
        ),
        "cancelled": "{clinic}: Ihr Termin am {when} ist abgesagt.",
        "call": "Bitte rufen Sie {branch} unter {number} an.",
        "call_clinic": "Bitte rufen Sie die Praxis an.",
    },
}

#: An appointment's state in German, where the answer says what became of it.
STATUS_DE = {
    Status.CANCELLED: "abgesagt",
    Status.COMPLETED: "abgeschlossen",
    Status.NO_SHOW: "als nicht wahrgenommen vermerkt",
    Status.CHECKED_IN: "bereits begonnen",
}


@dataclass(frozen=True)
class Voice:
    """How the chain answers one number: its name, in the language of the number's patient."""

    clinic: str
    language: str

    @classmethod
    def of(cls, *, clinic: str, language: str | None) -> Voice:
        return cls(clinic=clinic, language=language_of(language))

    def say(self, key: str, **values: object) -> str:
        return ANSWERS[self.language][key].format(clinic=self.clinic, **values)

    def call(self, branch: Branch | None) -> str:
        """Whom the patient calls: the branch and its number, or the clinic."""
        if branch is not None and branch.phone:
            number = phone_shown(branch.phone, region=phone_region(timezone_name=branch.timezone))
            return ANSWERS[self.language]["call"].format(branch=branch.name, number=number)
        return ANSWERS[self.language]["call_clinic"]

    def status(self, appointment: Appointment) -> str:
        if self.language == "de":
            return STATUS_DE.get(Status(appointment.status), "nicht mehr änderbar")
        return appointment.get_status_display().lower()


__all__ = ["ANSWERS", "Voice"]
