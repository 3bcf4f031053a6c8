"""Serializer fields shared by the modules' APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """A date-time that must carry its UTC offset: a naive time is ambiguous across time zones."""

    default_error_messages = {"naive": "Give the time with its UTC offset, e.g. 2027-06-07T10:00:00+01:00."}

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)
