"""A small stateful fake of the Stripe API on 127.0.0.1, for tests (and anything else that must not
reach the internet). The real `stripe` SDK is pointed at it with
``StripeClient(key, base_addresses={"api": fake.url})``.

It speaks what Stripe speaks: form-encoded requests (``a[b][c]=v`` nesting), JSON answers in
Stripe's shapes, errors as ``{"error": {"type", "code", "message", "param"}}``, the
``Stripe-Account`` header (objects belong to the platform or to one connected account), and the
``Idempotency-Key`` header (the same key answers the same object; the same key with other
parameters is refused as Stripe does).

Resources: accounts (create, retrieve), account_links (create), payment_intents (create with
``confirm``: ``pm_card_chargeDeclined`` declines with 402 ``card_declined``, any other payment method
succeeds; retrieve, list), checkout/sessions (create, retrieve), refunds (create, full or partial;
list), balance_transactions and payouts (list, ``created[gte|gt|lte|lt]`` and ``payout`` filters).
A success makes a charge and a balance transaction (fee 2.9 % + 30), a refund a negative one, on
the account named by Stripe-Account. Lists page the Stripe way (``limit``, ``starting_after``,
``ending_before``, ``has_more``, newest first), so the SDK's auto-pagination works. More resources
are added with ``@route`` and ``fake._list``.

Tests drive the world with ``complete_onboarding``, ``add_object`` (a payout, a stray balance
transaction...), ``pay_checkout_session`` (the patient pays on Checkout), ``event`` (a Connect
event, a snapshot of an object), ``sign`` and ``post_event``: an event is signed with a webhook
secret as Stripe signs it. ``calls``/``requests``/``link_params`` show what the app sent.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

JSON = dict[str, Any]
Handler = Callable[["FakeStripe", "Call"], tuple[int, JSON]]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []

#: Object id prefixes, as Stripe's.
PREFIX = {
    "account": "acct",
    "account_link": "al",
    "balance_transaction": "txn",
    "payment_intent": "pi",
    "checkout.session": "cs_test",
    "refund": "re",
    "payout": "po",
    "charge": "ch",
    "event": "evt",
    "customer": "cus",
    "payment_method": "pm",
    "setup_intent": "seti",
}


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^{pattern}$"), handler))
        return handler

    return register


def decode_form(body: str) -> JSON:
    """``a[b][0]=x&c=y`` -> ``{"a": {"b": ["x"]}, "c": "y"}``: the nesting the SDK encodes."""
    out: JSON = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key) or [key]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(out)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        kind = "idempotency_error" if code == "idempotency_key_in_use" else "invalid_request_error"
        self.status = status
        self.body = {"error": {"type": kind, "code": code, "message": message, "param": param}}


class Call:
    """One request as a handler sees it."""

    def __init__(self, method: str, path: str, query: JSON, params: JSON, account: str | None, match: re.Match[str]):
        self.method = method
        self.path = path
        self.query = query
        self.params = params
        self.account = account
        self.match = match


class FakeStripe:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        # (owner account or "platform", object type) -> id -> object, in creation order.
        self.objects: dict[tuple[str, str], dict[str, JSON]] = {}
        self.idempotent: dict[tuple[str, str], tuple[str, int, JSON]] = {}
        self.requests: list[tuple[str, str, str | None, str | None]] = []  # method, path, account, idem key
        self.link_params: list[JSON] = []  # what each account link was asked with
        self._ids = itertools.count(1)
        self._clock = itertools.count(int(time.time()))
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeStripe:
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_DELETE(self) -> None:
                fake._serve(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="fake-stripe", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server, "start() the fake first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.objects.clear()
            self.idempotent.clear()
            self.requests.clear()
            self.link_params.clear()

    # -- the world, for tests -------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        return f"{PREFIX.get(kind, kind)}_{next(self._ids):06d}{secrets.token_hex(6)}"

    def now(self) -> int:
        """Strictly increasing timestamps, so ordering by `created` is stable."""
        return next(self._clock)

    def store(self, owner: str | None, obj: JSON) -> JSON:
        with self.lock:
            self.objects.setdefault((owner or "platform", obj["object"]), {})[obj["id"]] = obj
        return obj

    def get(self, owner: str | None, kind: str, object_id: str) -> JSON:
        with self.lock:
            found = self.objects.get((owner or "platform", kind), {}).get(object_id)
        if found is None:
            raise StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id")
        return found

    def add_object(self, kind: str, *, account: str | None = None, **fields: Any) -> JSON:
        """Put an object straight into the world (a balance transaction, a payout...)."""
        obj = {"id": self.new_id(kind), "object": kind, "created": self.now(), "livemode": False, **fields}
        return self.store(account, obj)

    def complete_onboarding(self, account_id: str) -> JSON:
        """What happens when the chain's owner finishes Stripe's onboarding form."""
        with self.lock:
            account = self.get(None, "account", account_id)
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["requirements"] = _requirements([])
            return account

    def event(self, kind: str, obj: JSON, *, account: str | None = None, created: int | None = None) -> JSON:
        """A Connect event about ``obj`` (a snapshot: later changes to the object do not show)."""
        return {
            "id": self.new_id("event"),
            "object": "event",
            "api_version": stripe.api_version,  # the version the SDK in use speaks
            "created": created if created is not None else self.now(),
            "type": kind,
            "account": account,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }

    @staticmethod
    def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
        """The ``Stripe-Signature`` header Stripe would send with ``payload``."""
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={t},v1={mac}"

    def post_event(self, url: str, event: JSON, secret: str, *, host: str | None = None) -> tuple[int, bytes]:
        """Deliver ``event`` to a webhook endpoint over HTTP, signed as Stripe would."""
        payload = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", "Stripe-Signature": self.sign(payload, secret)}
        if host:
            headers["Host"] = host
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")  # noqa: S310 (a local URL)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a local URL)
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def calls(self, method: str, path_prefix: str) -> list[tuple[str, str, str | None, str | None]]:
        with self.lock:
            return [r for r in self.requests if r[0] == method and r[1].startswith(path_prefix)]

    # -- HTTP -----------------------------------------------------------------------------------
    def _serve(self, http: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length).decode() if length else ""
        if parts.path.startswith("/pay/"):  # Stripe's hosted Checkout page, for browsers (checkout12's section)
            hosted_checkout(self, http, method, parts.path, body)
            return
        account = http.headers.get("Stripe-Account")
        key = http.headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append((method, parts.path, account, key))
        try:
            if not (http.headers.get("Authorization") or "").startswith("Bearer sk_"):
                raise StripeError(401, "Invalid API Key provided.")
            params = decode_form(body) if method == "POST" else {}
            status, answer = self._answer(method, parts.path, decode_form(parts.query), params, account, key, body)
        except StripeError as error:
            status, answer = error.status, error.body
        data = json.dumps(answer).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
        if key:
            http.send_header("Idempotency-Key", key)
        http.end_headers()
        http.wfile.write(data)

    def _answer(
        self, method: str, path: str, query: JSON, params: JSON, account: str | None, key: str | None, body: str
    ) -> tuple[int, JSON]:
        for route_method, pattern, handler in ROUTES:
            match = pattern.match(path)
            if route_method == method and match:
                call = Call(method, path, query, params, account, match)
                if method != "POST" or not key:
                    return handler(self, call)
                with self.lock:  # one answer per key, even for two requests at once
                    remembered = self.idempotent.get((account or "platform", key))
                    if remembered:
                        if remembered[0] != f"{path}?{body}":
                            raise StripeError(
                                400,
                                "Keys for idempotent requests can only be used with the same parameters"
                                " they were first used with.",
                                code="idempotency_key_in_use",
                            )
                        return remembered[1], remembered[2]
                    status, answer = handler(self, call)
                    if status < 500:
                        self.idempotent[(account or "platform", key)] = (f"{path}?{body}", status, answer)
                    return status, answer
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _list(self, call: Call, kind: str, keep: Callable[[JSON], bool] = lambda _: True) -> tuple[int, JSON]:
        """A Stripe list of the caller's ``kind`` objects, newest first, paged by cursor."""
        with self.lock:
            stored = self.objects.get((call.account or "platform", kind), {})
            objects = list(stored.values())
            positions = list(stored) if call.query.get("starting_after") else []
        try:
            limit = max(1, min(100, int(call.query.get("limit", 10))))
        except ValueError as error:
            raise StripeError(400, "Invalid integer: limit", param="limit") from error
        if (after := call.query.get("starting_after")) or not call.query.get("ending_before"):
            # Walk back from the cursor only as far as one page needs: a list of 100k objects is
            # paged through in linear time.
            start = len(objects)
            if after:
                if after not in stored or not keep(stored[after]):
                    raise StripeError(
                        404, f"No such {kind}: '{after}'", code="resource_missing", param="starting_after"
                    )
                start = positions.index(after)
            page = []
            for i in range(start - 1, -1, -1):
                if keep(objects[i]):
                    page.append(objects[i])
                    if len(page) > limit:
                        break
            return 200, {"object": "list", "url": call.path, "has_more": len(page) > limit, "data": page[:limit]}
        rows = [o for o in reversed(objects) if keep(o)]
        ids = [o["id"] for o in rows]
        if before := call.query.get("ending_before"):
            if before not in ids:
                raise StripeError(404, f"No such {kind}: '{before}'", code="resource_missing", param="ending_before")
            rows = rows[: ids.index(before)][-limit:]
        page = rows[:limit]
        return 200, {"object": "list", "url": call.path, "has_more": len(rows) > limit, "data": page}


