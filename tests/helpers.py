from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import get_public_schema_name, schema_context

from config.errors import ApplicationError
from tenants.accounts import selectors
from tenants.accounts.models import User
from tests.factories import PASSWORD


def _schema_of(host: str) -> str:
    from tenants.models import Domain

    with schema_context(get_public_schema_name()):
        return Domain.objects.select_related("tenant").get(domain=host).tenant.schema_name


def second_factor_code(user: User) -> str | None:
    """A fresh recovery code for a user who owes a second factor (their role requires it, or they
    have an authenticator): a real confirmed authenticator is made if missing. None for others.
    Recovery codes, unlike the app's codes, can be used several times within one 30-second step.
    Runs in the current schema: the user's chain's."""
    if not (selectors.two_factor_required(user) or selectors.two_factor_enabled(user)):
        return None
    if not selectors.two_factor_enabled(user):
        TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes", defaults={"confirmed": True})
    return device.token_set.create(token=StaticToken.random_token()).token


def sign_in(client: Client, user: User) -> Client:
    """Sign a test client in as ``user`` past the second factor, with a real device of theirs, as
    django-otp's own login does. Call it inside the user's chain's schema (e.g. the in_a fixture)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


class Api:
    """A JSON client for one host, optionally signed in as one user (a token of its own)."""

    def __init__(self, host: str, email: str | None = None, *, client_name: str = "tests") -> None:
        self.client = Client(HTTP_HOST=host)
        self.host = host
        if email:
            body = {"email": email, "password": PASSWORD, "client_name": client_name}
            if host != "localhost":
                with schema_context(_schema_of(host)):
                    user = User.objects.filter(email__iexact=email).first()
                    code = second_factor_code(user) if user is not None else None
                if code:
                    body["otp"] = code
            response = self.client.post("/api/v1/auth/login/", body, content_type="application/json")
            assert response.status_code == 200, response.content
            self.token = response.json()["token"]
            self.client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {self.token}")

    def call(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is None and method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
            # As an API client sends a request without a body: nothing (Django's test client would
            # otherwise send an empty multipart form, which the API does not take).
            data = ""
        kwargs: dict[str, Any] = {"content_type": "application/json"} if data is not None else {}
        return (
            getattr(self.client, method.lower())(path, data, **kwargs)
            if data is not None
            else getattr(self.client, method.lower())(path)
        )


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


@contextmanager
def committed() -> Iterator[None]:
    """Run ORM code on a fresh autocommit connection, outside the test's rolled-back transaction,
    so that other processes (a Celery worker, a live server) see what it writes."""
    fresh = connections.create_connection(DEFAULT_DB_ALIAS)
    previous = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = fresh
    try:
        yield
    finally:
        fresh.close()
        connections[DEFAULT_DB_ALIAS] = previous


def calendar_clear(doctors: Any) -> None:
    """Remove the doctors' committed calendar (run inside committed()): the fees charged for their
    visits go first, as a fee keeps the visit it was charged for."""
    from invoicing.fees import FeeCharge
    from scheduling.models import CalendarEntry

    FeeCharge.objects.filter(appointment__doctor__in=doctors).delete()
    CalendarEntry.objects.filter(doctor__in=doctors).delete()


def project_packages() -> list[str]:
    """The project's own top-level packages (import-linter's root_packages in pyproject.toml), in
    the order of the layers: the kernel first, frontend last."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["root_packages"])


def race(clients: int, attempt: Callable[[int], object], schema: str) -> list[str]:
    """Run attempt(0..clients-1) at once, each on a real connection of its own in the chain's schema,
    released together by a barrier: each outcome is "ok" or the code of the error it raised."""
    barrier = threading.Barrier(clients)

    def run(i: int) -> str:
        try:
            with schema_context(schema):
                barrier.wait()
                attempt(i)
                return "ok"
        except ApplicationError as exc:
            return exc.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(run, range(clients)))
