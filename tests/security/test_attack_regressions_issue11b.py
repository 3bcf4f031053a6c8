"""What a second attack on issue 11 (the appointment book, the desk's booking, leave that meets
appointments, the booking link) found, each kept fixed by a test."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.factories.scheduling import book, clinic_setup, clock_changes, local_today
from tests.helpers import sign_in


def _client(chain, user=None) -> Client:
    client = Client(HTTP_HOST=chain.host, raise_request_exception=False)
    if user is not None:
        with schema_context(chain.schema):
            sign_in(client, user)
    return client


# --- the book's hours on the days the clocks change --------------------------------------------------
LONDON = "Europe/London"
SPRING, AUTUMN = clock_changes(LONDON, after=local_today(LONDON) + timedelta(days=1))


@pytest.mark.parametrize(("day", "at"), [(SPRING, time(17, 30)), (AUTUMN, time(8))], ids=["spring", "autumn"])
def test_the_book_shows_the_whole_day_when_the_clocks_change(chain_a, day, at):
    # given a London branch open 08:00-18:00 with a doctor on shift all that time, and a visit in
    # the last half hour of the day the clocks go forward, or the first hour of the day they go back
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1, opens=time(8), closes=time(18), shift=(time(8), time(18)))
        visit = book(clinic, clinic.at(day, at.hour, at.minute))
    # when the desk opens that day's book
    feed = _client(chain_a, clinic.receptionist).get(f"/desk/{clinic.branch.pk}/feed/?day={day}").json()
    # then the grid runs 08:00-18:00 on the wall clock, as every other day (the hours are not counted
    # from midnight across the change: 07:00-17:00 in spring hid the visit at 17:30, 09:00-19:00 in
    # autumn the one at 08:00), and the visit lies inside it
    assert (feed["slotMinTime"], feed["slotMaxTime"]) == ("08:00:00", "18:00:00")
    event = next(e for e in feed["events"] if e.get("id") == str(visit.pk))
    assert feed["slotMinTime"] <= event["start"][11:] < feed["slotMaxTime"]