def _requirements(due: list[str]) -> JSON:
    return {
        "currently_due": due,
        "eventually_due": due,
        "past_due": [],
        "pending_verification": [],
        "disabled_reason": "requirements.past_due" if due else None,
        "current_deadline": None,
        "errors": [],
    }


def _created_filter(call: Call) -> Callable[[JSON], bool]:
    created = call.query.get("created")
    bounds = created if isinstance(created, dict) else {}
    payout = call.query.get("payout")

    def keep(obj: JSON) -> bool:
        c = obj.get("created", 0)
        return (
            c >= int(bounds.get("gte", c))
            and c > int(bounds.get("gt", c - 1))
            and c <= int(bounds.get("lte", c))
            and c < int(bounds.get("lt", c + 1))
            and (payout is None or obj.get("payout") == payout)
        )

    return keep


# -- accounts ------------------------------------------------------------------------------------
@route("POST", "/v1/accounts")
def account_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    if call.account:
        raise StripeError(400, "A connected account cannot create accounts.")
    kind = call.params.get("type", "standard")
    if kind not in ("standard", "express", "custom"):
        raise StripeError(400, f"Invalid type: {kind}", param="type")
    account = {
        "id": fake.new_id("account"),
        "object": "account",
        "type": kind,
        "country": call.params.get("country", "DE"),
        "email": call.params.get("email"),
        "default_currency": "eur",
        "business_profile": call.params.get("business_profile", {}),
        "capabilities": {name: "inactive" for name in call.params.get("capabilities", {})},
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "requirements": _requirements(["business_profile.url", "external_account", "tos_acceptance.date"]),
        "metadata": call.params.get("metadata", {}),
        "created": fake.now(),
    }
    return 200, fake.store(None, account)


