"""Clear booking semantics (issue 9, point 4): overrides are asked for, idempotency keys are the
client's own, refusals name the real rule, holds belong to their holder."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from scheduling.models import Appointment, CalendarEntry, Status
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import assert_error, committed
from tests.scheduling.test_concurrency import _active, race, racing_clinic, shared  # noqa: F401 (fixtures)


def _day(days: int = 14) -> date:
    return (timezone.now() + timedelta(days=days)).date()


@pytest.fixture
def desk(api, chain_a):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a)
        patients = [clinic.patient() for _ in range(3)]
    return clinic, patients, api(chain_a, "owner")


def _body(clinic, who, hour=10, **extra):
    return {
        "patient": who.pk,
        "doctor": clinic.doctors[0].pk,
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "start": clinic.at(_day(), hour).isoformat(),
        **extra,
    }


def _entries(chain) -> int:
    with schema_context(chain.schema):
        return CalendarEntry.objects.count()


def _post(client, body, key):
    return client.client.post(
        "/api/v1/appointments/", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


# --- overrides ---------------------------------------------------------------------------------------
def test_a_reason_without_override_double_books_nobody(desk, chain_a):
    clinic, patients, owner = desk
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[0])).status_code == 201
    # a reason alone asks for nothing special: the doctor is busy
    assert_error(
        owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[1], override_reason="Urgent")),
        409,
        "doctor_busy",
    )
    assert _entries(chain_a) == 1


def test_an_override_without_a_reason_is_400_and_with_one_is_recorded(desk, chain_a):
    clinic, patients, owner = desk
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[0])).status_code == 201
    for reason in ("", "   ", "\u200b", "\u200d\u2060 "):  # blank, or only invisible characters
        error = assert_error(
            owner.call(
                "POST", "/api/v1/appointments/", _body(clinic, patients[1], override=True, override_reason=reason)
            ),
            400,
            "validation_error",
        )
        assert "override_reason" in error["fields"]
    assert _entries(chain_a) == 1
    forced = owner.call(
        "POST", "/api/v1/appointments/", _body(clinic, patients[1], override=True, override_reason="Emergency")
    )
    assert forced.status_code == 201, forced.content
    assert (forced.json()["is_override"], forced.json()["override_reason"]) == (True, "Emergency")


@pytest.mark.parametrize("flag", ["true", "yes", "on", 1, "1"])
def test_an_override_is_json_true_and_nothing_that_merely_looks_like_it(desk, chain_a, flag):
    clinic, patients, owner = desk
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[0])).status_code == 201
    error = assert_error(
        owner.call(
            "POST", "/api/v1/appointments/", _body(clinic, patients[1], override=flag, override_reason="Emergency")
        ),
        400,
        "validation_error",
    )
    assert "override" in error["fields"]
    assert _entries(chain_a) == 1


def test_a_series_books_each_occurrence_with_its_notes_and_override(desk, chain_a):
    clinic, patients, owner = desk
    # given the doctor's first time of the series already taken
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[0])).status_code == 201
    series = {**_body(clinic, patients[1]), "count": 2, "all_or_nothing": False, "notes": "Bring the scans"}
    # without an override, the taken time is reported and the free one booked with its notes
    plain = owner.call("POST", "/api/v1/appointments/series/", series)
    assert plain.status_code == 201, plain.content
    assert [o["problem"] for o in plain.json()] == ["doctor_busy", None]
    with schema_context(chain_a.schema):
        booked = Appointment.objects.get(pk=plain.json()[1]["appointment"])
        assert booked.notes == "Bring the scans"
        booked_id = booked.pk
    assert owner.call("POST", f"/api/v1/appointments/{booked_id}/cancel/", {"reason": "again"}).status_code == 200
    # with one, every occurrence is booked as an override with its reason
    forced = owner.call(
        "POST", "/api/v1/appointments/series/", {**series, "override": True, "override_reason": "Urgent"}
    )
    assert forced.status_code == 201, forced.content
    with schema_context(chain_a.schema):
        entries = Appointment.objects.filter(pk__in=[o["appointment"] for o in forced.json()])
        assert [(a.is_override, a.override_reason, a.notes) for a in entries] == [
            (True, "Urgent", "Bring the scans")
        ] * 2


def test_a_series_that_books_nothing_is_409_not_201(desk, chain_a):
    clinic, patients, owner = desk
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[0])).status_code == 201
    week_later = clinic.at(_day() + timedelta(days=7), 10).isoformat()
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[0], start=week_later)).status_code == 201
    before = _entries(chain_a)
    error = assert_error(
        owner.call(
            "POST", "/api/v1/appointments/series/", {**_body(clinic, patients[1]), "count": 2, "all_or_nothing": False}
        ),
        409,
        "series_conflicts",
    )
    assert "nothing was booked" in error["message"]
    assert _entries(chain_a) == before


# --- idempotency keys --------------------------------------------------------------------------------
def test_the_same_key_and_body_replays_and_any_difference_is_409(desk, chain_a):
    clinic, patients, owner = desk
    body = _body(clinic, patients[0])
    first = _post(owner, body, "call-7")
    again = _post(owner, body, "call-7")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    for change in ({"notes": "different"}, {"doctor": clinic.doctors[1].pk}, {"patient": patients[1].pk}):
        assert_error(_post(owner, {**body, **change}, "call-7"), 409, "idempotency_key_reused")
    assert _entries(chain_a) == 1


def test_a_key_is_scoped_to_its_user(desk, chain_a, api):
    clinic, patients, owner = desk
    reception = api(chain_a, "receptionist")
    mine = _post(owner, _body(clinic, patients[0]), "shared-key")
    # another user's same key is another key: a booking of their own, not the owner's answer
    theirs = _post(reception, _body(clinic, patients[1], hour=11), "shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["patient"]["id"] == patients[1].pk
    assert _entries(chain_a) == 2


@pytest.mark.django_db
def test_two_requests_with_one_key_at_once_book_once(shared):  # noqa: F811
    # given two clients of one user sending the same booking with the same key at the same moment
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()
    start = shared.at(_day(21), 13)

    def attempt(i: int) -> object:
        return book(
            shared,
            start,
            actor=shared.owner,
            patient=patient,
            doctor=shared.doctors[1],
            idempotency_key="once",
            notes="" if i < 2 else "another body",
        )

    # when they race (two with the same body, one with another)
    outcomes = race(3, attempt, shared.chain.schema)
    # then one appointment exists; the same body got it, the other body was refused
    assert sorted(outcomes) in (
        ["idempotency_key_reused", "ok", "ok"],
        ["idempotency_key_reused", "idempotency_key_reused", "ok"],
    ), outcomes
    assert _active(patient=patient) == 1


# --- refusals name the real rule ---------------------------------------------------------------------
def test_a_staff_booking_too_far_ahead_names_the_staff_horizon(desk, chain_a):
    clinic, patients, owner = desk
    far = _body(clinic, patients[0], start=clinic.at(_day(4 * 366), 10).isoformat())
    error = assert_error(owner.call("POST", "/api/v1/appointments/", far), 409, "too_far_ahead")
    assert "online" not in error["message"]
    assert "Staff" in error["message"]
    assert _entries(chain_a) == 0


def test_a_time_taken_by_a_hold_says_so(desk, chain_a):
    clinic, patients, owner = desk
    hold = owner.call("POST", "/api/v1/holds/", {k: v for k, v in _body(clinic, patients[0]).items() if k != "patient"})
    assert hold.status_code == 201, hold.content
    error = assert_error(owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[1])), 409, "doctor_busy")
    assert "held" in error["message"]
    assert "appointment" not in error["message"]
    moved = owner.call(
        "POST",
        f"/api/v1/appointments/{hold.json()['id']}/reschedule/",
        {"start": _body(clinic, patients[0], hour=12)["start"]},
    )
    assert assert_error(moved, 409, "illegal_transition")["message"] == "A hold cannot be moved."
    assert _entries(chain_a) == 1


# --- holds belong to their holder --------------------------------------------------------------------
def test_a_hold_is_read_and_released_by_its_holder_only(desk, chain_a, api):
    clinic, patients, owner = desk
    body = {k: v for k, v in _body(clinic, patients[0]).items() if k != "patient"}
    hold = owner.call("POST", "/api/v1/holds/", body).json()
    path = f"/api/v1/holds/{hold['id']}/"
    # another user (even one who may book) finds nothing, and cannot release it
    stranger = api(chain_a, "receptionist")
    assert_error(stranger.call("GET", path), 404, "not_found")
    assert_error(stranger.call("DELETE", path), 404, "not_found")
    with schema_context(chain_a.schema):
        assert Appointment.objects.get(pk=hold["id"]).status == Status.HELD
    # the holder reads it, then gives the time back
    read = owner.call("GET", path)
    assert read.status_code == 200
    assert (read.json()["status"], read.json()["hold_token"]) == ("held", hold["hold_token"])
    assert owner.call("DELETE", path).status_code == 204
    with schema_context(chain_a.schema):
        assert Appointment.objects.get(pk=hold["id"]).status == Status.CANCELLED
    # and the time is free again
    assert owner.call("POST", "/api/v1/appointments/", _body(clinic, patients[1])).status_code == 201


def test_releasing_a_hold_again_changes_nothing_and_a_released_hold_says_so(desk, chain_a):
    clinic, patients, owner = desk
    body = {k: v for k, v in _body(clinic, patients[0]).items() if k != "patient"}
    hold = owner.call("POST", "/api/v1/holds/", body).json()
    path = f"/api/v1/holds/{hold['id']}/"
    assert owner.call("DELETE", path).status_code == 204
    # a retry of the release is no error
    assert owner.call("DELETE", path).status_code == 204
    # confirming it now names the real cause: it was released, not run out
    confirm = {"hold_token": hold["hold_token"], "patient": patients[0].pk}
    assert_error(owner.call("POST", f"{path}confirm/", confirm), 409, "hold_released")
    with schema_context(chain_a.schema):
        assert Appointment.objects.get(pk=hold["id"]).status == Status.CANCELLED


def test_a_wrong_hold_token_is_answered_like_a_hold_that_does_not_exist(desk, chain_a):
    clinic, patients, owner = desk
    body = {k: v for k, v in _body(clinic, patients[0]).items() if k != "patient"}
    hold = owner.call("POST", "/api/v1/holds/", body).json()
    wrong = {"hold_token": "x" * len(hold["hold_token"]), "patient": patients[0].pk}
    missing = assert_error(owner.call("POST", "/api/v1/holds/999999/confirm/", wrong), 404, "not_found")
    forged = assert_error(owner.call("POST", f"/api/v1/holds/{hold['id']}/confirm/", wrong), 404, "not_found")
    assert forged["message"] == missing["message"]
    with schema_context(chain_a.schema):
        assert Appointment.objects.get(pk=hold["id"]).status == Status.HELD


def test_cancelling_a_leave_twice_is_an_illegal_transition(desk, chain_a):
    clinic, _patients, owner = desk
    start = clinic.at(_day(30), 9)
    leave = owner.call(
        "POST",
        "/api/v1/scheduling/leave/",
        {"doctor": clinic.doctors[0].pk, "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
    )
    assert leave.status_code == 201, leave.content
    path = f"/api/v1/scheduling/leave/{leave.json()['id']}/cancel/"
    assert owner.call("POST", path).status_code == 200
    assert_error(owner.call("POST", path), 409, "illegal_transition")
