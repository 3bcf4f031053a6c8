"""Sending an SMS, behind a backend chosen by settings.SMS_BACKEND (like Django's e-mail):
the console in development, an in-memory outbox in tests. The Twilio backend arrives with the
notifications module proper."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sms:
    to: str
    body: str


outbox: list[Sms] = []


class ConsoleBackend:
    def send(self, message: Sms) -> None:
        log.warning("SMS to %s: %s", message.to, message.body)


class LocmemBackend:
    def send(self, message: Sms) -> None:
        outbox.append(message)


def send_sms(*, to: str, body: str) -> None:
    import_string(settings.SMS_BACKEND)().send(Sms(to=to, body=body))
