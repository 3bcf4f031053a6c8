from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client

from tests.factories import PASSWORD


class Api:
    """A JSON client for one host, optionally signed in as one user (session auth)."""

    def __init__(self, host: str, email: str | None = None) -> None:
        self.client = Client(HTTP_HOST=host)
        self.host = host
        if email:
            response = self.client.post(
                "/api/v1/auth/login/", {"email": email, "password": PASSWORD}, content_type="application/json"
            )
            assert response.status_code == 200, response.content
            self.token = response.json()["token"]
            self.client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {self.token}")

    def call(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
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
