"""GET /api/v1/availability/days/: the days with free times, and the next free day after them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator

from scheduling import services as sched
from scheduling.models import CalendarEntry
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error


@pytest.fixture
def days(api, chain_a):
    """One doctor on shift 09:00-11:00 every day at the first branch, the Monday fully booked."""
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1, shift=(time(9), time(11)))
        for hh, mm in ((9, 0), (9, 30), (10, 0), (10, 30)):
            book(clinic, clinic.at(MONDAY, hh, mm))
    return clinic, api(chain_a, "receptionist")


def _url(clinic, first, last, **extra):
    query = f"service={clinic.service.pk}&branch={clinic.branch.pk}&date_from={first}&date_to={last}&step=30"
    return "/api/v1/availability/days/?" + query + "".join(f"&{k}={v}" for k, v in extra.items())


def test_the_days_of_a_week_and_the_next_free_day(days):
    # given a full Monday
    clinic, reception = days
    # when the receptionist asks for the Sunday before to the Monday, and for the Monday alone
    week = reception.call("GET", _url(clinic, MONDAY - timedelta(days=1), MONDAY))
    monday = reception.call("GET", _url(clinic, MONDAY, MONDAY, doctor=clinic.doctors[0].pk))
    # then the Sunday has its four times and the Monday none; the next free day after is the Tuesday
    assert week.status_code == 200
    assert week.json() == {
        "days": [
            {"date": (MONDAY - timedelta(days=1)).isoformat(), "free_times": 4},
            {"date": MONDAY.isoformat(), "free_times": 0},
        ],
        "next_free_day": (MONDAY + timedelta(days=1)).isoformat(),
    }
    assert monday.json()["next_free_day"] == (MONDAY + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from={d}&date_to={before}", "date_to"),  # backwards
        ("date_from={d}&date_to={far}", "date_to"),  # more than 31 days
        ("date_from=2027-02-30&date_to={d}", "date_from"),  # no such day
        ("date_from={d}&date_to={d}&step=7", "step"),  # off the 5-minute grid
        ("date_from={d}&date_to={d}&online=yes", "online"),  # not a JSON boolean
    ],
)
def test_bad_input_is_400_naming_the_field(days, query, field):
    # given a receptionist of the branch
    clinic, reception = days
    filled = query.format(d=MONDAY, before=MONDAY - timedelta(days=1), far=MONDAY + timedelta(days=40))
    # when she asks with one parameter wrong
    response = reception.call(
        "GET", f"/api/v1/availability/days/?service={clinic.service.pk}&branch={clinic.branch.pk}&{filled}"
    )
    # then it is a validation error on that parameter
    error = assert_error(response, 400, "validation_error")
    assert field in error["fields"]


def test_anonymous_and_staff_of_another_branch_are_refused(api, chain_a, days):
    # given a service at the chain's second branch, where the receptionist does not work
    _, reception = days
    with schema_context(chain_a.schema):
        other = clinic_setup(chain_a, branch=chain_a.branches[1], doctors=1)
        count = CalendarEntry.objects.count()
    # when an anonymous client and the receptionist ask for its days
    anonymous = api(chain_a).call("GET", _url(other, MONDAY, MONDAY))
    refused = reception.call("GET", _url(other, MONDAY, MONDAY))
    # then the first must sign in, the second is refused, and nothing was held or booked
    assert_error(anonymous, 401)
    assert_error(refused, 403)
    with schema_context(chain_a.schema):
        assert CalendarEntry.objects.count() == count


def test_online_days_follow_the_online_rules(days, chain_a):
    # given online booking that reaches only a week ahead
    clinic, reception = days
    with schema_context(chain_a.schema):
        sched.policy_update(actor=clinic.owner, online_horizon_days=7)
    # when the days of the Monday's week are asked for online
    body = reception.call("GET", _url(clinic, MONDAY, MONDAY + timedelta(days=6), online="true")).json()
    # then none is free (all beyond the horizon), and there is no next free day
    assert {d["free_times"] for d in body["days"]} == {0}
    assert body["next_free_day"] is None


def test_the_schema_documents_the_days_and_their_errors():
    # given the tenant site's OpenAPI schema
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    # when the operation is read
    operation = schema["paths"]["/api/v1/availability/days/"]["get"]
    # then it has a summary, its parameters, the answer's shape and its errors
    assert operation["summary"] == "Find the days with free times"
    assert {"service", "branch", "doctor", "date_from", "date_to", "step", "online"} <= {
        p["name"] for p in operation["parameters"]
    }
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/FreeDaysOut"}
    assert set(schema["components"]["schemas"]["FreeDaysOut"]["properties"]) == {"days", "next_free_day"}


def test_free_slots_can_be_asked_for_under_the_online_rules(days):
    # given a receptionist of the branch (online=true was refused as text before: only JSON true was taken)
    clinic, reception = days
    tuesday = MONDAY + timedelta(days=1)
    query = f"service={clinic.service.pk}&branch={clinic.branch.pk}&date_from={tuesday}&date_to={tuesday}"
    # when she asks for the Tuesday's free slots as online booking sees them
    response = reception.call("GET", f"/api/v1/availability/?{query}&step=30&online=true")
    # then they are the four of the day
    assert response.status_code == 200, response.content
    assert len(response.json()) == 4