@route("GET", r"/v1/accounts/(?P<id>[^/]+)")
def account_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    account_id = call.match["id"]
    if call.account and call.account != account_id:
        raise StripeError(403, "The provided key does not have access to this account.")
    return 200, fake.get(None, "account", account_id)


@route("POST", "/v1/account_links")
def account_link_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    for param in ("account", "type", "refresh_url", "return_url"):
        if not call.params.get(param):
            raise StripeError(400, f"Missing required param: {param}.", param=param)
    fake.get(None, "account", call.params["account"])
    fake.link_params.append(call.params)
    created = fake.now()
    link = {
        "object": "account_link",
        "created": created,
        "expires_at": created + 300,
        "url": f"{fake.url}/setup/{call.params['account']}/{secrets.token_urlsafe(12)}",
    }
    return 200, link


# -- money, for the next sessions: lists page like Stripe's --------------------------------------
@route("GET", "/v1/balance_transactions")
def balance_transaction_list(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return expanded(fake, call, *fake._list(call, "balance_transaction", _created_filter(call)))


@route("GET", "/v1/payouts")
def payout_list(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return fake._list(call, "payout", _created_filter(call))


# -- payments: the shapes the next pieces (deposits, desk card payments, refunds) start from ------
def _amount(call: Call, name: str = "amount") -> int:
    try:
        value = int(call.params[name])
    except (KeyError, ValueError) as error:
        raise StripeError(400, f"Missing or invalid integer: {name}", param=name) from error
    if value < 1:
        raise StripeError(400, "Amount must be at least 1.", param=name)
    return value


def settle(fake: FakeStripe, intent: JSON, account: str | None) -> JSON:
    """A payment intent succeeds: its charge and balance transaction (2.9 % + 30 fee) are made."""
    txn = fake.add_object(
        "balance_transaction",
        account=account,
        amount=intent["amount"],
        currency=intent["currency"],
        fee=intent["amount"] * 29 // 1000 + 30,
        net=intent["amount"] - (intent["amount"] * 29 // 1000 + 30),
        type="charge",
        reporting_category="charge",
        source=None,
        payout=None,
        status="pending",
    )
    charge = fake.add_object(
        "charge",
        account=account,
        amount=intent["amount"],
        currency=intent["currency"],
        payment_intent=intent["id"],
        balance_transaction=txn["id"],
        amount_refunded=0,
        refunded=False,
        paid=True,
        status="succeeded",
        metadata=intent["metadata"],
    )
    txn["source"] = charge["id"]
    intent.update(status="succeeded", latest_charge=charge["id"], amount_received=intent["amount"])
    return intent


@route("POST", "/v1/payment_intents")
def payment_intent_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    intent = {
        "id": fake.new_id("payment_intent"),
        "object": "payment_intent",
        "amount": _amount(call),
        "currency": str(call.params.get("currency", "eur")).lower(),
        "status": "requires_payment_method",
        "client_secret": f"pi_secret_{secrets.token_hex(8)}",
        "customer": call.params.get("customer"),
        "payment_method": call.params.get("payment_method"),
        "metadata": call.params.get("metadata", {}),
        "latest_charge": None,
        "amount_received": 0,
        "created": fake.now(),
        "livemode": False,
    }
    fake.store(call.account, intent)
    if call.params.get("confirm") == "true" and intent["payment_method"]:
        if declines(fake, call.account, intent["payment_method"]):
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {"code": "card_declined", "decline_code": "generic_decline"}
            raise StripeError(402, "Your card was declined.", code="card_declined")
        settle(fake, intent, call.account)
    return 200, intent


@route("GET", r"/v1/payment_intents/(?P<id>[^/]+)")
def payment_intent_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, fake.get(call.account, "payment_intent", call.match["id"])


@route("GET", "/v1/payment_intents")
def payment_intent_list(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return fake._list(call, "payment_intent", _created_filter(call))


@route("POST", "/v1/checkout/sessions")
def checkout_session_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    items = call.params.get("line_items") or []
    total = sum(int(item.get("price_data", {}).get("unit_amount", 0)) * int(item.get("quantity", 1)) for item in items)
    session = {
        "id": fake.new_id("checkout.session"),
        "object": "checkout.session",
        "mode": call.params.get("mode", "payment"),
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": total,
        "currency": str((items[0].get("price_data", {}) if items else {}).get("currency", "eur")).lower(),
        "client_reference_id": call.params.get("client_reference_id"),
        "metadata": call.params.get("metadata", {}),
        "payment_intent": None,
        "success_url": call.params.get("success_url"),
        "cancel_url": call.params.get("cancel_url"),
        "customer_email": call.params.get("customer_email"),
        "expires_at": int(call.params.get("expires_at") or fake.now() + 1800),
        "_intent_metadata": (call.params.get("payment_intent_data") or {}).get("metadata"),
        "customer": call.params.get("customer"),
        "_setup_future_usage": (call.params.get("payment_intent_data") or {}).get("setup_future_usage"),
        "created": fake.now(),
        "livemode": False,
    }
    session["url"] = f"{fake.url}/pay/{session['id']}"
    if session["mode"] == "setup":  # a SetupIntent of its own (setup14's section)
        setup_session_prepare(fake, call, session)
    return 200, fake.store(call.account, session)


@route("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)")
def checkout_session_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, fake.get(call.account, "checkout.session", call.match["id"])


@route("POST", "/v1/refunds")
def refund_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    intent = fake.get(call.account, "payment_intent", str(call.params.get("payment_intent", "")))
    if intent["status"] != "succeeded":
        raise StripeError(400, "This PaymentIntent has no successful charge to refund.", param="payment_intent")
    charge = fake.get(call.account, "charge", intent["latest_charge"])
    amount = _amount(call) if "amount" in call.params else charge["amount"] - charge["amount_refunded"]
    if amount > charge["amount"] - charge["amount_refunded"]:
        raise StripeError(400, "Refund amount is greater than the unrefunded charge.", code="amount_too_large")
    txn = fake.add_object(
        "balance_transaction",
        account=call.account,
        amount=-amount,
        currency=charge["currency"],
        fee=0,
        net=-amount,
        type="refund",
        reporting_category="refund",
        source=None,
        payout=None,
        status="pending",
    )
    refund = fake.add_object(
        "refund",
        account=call.account,
        amount=amount,
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=intent["id"],
        balance_transaction=txn["id"],
        reason=call.params.get("reason"),
        metadata=call.params.get("metadata", {}),
        status="succeeded",
    )
    txn["source"] = refund["id"]
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    return 200, refund


@route("GET", "/v1/refunds")
def refund_list(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return fake._list(call, "refund", _created_filter(call))


def pay_checkout_session(fake: FakeStripe, session_id: str, *, account: str | None) -> JSON:
    """What happens when the patient pays on Stripe's Checkout page: the session completes with a
    succeeded payment intent (send ``checkout.session.completed`` with ``fake.event`` after)."""
    with fake.lock:
        session = fake.get(account, "checkout.session", session_id)
        intent = {
            "id": fake.new_id("payment_intent"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "status": "processing",
            "metadata": session.get("_intent_metadata") or session["metadata"],
            "created": fake.now(),
            "livemode": False,
        }
        if session.get("customer") and session.get("_setup_future_usage"):  # the card is saved on the Customer
            intent.update(
                customer=session["customer"],
                setup_future_usage=session["_setup_future_usage"],
                payment_method=save_card(fake, account=account, customer=session["customer"]),
            )
        fake.store(account, settle(fake, intent, account))
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return session


# --- fees12: customers, payment methods (cards), setup intents --------------------------------------
#: Stripe's test payment methods: what each stands for (brand, last four) and whether charges decline.
TEST_CARDS: dict[str, tuple[str, str, bool]] = {
    "pm_card_visa": ("visa", "4242", False),
    "pm_card_mastercard": ("mastercard", "4444", False),
    "pm_card_amex": ("amex", "8431", False),
    "pm_card_chargeDeclined": ("visa", "0002", True),
}


def declines(fake: FakeStripe, account: str | None, payment_method: str) -> bool:
    """A charge to ``payment_method`` declines: Stripe's decline test card, or a card made from it."""
    if payment_method == "pm_card_chargeDeclined":
        return True
    with fake.lock:
        stored = fake.objects.get((account or "platform", "payment_method"), {}).get(payment_method)
    return bool(stored and stored.get("_declines"))


def _card_method(fake: FakeStripe, account: str | None, test_card: str, customer: str | None) -> JSON:
    """A new card payment method made from one of Stripe's test cards (as attaching one does)."""
    if test_card not in TEST_CARDS:
        raise StripeError(404, f"No such PaymentMethod: '{test_card}'", code="resource_missing", param="id")
    brand, last4, declined = TEST_CARDS[test_card]
    method = {
        "id": fake.new_id("payment_method"),
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "card": {
            "brand": brand,
            "last4": last4,
            "exp_month": 12,
            "exp_year": time.gmtime().tm_year + 3,
            "country": "GB",
            "funding": "credit",
        },
        "billing_details": {"name": None, "email": None},
        "metadata": {},
        "created": fake.now(),
        "livemode": False,
        "_declines": declined,
    }
    return fake.store(account, method)


def _public(method: JSON) -> JSON:
    return {k: v for k, v in method.items() if not k.startswith("_")}


def save_card(fake: FakeStripe, *, account: str | None, customer: str, test_card: str = "pm_card_visa") -> str:
    """What happens when the patient saves a card on Stripe's page (a setup that succeeded): a card
    payment method attached to ``customer``; its id is returned."""
    fake.get(account, "customer", customer)
    return str(_card_method(fake, account, test_card, customer)["id"])


@route("POST", "/v1/customers")
def customer_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    customer = {
        "id": fake.new_id("customer"),
        "object": "customer",
        "name": call.params.get("name"),
        "email": call.params.get("email"),
        "metadata": call.params.get("metadata", {}),
        "invoice_settings": {"default_payment_method": None},
        "created": fake.now(),
        "livemode": False,
    }
    return 200, fake.store(call.account, customer)


@route("GET", r"/v1/customers/(?P<id>[^/]+)")
def customer_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, fake.get(call.account, "customer", call.match["id"])


@route("GET", r"/v1/payment_methods/(?P<id>[^/]+)")
def payment_method_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    method_id = call.match["id"]
    if method_id in TEST_CARDS:  # Stripe's test cards read as unattached cards
        brand, last4, _ = TEST_CARDS[method_id]
        card = {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": time.gmtime().tm_year + 3}
        return 200, {"id": method_id, "object": "payment_method", "type": "card", "customer": None, "card": card}
    return 200, _public(fake.get(call.account, "payment_method", method_id))


@route("POST", r"/v1/payment_methods/(?P<id>[^/]+)/attach")
def payment_method_attach(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    customer = str(call.params.get("customer") or "")
    fake.get(call.account, "customer", customer)
    method_id = call.match["id"]
    if method_id in TEST_CARDS:
        return 200, _public(_card_method(fake, call.account, method_id, customer))
    with fake.lock:
        method = fake.get(call.account, "payment_method", method_id)
        if method["customer"] not in (None, customer):
            raise StripeError(400, "This PaymentMethod is attached to another customer.", param="customer")
        method["customer"] = customer
    return 200, _public(method)


@route("POST", "/v1/setup_intents")
def setup_intent_create(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    intent = {
        "id": fake.new_id("setup_intent"),
        "object": "setup_intent",
        "customer": call.params.get("customer"),
        "payment_method": None,
        "usage": call.params.get("usage", "off_session"),
        "status": "requires_payment_method",
        "client_secret": f"seti_secret_{secrets.token_hex(8)}",
        "metadata": call.params.get("metadata", {}),
        "created": fake.now(),
        "livemode": False,
    }
    fake.store(call.account, intent)
    if call.params.get("confirm") == "true" and call.params.get("payment_method"):
        return setup_intent_confirm(fake, call, intent)
    return 200, intent


@route("GET", r"/v1/setup_intents/(?P<id>[^/]+)")
def setup_intent_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, fake.get(call.account, "setup_intent", call.match["id"])


@route("POST", r"/v1/setup_intents/(?P<id>[^/]+)/confirm")
def setup_intent_confirm_route(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return setup_intent_confirm(fake, call, fake.get(call.account, "setup_intent", call.match["id"]))


def setup_intent_confirm(fake: FakeStripe, call: Call, intent: JSON) -> tuple[int, JSON]:
    """The card is checked and saved: a payment method attached to the intent's customer."""
    test_card = str(call.params.get("payment_method") or "")
    method = _card_method(fake, call.account, test_card, intent["customer"])
    intent.update(status="succeeded", payment_method=method["id"])
    return 200, intent


# --- checkout12: Checkout's hosted page, session expiry, webhooks sent on payment ---------------------
#: Where the hosted page sends its events when the patient pays: (url, secret, Host header or None).
#: A test sets it (``fake.checkout_webhook = (url, secret, host)``); None sends nothing.
FakeStripe.checkout_webhook = None  # type: ignore[attr-defined]


def _session_anywhere(fake: FakeStripe, session_id: str) -> tuple[str | None, JSON]:
    """A Checkout Session by id, whichever account owns it (a browser sends no Stripe-Account)."""
    with fake.lock:
        for (owner, kind), objects in fake.objects.items():
            if kind == "checkout.session" and session_id in objects:
                return (None if owner == "platform" else owner), objects[session_id]
    raise StripeError(404, f"No such checkout.session: '{session_id}'", code="resource_missing")


def send_checkout_events(fake: FakeStripe, session: JSON, account: str | None, kinds: list[str]) -> list[int]:
    """Post the events of a session's outcome to the configured webhook, signed, in ``kinds`` order
    (``payment_intent.*`` events carry the session's payment intent)."""
    target = getattr(fake, "checkout_webhook", None)
    if not target:
        return []
    url, secret, host = target
    statuses = []
    for kind in kinds:
        if kind.startswith("payment_intent."):
            obj = fake.get(account, "payment_intent", session["payment_intent"])
        else:
            obj = session
        status, _ = fake.post_event(url, fake.event(kind, obj, account=account), secret, host=host)
        statuses.append(status)
    return statuses


def expire_checkout_session(fake: FakeStripe, session_id: str, *, account: str | None) -> JSON:
    """The session's time is up (or the platform expired it): it can no longer be paid."""
    with fake.lock:
        session = fake.get(account, "checkout.session", session_id)
        if session["status"] != "open":
            raise StripeError(400, f"Only an open session can be expired; this one is {session['status']}.")
        session.update(status="expired")
        return session


def fail_checkout_payment(fake: FakeStripe, session_id: str, *, account: str | None) -> JSON:
    """A delayed payment method (a bank debit) completed the session unpaid, then failed: the
    session stays complete and unpaid, its payment intent needs another payment method."""
    with fake.lock:
        session = fake.get(account, "checkout.session", session_id)
        intent = fake.add_object(
            "payment_intent",
            account=account,
            amount=session["amount_total"],
            currency=session["currency"],
            status="requires_payment_method",
            metadata=session.get("_intent_metadata") or session["metadata"],
            last_payment_error={"code": "payment_method_not_available"},
        )
        session.update(status="complete", payment_status="unpaid", payment_intent=intent["id"])
        return session


@route("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire")
def checkout_session_expire(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, expire_checkout_session(fake, call.match["id"], account=call.account)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Pay {name} (Stripe test)</title></head>
<body><main><h1>Pay {name}</h1><p>Amount: <strong id="amount">{amount} {currency}</strong></p>
<p>{state}</p>{form}<p><a href="{cancel}">Back to the clinic</a></p></main></body></html>"""


def hosted_checkout(fake: FakeStripe, http: BaseHTTPRequestHandler, method: str, path: str, body: str) -> None:
    """``GET /pay/<id>``: the hosted page with a Pay button; ``POST``: the patient pays (the session
    completes with a payment intent, its charge and balance transaction), the configured webhook is
    sent ``checkout.session.completed`` and ``payment_intent.succeeded``, and the browser goes to
    the session's success_url."""
    import html

    session_id = path.removeprefix("/pay/").strip("/")
    try:
        account, session = _session_anywhere(fake, session_id)
    except StripeError:
        http.send_response(404)
        http.end_headers()
        return
    setup = session.get("mode") == "setup"  # a card is saved, nothing paid (setup14's section)
    if method == "POST" and session["status"] == "open":
        if setup:
            complete_setup_session(fake, session_id, account=account)
            send_checkout_events(fake, session, account, ["checkout.session.completed"])
        else:
            pay_checkout_session(fake, session_id, account=account)
            send_checkout_events(fake, session, account, ["checkout.session.completed", "payment_intent.succeeded"])
        target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
        http.send_response(303)
        http.send_header("Location", target)
        http.send_header("Content-Length", "0")
        http.end_headers()
        return
    total = int(session["amount_total"])
    items = f"{total // 100}.{total % 100:02d}"
    is_open = session["status"] == "open"
    page = (
        setup_page(session_id, session)
        if setup
        else _PAGE.format(
            name=html.escape(str(session.get("metadata", {}).get("purpose") or "your booking")),
            amount=items,
            currency=html.escape(str(session["currency"]).upper()),
            state="Test mode: no card is needed." if is_open else f"This session is {html.escape(session['status'])}.",
            form=f'<form method="post" action="/pay/{session_id}"><button type="submit">Pay</button></form>'
            if is_open
            else "",
            cancel=html.escape(str(session.get("cancel_url") or "/")),
        ).encode()
    )
    http.send_response(200)
    http.send_header("Content-Type", "text/html; charset=utf-8")
    http.send_header("Content-Length", str(len(page)))
    http.end_headers()
    http.wfile.write(page)


# --- setup14: Checkout Sessions in setup mode (a card saved at online booking, nothing charged) ------
def setup_session_prepare(fake: FakeStripe, call: Call, session: JSON) -> None:
    """A setup-mode session: no amount, the currency asked, a SetupIntent on the session's Customer
    waiting for a card (its metadata from ``setup_intent_data``)."""
    if not session.get("customer"):
        raise StripeError(400, "A setup session here needs a customer.", param="customer")
    fake.get(call.account, "customer", str(session["customer"]))
    data = call.params.get("setup_intent_data") or {}
    intent = {
        "id": fake.new_id("setup_intent"),
        "object": "setup_intent",
        "customer": session["customer"],
        "payment_method": None,
        "usage": "off_session",
        "status": "requires_payment_method",
        "client_secret": f"seti_secret_{secrets.token_hex(8)}",
        "description": data.get("description"),
        "metadata": data.get("metadata", {}),
        "created": fake.now(),
        "livemode": False,
    }
    fake.store(call.account, intent)
    session.update(
        amount_total=0,
        currency=str(call.params.get("currency") or "eur").lower(),
        payment_status="no_payment_required",
        setup_intent=intent["id"],
    )


def complete_setup_session(
    fake: FakeStripe, session_id: str, *, account: str | None, test_card: str = "pm_card_visa"
) -> JSON:
    """The patient saves a card on Stripe's setup page: the SetupIntent succeeds with a card attached
    to the session's Customer and the session completes (send ``checkout.session.completed`` after).
    A declined card (``pm_card_chargeDeclined``) leaves the session open and the intent waiting."""
    with fake.lock:
        session = fake.get(account, "checkout.session", session_id)
        if session["status"] != "open":
            raise StripeError(400, f"This session is {session['status']}.")
        intent = fake.get(account, "setup_intent", str(session["setup_intent"]))
        if test_card == "pm_card_chargeDeclined":
            intent.update(last_setup_error={"code": "card_declined", "message": "Your card was declined."})
            return session
        method = _card_method(fake, account, test_card, str(session["customer"]))
        intent.update(status="succeeded", payment_method=method["id"], last_setup_error=None)
        session.update(status="complete")
        return session


_SETUP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Save a card (Stripe test)</title></head>
<body><main><h1>Save a card</h1><p>Nothing is charged now.</p><p>{state}</p>{form}
<p><a href="{cancel}">Back to the clinic</a></p></main></body></html>"""


def setup_page(session_id: str, session: JSON) -> bytes:
    """Stripe's hosted page of a setup session: a Save card button (posting saves pm_card_visa)."""
    import html

    is_open = session["status"] == "open"
    return _SETUP_PAGE.format(
        state="Test mode: a test card is saved." if is_open else f"This session is {html.escape(session['status'])}.",
        form=f'<form method="post" action="/pay/{session_id}"><button type="submit">Save card</button></form>'
        if is_open
        else "",
        cancel=html.escape(str(session.get("cancel_url") or "/")),
    ).encode()


# --- recon12: charges, expanded sources, payouts that group the account's balance transactions,
# and a bulk load for the reconciliation bench --------------------------------------------------
#: What a balance transaction's ``source`` names, by its id's prefix.
SOURCE_KINDS = {"ch": "charge", "py": "charge", "re": "refund", "pyr": "refund", "po": "payout"}


def expanded(fake: FakeStripe, call: Call, status: int, answer: JSON) -> tuple[int, JSON]:
    """``expand[]=data.source``: each balance transaction's source as the object (a copy)."""
    wanted = call.query.get("expand") or []
    if status != 200 or "data.source" not in (wanted if isinstance(wanted, list) else [wanted]):
        return status, answer
    rows = []
    for txn in answer["data"]:
        source = txn.get("source")
        kind = SOURCE_KINDS.get(str(source).split("_", 1)[0]) if source else None
        if kind is not None:
            with fake.lock:
                found = fake.objects.get((call.account or "platform", kind), {}).get(source)
            if found is not None:
                txn = {**txn, "source": dict(found)}
        rows.append(txn)
    return status, {**answer, "data": rows}


@route("GET", r"/v1/charges/(?P<id>[^/]+)")
def charge_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, fake.get(call.account, "charge", call.match["id"])


@route("GET", r"/v1/payouts/(?P<id>[^/]+)")
def payout_retrieve(fake: FakeStripe, call: Call) -> tuple[int, JSON]:
    return 200, fake.get(call.account, "payout", call.match["id"])


def pay_out(fake: FakeStripe, *, account: str, currency: str | None = None, status: str = "paid") -> JSON:
    """Stripe pays the account's balance in ``currency`` (by default that of its oldest balance
    transaction not paid out) out: every such balance transaction joins this payout, whose own
    (negative) balance transaction is added too."""
    with fake.lock:
        waiting = [
            t
            for t in fake.objects.get((account, "balance_transaction"), {}).values()
            if t.get("payout") is None and t.get("type") != "payout"
        ]
        currency = currency or (waiting[0]["currency"] if waiting else "eur")
        txns = [t for t in waiting if t.get("currency") == currency]
        amount = sum(t["net"] for t in txns)
        created = fake.now()
        payout = fake.add_object(
            "payout",
            account=account,
            amount=amount,
            currency=currency,
            arrival_date=created + 2 * 86400,
            status=status,
            automatic=True,
            balance_transaction=None,
            method="standard",
            type="bank_account",
        )
        own = fake.add_object(
            "balance_transaction",
            account=account,
            amount=-amount,
            currency=currency,
            fee=0,
            net=-amount,
            type="payout",
            reporting_category="payout",
            source=payout["id"],
            payout=payout["id"],
            status="available",
        )
        payout["balance_transaction"] = own["id"]
        for txn in txns:
            txn["payout"] = payout["id"]
        return payout


def load_charges(
    fake: FakeStripe, *, account: str, charges: list[tuple[str, int, str, int]], fee_bp: int = 290
) -> list[str]:
    """A fast path for benches: many settled payments at once, each ``(payment_intent, amount,
    currency, created)``, as a charge and its balance transaction. The ids of the transactions."""
    ids: list[str] = []
    with fake.lock:
        txns = fake.objects.setdefault((account, "balance_transaction"), {})
        charge_store = fake.objects.setdefault((account, "charge"), {})
        for intent, amount, currency, created in charges:
            fee = amount * fee_bp // 10_000 + 30
            charge_id = fake.new_id("charge")
            txn_id = fake.new_id("balance_transaction")
            charge_store[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "currency": currency,
                "payment_intent": intent,
                "balance_transaction": txn_id,
                "created": created,
            }
            txns[txn_id] = {
                "id": txn_id,
                "object": "balance_transaction",
                "amount": amount,
                "currency": currency,
                "fee": fee,
                "net": amount - fee,
                "type": "charge",
                "reporting_category": "charge",
                "source": charge_id,
                "payout": None,
                "status": "available",
                "created": created,
                "livemode": False,
            }
            ids.append(txn_id)
    return ids
