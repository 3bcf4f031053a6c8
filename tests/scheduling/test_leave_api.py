"""The leave API over appointments: the proposal, and saving the leave with decisions in one go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling.models import Appointment, Leave, Status
from tenants.audit.models import AccessLog
from tests.factories.scheduling import MONDAY, book, clinic_setup, zulu
from tests.helpers import assert_error

PROPOSAL = "/api/v1/scheduling/leave/proposal/"
RESOLVE = "/api/v1/scheduling/leave/resolve/"


@pytest.fixture
def week(chain_a):
    """Three doctors; the first booked twice on Monday and once on Tuesday."""
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=3)
        away = clinic.doctors[0]
        booked = [
            book(clinic, clinic.at(MONDAY, 10), doctor=away),
            book(clinic, clinic.at(MONDAY, 11), doctor=away),
            book(clinic, clinic.at(MONDAY + timedelta(days=1), 10), doctor=away),
        ]
    return clinic, booked


def _window(clinic, **extra):
    return {
        "doctor": clinic.doctors[0].pk,
        "start": zulu(clinic.at(MONDAY, 8)),
        "end": zulu(clinic.at(MONDAY + timedelta(days=4), 18)),
        **extra,
    }


def _all_to_next_free_time_but(owner, clinic, decision):
    """The owner resolves the week's leave: all to the next free time, but one decision of its own."""
    return owner.call("POST", RESOLVE, _window(clinic, for_all={"action": "next_free_time"}, decisions=[decision]))


def _states(chain, booked):
    with schema_context(chain.schema):
        return sorted(
            Appointment.objects.filter(pk__in=[a.pk for a in booked]).values_list("pk", "doctor_id", "status")
        )


def _leave_count(chain):
    with schema_context(chain.schema):
        return Leave.objects.filter(status=Status.BOOKED).count()


def test_the_proposal_lists_the_appointments_in_time_order_with_their_options(week, chain_a, api):
    # given
    clinic, booked = week
    manager = api(chain_a, "branch_manager")

    # when
    answer = manager.client.get(PROPOSAL, _window(clinic))

    # then
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert [row["appointment"]["id"] for row in body["appointments"]] == [a.pk for a in booked]
    first = body["appointments"][0]
    assert {d["id"] for d in first["free_doctors"]} == {clinic.doctors[1].pk, clinic.doctors[2].pk}
    assert first["next_free"] is not None
    assert (body["hidden"], body["holds"]) == (0, 0)
    with schema_context(chain_a.schema):  # the patients shown are in the access log
        logged = set(AccessLog.objects.filter(object_type="appointment").values_list("patient_id", flat=True))
    assert {a.patient_id for a in booked} <= logged


def test_saving_the_leave_moves_everything_to_another_doctor_in_one_go(week, chain_a, api):
    # given
    clinic, booked = week
    other = clinic.doctors[1]
    manager = api(chain_a, "branch_manager")

    # when
    answer = manager.call(
        "POST", RESOLVE, _window(clinic, reason="Conference", for_all={"action": "move_to_doctor", "doctor": other.pk})
    )

    # then
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert sorted(a["id"] for a in body["moved"]) == sorted(a.pk for a in booked)
    assert {a["doctor"]["id"] for a in body["moved"]} == {other.pk}
    assert body["leave"]["kind"] == "leave"
    assert _states(chain_a, booked) == sorted((a.pk, other.pk, Status.BOOKED) for a in booked)
    assert _leave_count(chain_a) == 1


