from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django_tenants.utils import schema_context

from scheduling.models import Appointment, CalendarEntry
from tenants.audit.models import AccessLog
from tests.factories.scheduling import MONDAY, clinic_setup, zulu
from tests.helpers import Api, assert_error


@pytest.fixture
def desk(api, chain_a):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, requires_room=False)
        patients = [clinic.patient() for _ in range(3)]
    return clinic, patients, api(chain_a, "receptionist")


def _body(clinic, patient, start, **extra):
    return {
        "patient": patient.pk,
        "doctor": clinic.doctors[0].pk,
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "start": start.isoformat(),
        **extra,
    }


def _count(chain, **filters):
    with schema_context(chain.schema):
        return Appointment.objects.filter(**filters).count()


def test_book_read_and_walk_through_a_visit(desk, chain_a, api):
    clinic, patients, reception = desk
    response = reception.call("POST", "/api/v1/appointments/", _body(clinic, patients[0], clinic.at(MONDAY, 10)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "booked"
    assert body["patient"]["id"] == patients[0].pk
    assert body["timezone"] == "Europe/London"
    assert body["start"] == zulu(clinic.at(MONDAY, 10))
    pk = body["id"]

    early = reception.call("POST", f"/api/v1/appointments/{pk}/check-in/")
    assert_error(early, 409, "illegal_transition")  # not before the day of the appointment
    with time_machine.travel(clinic.at(MONDAY, 9, 45), tick=True):
        reception = Api(chain_a.host, chain_a.email("receptionist"))  # a token of that morning (tokens expire)
        for action, status in (("confirm", "confirmed"), ("check-in", "checked_in")):
            assert reception.call("POST", f"/api/v1/appointments/{pk}/{action}/").json()["status"] == status
        assert_error(reception.call("POST", f"/api/v1/appointments/{pk}/confirm/"), 409, "illegal_transition")
    with schema_context(chain_a.schema):
        assert AccessLog.objects.filter(
            object_type="appointment", object_id=str(pk), patient_id=patients[0].pk
        ).exists()


def test_conflicts_are_409_with_the_rule_named(desk, chain_a):
    clinic, patients, reception = desk
    assert (
        reception.call("POST", "/api/v1/appointments/", _body(clinic, patients[0], clinic.at(MONDAY, 10))).status_code
        == 201
    )
    error = assert_error(
        reception.call("POST", "/api/v1/appointments/", _body(clinic, patients[1], clinic.at(MONDAY, 10, 15))),
        409,
        "doctor_busy",
    )
    assert "already has an appointment" in error["message"]
    assert_error(
        reception.call("POST", "/api/v1/appointments/", _body(clinic, patients[1], clinic.at(MONDAY, 7))),
        409,
        "branch_closed",
    )
    assert_error(
        reception.call(
            "POST",
            "/api/v1/appointments/",
            _body(clinic, patients[0], clinic.at(MONDAY, 10), doctor=clinic.doctors[1].pk),
        ),
        409,
        "patient_busy",
    )
    assert _count(chain_a, branch=clinic.branch) == 1


def test_idempotency_key_header(desk, chain_a):
    clinic, patients, reception = desk
    body = _body(clinic, patients[0], clinic.at(MONDAY, 11))
    reception.client.defaults["HTTP_IDEMPOTENCY_KEY"] = "phone-call-42"
    first = reception.call("POST", "/api/v1/appointments/", body)
    second = reception.call("POST", "/api/v1/appointments/", body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert _count(chain_a, patient=patients[0]) == 1
    assert_error(
        reception.call("POST", "/api/v1/appointments/", {**body, "start": clinic.at(MONDAY, 12).isoformat()}),
        409,
        "idempotency_key_reused",
    )


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"start": f"{MONDAY}T10:00:00"}, {"start"}),  # no offset
        ({"start": "tomorrow"}, {"start"}),
        ({"patient": 999999}, {"patient"}),
        ({"doctor": "x", "service": None}, {"doctor", "service"}),
        ({"source": "online"}, {"source"}),
        ({"start": f"{MONDAY}T10:07:00+01:00"}, {"start"}),  # off the 5-minute grid
    ],
)
def test_bad_booking_input(desk, chain_a, change, fields):
    clinic, patients, reception = desk
    error = assert_error(
        reception.call(
            "POST", "/api/v1/appointments/", {**_body(clinic, patients[0], clinic.at(MONDAY, 10)), **change}
        ),
        400,
        "validation_error",
    )
    assert fields <= set(error["fields"]), error
    assert _count(chain_a, branch=clinic.branch) == 0


