"""The run's clocks agree: Python's (moved or not, tests/clock.py) and the database's, whose now()
stamps the access log. A run moved ahead without its database (CLINICFLOW_TEST_CLOCK_SHIFT_DAYS
alone, not `make test-future`) stops here rather than pass on two calendars."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone


def test_the_database_keeps_the_runs_clock(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        (database_now,) = cursor.fetchone()
    assert abs(database_now - timezone.now()) < timedelta(minutes=5), "run a moved clock with `make test-future`"
