"""Every API view checks what it was sent through one helper (config.api.validated)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from config.api import validated


class DayIn(serializers.Serializer):
    day = serializers.DateField()
    note = serializers.CharField(required=False)


def _request(body: bytes, query: str = "") -> Request:
    raw = APIRequestFactory().post(f"/x/?{query}", body, content_type="application/json")
    return Request(raw, parsers=[JSONParser()])


def test_the_body_is_checked_and_its_validated_fields_returned() -> None:
    # given a request whose body names a day
    day = timezone.localdate() + timedelta(days=7)
    request = _request(f'{{"day": "{day}", "ignored": 1}}'.encode())
    # when it is validated
    fields = validated(DayIn, request)
    # then only the declared fields come back, typed
    assert fields == {"day": day}


def test_other_data_such_as_the_query_is_checked_instead_of_the_body() -> None:
    # given a request with a good body and a bad query
    request = _request(f'{{"day": "{timezone.localdate()}"}}'.encode(), query="day=someday")
    # when the query is validated, then the refusal names the query's field
    with pytest.raises(ValidationError) as refused:
        validated(DayIn, request, request.query_params)
    assert set(refused.value.detail) == {"day"}  # type: ignore[arg-type]


def test_no_api_module_writes_its_own_validation_helper() -> None:
    # given every API module of the project, when their sources are read, then none defines _valid again
    root = Path(__file__).resolve().parents[2]
    modules = [p for p in root.glob("*/**/api/*.py") if not {".venv", "tests"} & set(p.parts)] + list(
        root.glob("*/**/api.py")
    )
    assert modules
    assert [str(p.relative_to(root)) for p in modules if "def _valid(" in p.read_text()] == []


def test_no_view_checks_a_body_by_hand() -> None:
    # given the project's own modules, when their sources are read
    root = Path(__file__).resolve().parents[2]
    sources = [p for p in root.glob("*/**/*.py") if not {".venv", "tests", "migrations"} & set(p.parts)]
    by_hand = [str(p.relative_to(root)) for p in sources if "is_valid(raise_exception=True)" in p.read_text()]
    # then only the one helper runs a serializer's check and raises its refusal
    assert by_hand == ["config/api.py"]