def test_malformed_and_unknown(desk):
    clinic, _patients, reception = desk
    assert_error(reception.call("POST", "/api/v1/appointments/", raw="{"), 400, "malformed_request")
    for path in (
        "/api/v1/appointments/999999/",
        "/api/v1/appointments/999999/cancel/",
        f"/api/v1/calendar/branches/999999/day/{MONDAY}/",
    ):
        method = "GET" if path.endswith("/") and "cancel" not in path else "POST"
        assert_error(reception.call(method, path), 404, "not_found")
    assert_error(reception.call("GET", f"/api/v1/calendar/branches/{clinic.branch.pk}/day/{MONDAY.year}-02-30/"), 404)
    error = assert_error(
        reception.call(
            "GET",
            f"/api/v1/availability/?service={clinic.service.pk}&branch={clinic.branch.pk}"
            f"&date_from={MONDAY}&date_to={MONDAY - timedelta(days=6)}",
        ),
        400,
        "validation_error",
    )
    assert "date_to" in error["fields"]


def test_availability_then_book_an_offered_slot(desk):
    clinic, patients, reception = desk
    query = f"service={clinic.service.pk}&branch={clinic.branch.pk}&date_from={MONDAY}&date_to={MONDAY}&step=30"
    slots = reception.call("GET", f"/api/v1/availability/?{query}").json()
    assert len(slots) == 2 * 16  # two doctors, 09:00-17:00 in 30-minute slots
    pick = slots[5]
    body = {**_body(clinic, patients[0], clinic.at(MONDAY, 9), doctor=pick["doctor"]), "start": pick["start"]}
    assert reception.call("POST", "/api/v1/appointments/", body).status_code == 201
    after = reception.call("GET", f"/api/v1/availability/?{query}").json()
    assert pick not in after
    assert len(after) == len(slots) - 1


def test_reschedule_cancel_and_the_day_calendar(desk, chain_a):
    clinic, patients, reception = desk
    pk = reception.call("POST", "/api/v1/appointments/", _body(clinic, patients[0], clinic.at(MONDAY, 10))).json()["id"]
    moved = reception.call(
        "POST", f"/api/v1/appointments/{pk}/reschedule/", {"start": clinic.at(MONDAY, 14).isoformat()}
    )
    assert moved.status_code == 200
    assert moved.json()["start"] == zulu(clinic.at(MONDAY, 14))
    day = reception.call("GET", f"/api/v1/calendar/branches/{clinic.branch.pk}/day/{MONDAY}/").json()
    assert [e["id"] for e in day] == [pk]
    cancelled = reception.call("POST", f"/api/v1/appointments/{pk}/cancel/", {"reason": "Patient asked"})
    assert cancelled.json()["status"] == "cancelled"
    week = reception.call("GET", f"/api/v1/calendar/doctors/{clinic.doctors[0].pk}/week/{MONDAY}/").json()
    assert week[0]["status"] == "cancelled"


def test_walk_in_series_holds_and_leave(desk, chain_a, api):
    clinic, patients, reception = desk
    series = reception.call(
        "POST",
        "/api/v1/appointments/series/",
        {**_body(clinic, patients[1], clinic.at(MONDAY, 9)), "count": 4, "every_days": 7},
    )
    assert series.status_code == 201
    assert [o["problem"] for o in series.json()] == [None] * 4
    hold = reception.call(
        "POST",
        "/api/v1/holds/",
        {
            "doctor": clinic.doctors[1].pk,
            "branch": clinic.branch.pk,
            "service": clinic.service.pk,
            "start": clinic.at(MONDAY, 15).isoformat(),
        },
    )
    assert hold.status_code == 201
    confirmed = reception.call(
        "POST",
        f"/api/v1/holds/{hold.json()['id']}/confirm/",
        {"hold_token": hold.json()["hold_token"], "patient": patients[2].pk},
    )
    assert confirmed.json()["status"] == "booked"
    manager = api(chain_a, "branch_manager")
    leave = manager.call(
        "POST",
        "/api/v1/scheduling/leave/",
        {
            "doctor": clinic.doctors[0].pk,
            "start": clinic.at(MONDAY, 8).isoformat(),
            "end": clinic.at(MONDAY, 18).isoformat(),
        },
    )
    error = assert_error(leave, 409, "leave_conflicts_appointments")
    assert len(error["fields"]["appointments"]) == 1


