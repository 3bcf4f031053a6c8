"""Pages with no form to show a refusal on say what was done, or what the service refused, through
one helper (frontend.forms.flash)."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpRequest
from django.test import RequestFactory

from config.errors import ValidationFailed
from frontend.forms import flash


def _request() -> HttpRequest:
    request = RequestFactory().post("/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def test_a_done_action_says_so_and_returns_what_it_made() -> None:
    # given a page request, when a service runs through the helper and succeeds
    request = _request()
    made = flash(request, lambda: 7, "Saved.")

    # then the page says so, and gets what the service returned
    assert made == 7
    assert [(m.level_tag, m.message) for m in get_messages(request)] == [("success", "Saved.")]


def test_a_refusal_is_said_by_its_field_messages_and_nothing_is_said_done() -> None:
    # given a service that refuses with field messages
    request = _request()

    def refuse() -> int:
        raise ValidationFailed(fields={"branch": ["Closed that day."], "doctor": ["Not offered."]})

    # when it runs through the helper
    made = flash(request, refuse, "Saved.")

    # then nothing is returned, and the page says only what was refused
    assert made is None
    assert [(m.level_tag, m.message) for m in get_messages(request)] == [("error", "Closed that day. Not offered.")]


def test_a_refusal_without_fields_is_said_by_its_message() -> None:
    request = _request()

    def refuse() -> None:
        raise ValidationFailed("Not now.")

    flash(request, refuse, "Saved.")
    assert [m.message for m in get_messages(request)] == ["Not now."]
