"""A small fake of Twilio's Messages API on 127.0.0.1, for tests and the outbox bench. The real
`twilio` SDK is pointed at it through notifications.sms.ApiBaseHttpClient (settings.TWILIO_API_BASE).

It speaks what Twilio speaks for messages: ``POST /2010-04-01/Accounts/{sid}/Messages.json``
(form-encoded ``To``, ``Body``, ``MessagingServiceSid``, ``StatusCallback``) answers 201 with a new
``SM…`` sid and status ``accepted``; ``GET`` of the same path lists messages newest first, filtered
by ``To`` and ``DateSent`` / ``DateSent>`` / ``DateSent<``, paged with ``PageSize``, ``Page`` and
``PageToken`` (``next_page_uri``), so the SDK's ``stream``/``list`` work; ``GET .../Messages/{sid}.json``
fetches one. Errors come in Twilio's shape ``{"code", "message", "more_info", "status"}``.

Error injection, by recipient number: ``fail_permanently(to, code=21211)`` (every request to it is
refused with 400 and that code: 21211 invalid number, 21610 unsubscribed, 21614 not a mobile),
``fail_transiently(to, times, status=500)`` (the next ``times`` requests answer 500 or 429, then it
works), ``delay(to, seconds)`` (the message is accepted and recorded, and the answer held back for
``seconds``: a test kills the sending worker meanwhile). ``received`` records every accepted message.

Run on its own (the bench) with ``python -m tests.fakes.twilio_server PORT``; ``GET /_fake/received``
then answers the record as JSON, ``POST /_fake/reset`` empties it.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
# The version of Twilio's REST API the SDK speaks (a name, not a date of the run).
API_VERSION = "/2010-04-01".lstrip("/")
#: Twilio's wording of the refusals the fake can inject.
ERRORS = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
}


@dataclass
class Received:
    """One message the fake accepted."""

    sid: str
    to: str
    body: str
    messaging_service_sid: str
    status_callback: str
    created: datetime
    account_sid: str = ACCOUNT_SID

    def resource(self) -> dict[str, Any]:
        stamp = format_datetime(self.created)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": stamp,
            "date_sent": stamp,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None,
            "messaging_service_sid": self.messaging_service_sid or None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": "accepted",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


@dataclass
class Faults:
    permanent: dict[str, int] = field(default_factory=dict)
    transient: dict[str, list[int]] = field(default_factory=dict)  # to -> [times left, status]
    delays: dict[str, float] = field(default_factory=dict)


class FakeTwilio:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.faults = Faults()
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- driving the fake ------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeTwilio:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.faults = Faults()
            self.requests = 0

    def fail_permanently(self, to: str, code: int = 21211) -> None:
        self.faults.permanent[to] = code

    def fail_transiently(self, to: str, times: int, status: int = 500) -> None:
        self.faults.transient[to] = [times, status]

    def delay(self, to: str, seconds: float) -> None:
        self.faults.delays[to] = seconds

    def sent_to(self, to: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.to == to]

    # --- the API ---------------------------------------------------------------------------------
    def create(self, account: str, form: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        to = form.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body"):
            return _error(400, 21602, "Message body is required.")
        with self.lock:
            if to in self.faults.permanent:
                return _error(400, self.faults.permanent[to])
            left = self.faults.transient.get(to)
            if left and left[0] > 0:
                left[0] -= 1
                return _error(left[1], 20429 if left[1] == 429 else 20500)
            message = Received(
                sid="SM" + secrets.token_hex(16),
                to=to,
                body=form["Body"],
                messaging_service_sid=form.get("MessagingServiceSid", ""),
                status_callback=form.get("StatusCallback", ""),
                created=datetime.now(UTC).replace(microsecond=0),
                account_sid=account,
            )
            self.received.append(message)
            delay = self.faults.delays.get(to, 0.0)
        return 201, message.resource(), delay

    def fetch(self, sid: str) -> tuple[int, dict[str, Any], float]:
        with self.lock:
            found = next((r for r in self.received if r.sid == sid), None)
        if found is None:
            return _error(404, 20404, f"The requested resource {sid} was not found")
        return 200, found.resource(), 0.0

    def page(self, account: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        size = max(1, min(int(query.get("PageSize", "50")), 1000))
        number = int(query.get("Page", "0"))
        with self.lock:
            rows = [r for r in reversed(self.received) if r.account_sid == account]
        if query.get("To"):
            rows = [r for r in rows if r.to == query["To"]]
        for name, keep in (
            ("DateSent", lambda d, at: d.date() == at.date() if _is_day(query["DateSent"]) else d == at),
            ("DateSent>", lambda d, at: d >= at),
            ("DateSent<", lambda d, at: d <= at),
        ):
            if query.get(name):
                at = _parse_when(query[name])
                rows = [r for r in rows if keep(r.created, at)]
        if query.get("PageToken"):  # PAsid: the page starts after that message
            after = query["PageToken"][2:]
            index = next((i for i, r in enumerate(rows) if r.sid == after), len(rows) - 1)
            rows = rows[index + 1 :]
            start = number * size
        else:
            rows, start = rows[number * size :], number * size
        chunk, more = rows[:size], len(rows) > size
        kept = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}
        next_uri = None
        if more:
            next_uri = f"{path}?" + urlencode({**kept, "Page": number + 1, "PageToken": "PA" + chunk[-1].sid})
        return (
            200,
            {
                "messages": [r.resource() for r in chunk],
                "page": number,
                "page_size": size,
                "start": start,
                "end": start + len(chunk) - 1,
                "uri": f"{path}?{urlencode(query)}",
                "first_page_uri": f"{path}?" + urlencode({**kept, "Page": 0}),
                "next_page_uri": next_uri,
                "previous_page_uri": None,
            },
            0.0,
        )


def _is_day(text: str) -> bool:
    return len(text) == 10


def _parse_when(text: str) -> datetime:
    if _is_day(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return parsedate_to_datetime(text)


def _error(status: int, code: int, message: str | None = None) -> tuple[int, dict[str, Any], float]:
    return (
        status,
        {
            "code": code,
            "message": message or ERRORS.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        0.0,
    )


_MESSAGES = f"/{API_VERSION}/Accounts/"


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the SDK's session reuses its connection
        # One write per answer, sent at once: headers and body written apart meet the client's
        # delayed ACK (Nagle), 40 ms a request.
        disable_nagle_algorithm = True
        wbufsize = 1 << 16

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: object, delay: float = 0.0) -> None:
            data = json.dumps(payload).encode()
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:  # the client is gone (a test killed it while the answer was held back)
                self.close_connection = True

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            with fake.lock:
                fake.requests += 1
            path = parts.path
            if path == "/_fake/received":
                with fake.lock:
                    rows = [[r.sid, r.to, r.status_callback, r.body] for r in fake.received]
                return self._answer(200, rows)
            if path == "/_fake/reset":
                fake.reset()
                return self._answer(200, {})
            if not path.startswith(_MESSAGES):
                return self._answer(*_error(404, 20404, "Not found")[:2])
            account, _, rest = path[len(_MESSAGES) :].partition("/")
            if rest == "Messages.json":
                if method == "POST":
                    return self._answer(*fake.create(account, dict(parse_qsl(raw, keep_blank_values=True))))
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                return self._answer(*fake.page(account, path, query))
            if rest.startswith("Messages/") and rest.endswith(".json") and method == "GET":
                return self._answer(*fake.fetch(rest[len("Messages/") : -len(".json")]))
            return self._answer(*_error(404, 20404, "Not found")[:2])

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


# --- replies (REPLIES: a helper that signs a status callback / inbound webhook as Twilio does)
def webhook_signature(url: str, params: dict[str, str], token: str) -> str:
    """X-Twilio-Signature of a webhook Twilio posts to ``url`` with the form ``params``, as Twilio computes
    it (the SDK's RequestValidator: HMAC-SHA1 of the URL and the sorted parameters, with the auth token).
    tests/notifications/twilio_signing.py posts signed inbound texts and delivery reports with it."""
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(token).compute_signature(url, params))


if __name__ == "__main__":
    server = FakeTwilio().start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.url, flush=True)
    threading.Event().wait()