def test_per_appointment_decisions_override_the_one_for_all(week, chain_a, api):
    clinic, booked = week
    manager = api(chain_a, "owner")

    answer = manager.call(
        "POST",
        RESOLVE,
        _window(
            clinic,
            for_all={"action": "move_to_doctor"},
            decisions=[
                {"appointment": booked[1].pk, "action": "cancel", "reason": "Doctor away"},
                {"appointment": booked[2].pk, "action": "next_free_time"},
            ],
        ),
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert [a["id"] for a in body["cancelled"]] == [booked[1].pk]
    assert body["cancelled"][0]["cancellation_reason"] == "Doctor away"
    moved = {a["id"]: a for a in body["moved"]}
    assert moved[booked[0].pk]["doctor"]["id"] != clinic.doctors[0].pk  # any free doctor, at 10:00
    assert moved[booked[2].pk]["doctor"]["id"] == clinic.doctors[0].pk  # her next free time, after the leave
    assert moved[booked[2].pk]["start"] >= zulu(clinic.at(MONDAY + timedelta(days=4), 18))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"for_all": {"action": "cancel"}}, "for_all.reason"),
        ({"for_all": {"action": "cancel", "reason": "   "}}, "for_all.reason"),
        ({"for_all": {"action": "teleport"}}, "for_all.action"),
        ({"for_all": {"action": "move_to_doctor", "doctor": 10**9}}, "for_all.doctor"),
        ({"decisions": [{"appointment": "x", "action": "cancel", "reason": "r"}]}, "decisions.0.appointment"),
        ({"decisions": [{"appointment": 10**7, "action": "next_free_time"}]}, "decisions"),
        ({"decisions": "all"}, "decisions"),
        ({"end": f"{MONDAY - timedelta(days=1)}T00:00:00Z"}, "end"),  # before the start
    ],
)
def test_bad_decisions_are_400_and_change_nothing(week, chain_a, api, change, field):
    clinic, booked = week
    before = _states(chain_a, booked)

    answer = api(chain_a, "owner").call("POST", RESOLVE, _window(clinic, **change))

    error = assert_error(answer, 400, "validation_error")
    assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), error
    assert _states(chain_a, booked) == before
    assert _leave_count(chain_a) == 0


def test_a_decision_for_another_doctors_appointment_is_400(week, chain_a, api):
    clinic, booked = week
    with schema_context(chain_a.schema):
        elsewhere = book(clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[1])
    before = _states(chain_a, [*booked, elsewhere])

    answer = _all_to_next_free_time_but(
        api(chain_a, "owner"), clinic, {"appointment": elsewhere.pk, "action": "cancel", "reason": "x"}
    )

    error = assert_error(answer, 400, "validation_error")
    assert str(elsewhere.pk) in error["fields"]["decisions"][0]
    assert _states(chain_a, [*booked, elsewhere]) == before


def test_cancelling_one_without_a_reason_is_400(week, chain_a, api):
    clinic, booked = week

    answer = _all_to_next_free_time_but(
        api(chain_a, "owner"), clinic, {"appointment": booked[0].pk, "action": "cancel"}
    )

    error = assert_error(answer, 400, "validation_error")
    assert "decisions.0.reason" in error["fields"]
    assert _leave_count(chain_a) == 0


def test_a_decision_that_fails_is_409_naming_the_appointment_and_nothing_is_saved(week, chain_a, api):
    # given: the second doctor is busy at Monday 10:00
    clinic, booked = week
    with schema_context(chain_a.schema):
        book(clinic, clinic.at(MONDAY, 10), doctor=clinic.doctors[1])
    before = _states(chain_a, booked)

    # when
    answer = api(chain_a, "owner").call(
        "POST", RESOLVE, _window(clinic, for_all={"action": "move_to_doctor", "doctor": clinic.doctors[1].pk})
    )

    # then
    error = assert_error(answer, 409, "leave_decisions_failed")
    assert list(error["fields"]) == [str(booked[0].pk)]
    assert _states(chain_a, booked) == before
    assert _leave_count(chain_a) == 0


def test_without_decisions_it_is_refused_like_a_plain_leave(week, chain_a, api):
    clinic, booked = week

    answer = api(chain_a, "owner").call("POST", RESOLVE, _window(clinic))

    error = assert_error(answer, 409, "leave_conflicts_appointments")
    assert sorted(error["fields"]["appointments"]) == sorted(str(a.pk) for a in booked)
    assert _leave_count(chain_a) == 0


@pytest.mark.parametrize("role", ["receptionist", "billing"])
def test_staff_who_do_not_manage_leave_are_refused(week, chain_a, api, role):
    clinic, booked = week
    before = _states(chain_a, booked)
    client = api(chain_a, role)

    proposal = client.client.get(PROPOSAL, _window(clinic))
    saved = client.call("POST", RESOLVE, _window(clinic, for_all={"action": "move_to_doctor"}))

    assert_error(proposal, 403)
    assert_error(saved, 403)
    assert _states(chain_a, booked) == before
    assert _leave_count(chain_a) == 0