def test_permissions(api, chain_a, desk):
    clinic, patients, _reception = desk
    body = _body(clinic, patients[0], clinic.at(MONDAY, 10))
    assert_error(api(chain_a).call("POST", "/api/v1/appointments/", body), 401)
    assert_error(api(chain_a, "billing").call("POST", "/api/v1/appointments/", body), 403, "permission_denied")
    assert_error(
        api(chain_a, "receptionist").call(
            "POST", "/api/v1/appointments/", {**body, "override": True, "override_reason": "x"}
        ),
        403,
    )
    assert_error(
        api(chain_a, "receptionist").call(
            "POST", "/api/v1/scheduling/services/", {"name": "X", "duration_minutes": 30}
        ),
        403,
    )
    assert _count(chain_a) == 0
    manager = api(chain_a, "branch_manager")
    assert manager.call("POST", "/api/v1/appointments/", body).status_code == 201
    forced = manager.call(
        "POST",
        "/api/v1/appointments/",
        {**body, "patient": patients[1].pk, "override": True, "override_reason": "Urgent"},
    )
    assert forced.status_code == 201
    assert forced.json()["is_override"] is True


def test_catalogue_api(api, chain_a):
    owner = api(chain_a, "owner")
    service = owner.call(
        "POST", "/api/v1/scheduling/services/", {"name": "Physio", "duration_minutes": 45, "buffer_after_minutes": 10}
    )
    assert service.status_code == 201
    assert_error(
        owner.call("POST", "/api/v1/scheduling/services/", {"name": "physio", "duration_minutes": 45}),
        409,
        "name_taken",
    )
    assert_error(
        owner.call("POST", "/api/v1/scheduling/services/", {"name": "Odd", "duration_minutes": 7}),
        400,
        "validation_error",
    )
    branch = chain_a.branches[0].pk
    hours = owner.call(
        "PUT",
        f"/api/v1/branches/{branch}/hours/",
        {
            "hours": [
                {"weekday": 0, "opens": "08:00", "closes": "12:00"},
                {"weekday": 0, "opens": "13:00", "closes": "18:00"},
            ]
        },
    )
    assert hours.status_code == 200
    assert len(hours.json()) == 2
    assert_error(
        owner.call(
            "PUT",
            f"/api/v1/branches/{branch}/hours/",
            {
                "hours": [
                    {"weekday": 0, "opens": "08:00", "closes": "12:00"},
                    {"weekday": 0, "opens": "11:00", "closes": "18:00"},
                ]
            },
        ),
        400,
    )
    assert_error(
        owner.call(
            "PUT", f"/api/v1/branches/{branch}/hours/", {"hours": [{"weekday": 9, "opens": "08:00", "closes": "07:00"}]}
        ),
        400,
    )
    doctor = chain_a.users["doctor"].staff.pk
    shift = {
        "doctor": doctor,
        "branch": branch,
        "weekday": 0,
        "starts": "09:00",
        "ends": "13:00",
        "valid_from": str(MONDAY),
    }
    assert owner.call("POST", "/api/v1/scheduling/shifts/", shift).status_code == 201
    assert_error(
        owner.call("POST", "/api/v1/scheduling/shifts/", {**shift, "starts": "12:00", "ends": "14:00"}),
        409,
        "shift_overlap",
    )
    assert_error(
        owner.call("POST", "/api/v1/scheduling/shifts/", {**shift, "doctor": chain_a.users["billing"].staff.pk}), 400
    )
    policy = owner.call("PATCH", "/api/v1/scheduling/policy/", {"cancellation_window_hours": 48})
    assert policy.json()["cancellation_window_hours"] == 48
    assert_error(owner.call("PATCH", "/api/v1/scheduling/policy/", {"online_slot_step_minutes": 7}), 400)
    with schema_context(chain_a.schema):
        assert not CalendarEntry.objects.exists()
