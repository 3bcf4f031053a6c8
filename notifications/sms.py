"""Sending an SMS, behind a backend chosen by settings.SMS_BACKEND (like Django's e-mail): Twilio
through its SDK in production, the console in development, an in-memory outbox in tests that run
no fake provider.

A backend ``send``s one SMS and answers the provider's id, or raises ``SmsRefused`` (permanent: the
number is invalid, unsubscribed, not a mobile...; sending again would fail again) or
``SmsNotSent`` (transient: the provider or the network failed; try again later), or its kind
``SmsOutcomeUnknown`` (the request went out but no answer came back: the provider may hold the
message, so it is not sent again blindly; the recovery sweep asks first). ``recent`` lists
what the provider holds for a number since a moment: the outbox's recovery sweep asks it whether a
message whose worker died mid-send reached the provider (notifications/outbox.py)."""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.request import getproxies

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

log = logging.getLogger(__name__)

#: Twilio error codes that no retry can cure (https://www.twilio.com/docs/api/errors).
PERMANENT_TWILIO_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21214,  # 'To' number cannot be reached
        21217,  # not a valid phone number
        21408,  # region not enabled
        21610,  # the recipient replied STOP (unsubscribed)
        21612,  # cannot route to this number
        21614,  # not a mobile number
        21635,  # not a valid mobile number
        30003,  # unreachable handset
        30004,  # blocked
        30005,  # unknown number
        30006,  # landline or unreachable carrier
    }
)


@dataclass(frozen=True)
class Sms:
    to: str
    body: str
    #: Where the provider reports delivery (Twilio's status callback), if anywhere.
    status_callback: str = ""
    messaging_service_sid: str = ""


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider lists it."""

    provider_id: str
    to: str
    body: str
    created: datetime


class SmsNotSent(Exception):
    """Transient: the provider did not take the message; try again later."""


class SmsOutcomeUnknown(SmsNotSent):
    """The request reached the provider, or may have, and no answer came back (a read timeout, a
    connection dropped mid-answer): the provider may hold the message."""


def _may_have_reached(exc: BaseException) -> bool:
    """Whether a network failure came after the request could have reached the provider: not when
    the connection was never made (refused, unresolved, timed out connecting)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
        return not isinstance(reason, NewConnectionError)
    return False


class SmsRefused(Exception):
    """Permanent: the provider refused the message for good (invalid number, unsubscribed...)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmsBackend(Protocol):
    def send(self, message: Sms) -> str: ...

    def recent(self, *, to: str, since: datetime) -> list[ProviderMessage]: ...


outbox: list[Sms] = []
_sent: list[ProviderMessage] = []
_numbers = itertools.count(1)


class ConsoleBackend:
    """Development: the SMS is written to the log. Nothing can be asked back."""

    def send(self, message: Sms) -> str:
        log.warning("SMS to %s: %s", message.to, message.body)
        return f"console-{next(_numbers)}"

    def recent(self, *, to: str, since: datetime) -> list[ProviderMessage]:
        return []


class LocmemBackend:
    """Tests without a fake provider: ``outbox`` collects what was sent."""

    def send(self, message: Sms) -> str:
        outbox.append(message)
        sid = f"SMlocmem{next(_numbers):024d}"
        _sent.append(ProviderMessage(sid, message.to, message.body, datetime.now(UTC)))
        return sid

    def recent(self, *, to: str, since: datetime) -> list[ProviderMessage]:
        return [m for m in reversed(_sent) if m.to == to and m.created >= since]


class ApiBaseHttpClient(TwilioHttpClient):
    """The SDK's HTTP client (one keep-alive session), sending to ``api_base`` instead of
    api.twilio.com when one is given: the local fake in tests and the bench."""

    def __init__(self, *, api_base: str | None, timeout: float) -> None:
        # The environment's proxies are read once here, not on every request (requests' trust_env
        # walks os.environ per call: a millisecond a message at the outbox's rate). A local fake
        # is reached directly.
        super().__init__(pool_connections=True, timeout=timeout, proxy={} if api_base else getproxies())
        if self.session is not None:
            self.session.trust_env = False
        self.api_base = api_base.rstrip("/") if api_base else None
        if self.api_base and self.session is not None:
            from requests.adapters import HTTPAdapter

            self.session.mount("http://", HTTPAdapter(pool_maxsize=32))

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: object, **kwargs: object
    ) -> Response:
        if self.api_base and url.startswith("https://"):
            url = self.api_base + "/" + url.split("/", 3)[3]
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


_clients: dict[tuple[str, str, str | None, float], Client] = {}
_clients_lock = threading.Lock()


def twilio_client() -> Client:
    """The process's one Twilio client (per account, base and timeout: tests change them)."""
    key = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE,
        float(settings.TWILIO_TIMEOUT_SECONDS),
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                http = ApiBaseHttpClient(api_base=settings.TWILIO_API_BASE, timeout=settings.TWILIO_TIMEOUT_SECONDS)
                client = _clients[key] = Client(
                    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http
                )
    return client


class TwilioBackend:
    """Twilio's Programmable Messaging through a Messaging Service, through the official SDK."""

    def send(self, message: Sms) -> str:
        options: dict[str, str] = {}
        if message.status_callback:
            options["status_callback"] = message.status_callback
        service = message.messaging_service_sid or settings.TWILIO_MESSAGING_SERVICE_SID
        try:
            created = twilio_client().messages.create(
                to=message.to, body=message.body, messaging_service_sid=service, **options
            )
        except TwilioRestException as exc:
            if exc.code in PERMANENT_TWILIO_CODES:
                raise SmsRefused(f"Twilio {exc.code}: {exc.msg}", code=exc.code) from exc
            raise SmsNotSent(f"Twilio {exc.status} {exc.code or ''}: {exc.msg}".strip()) from exc
        except (TwilioException, OSError) as exc:  # the network, a timeout (requests' errors are OSErrors)
            if _may_have_reached(exc):
                raise SmsOutcomeUnknown(f"Twilio did not answer: {exc}") from exc
            raise SmsNotSent(f"Twilio not reached: {exc}") from exc
        return str(created.sid)

    def recent(self, *, to: str, since: datetime) -> list[ProviderMessage]:
        """What Twilio holds for ``to`` created since ``since``, newest first (a message still
        queued has no date_sent yet, so the list is read by number and cut by date_created)."""
        found: list[ProviderMessage] = []
        try:
            for item in twilio_client().messages.stream(to=to, page_size=50):
                created = item.date_created
                if created is not None and created < since:
                    break
                found.append(ProviderMessage(str(item.sid), str(item.to), str(item.body or ""), created or since))
        except (TwilioException, OSError) as exc:
            raise SmsNotSent(f"Twilio not reached: {exc}") from exc
        return found


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend


def send_sms(*, to: str, body: str) -> None:
    """Send one SMS at once, outside the outbox (kept for the portal's codes until they move to it)."""
    sms_backend().send(Sms(to=to, body=body))
