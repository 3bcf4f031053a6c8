"""No-shows on the API: an appointment read (one, or a list) carries its patient's no-show count and
flag (scheduling.no_shows, the desk's and online booking's answer too); the booking rules take the
grace period and the flag's terms."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django_tenants.utils import schema_context

from scheduling.no_shows import no_shows_mark
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import assert_error


@pytest.fixture
def flagged(chain_a):
    """A patient who missed two visits in the last weeks and comes in three days, and one who never missed."""
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1)
        nora, otto = clinic.patient("Nora"), clinic.patient("Otto")
        for days in (20, 10):
            start = clinic.at(clinic.days_ahead(-days), 9)
            with time_machine.travel(start - timedelta(days=1), tick=False):
                book(clinic, start, patient=nora, actor=clinic.owner)
            no_shows_mark(now=start + timedelta(minutes=30))
        coming = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=nora, actor=clinic.owner)
        book(clinic, clinic.at(clinic.days_ahead(3), 11), patient=otto, actor=clinic.owner)
    return clinic, nora, otto, coming


def test_an_appointment_read_says_its_patients_no_shows_and_flag(flagged, api, chain_a):
    # given Nora (two no-shows) coming in three days, and Otto (none) after her
    clinic, nora, otto, coming = flagged
    reception = api(chain_a, "owner")
    # when the API reads her appointment, and the day's list
    one = reception.call("GET", f"/api/v1/appointments/{coming.pk}/")
    listed = reception.call("GET", f"/api/v1/appointments/?branch={clinic.branch.pk}&status=booked")
    # then her patient says 2 no-shows and flagged; Otto's none, not flagged
    assert one.status_code == 200, one.content
    assert (one.json()["patient"]["no_shows"], one.json()["patient"]["no_show_flag"]) == (2, True)
    rows = {row["patient"]["id"]: row["patient"] for row in listed.json()["results"]}
    assert (rows[nora.pk]["no_shows"], rows[nora.pk]["no_show_flag"]) == (2, True)
    assert (rows[otto.pk]["no_shows"], rows[otto.pk]["no_show_flag"]) == (0, False)


def test_the_booking_rules_take_the_no_show_terms(api, chain_a):
    # given the owner
    owner = api(chain_a, "owner")
    # when she sets a 25-minute grace period and a flag after 3 no-shows in 6 months, then a grace period too long
    saved = owner.call(
        "PATCH",
        "/api/v1/scheduling/policy/",
        {"no_show_grace_minutes": 25, "no_show_flag_after": 3, "no_show_flag_months": 6, "no_show_auto": False},
    )
    refused = owner.call("PATCH", "/api/v1/scheduling/policy/", {"no_show_grace_minutes": 600})
    # then the first is the policy; the second is refused and changes nothing
    assert saved.status_code == 200, saved.content
    body = saved.json()
    assert (body["no_show_grace_minutes"], body["no_show_flag_after"], body["no_show_flag_months"]) == (25, 3, 6)
    assert body["no_show_auto"] is False
    assert_error(refused, 400)
    assert owner.call("GET", "/api/v1/scheduling/policy/").json()["no_show_grace_minutes"] == 25
