"""The API's set-up changes and series changes: the same services as the pages."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import Appointment, DoctorService, ExtraShift, Room, ShiftPattern, SpecialDay
from scheduling.selectors import service_price
from tests.factories.scheduling import MONDAY, clinic_setup
from tests.helpers import assert_error


@pytest.fixture
def clinic(chain_a):
    with schema_context(chain_a.schema):
        return clinic_setup(chain_a, doctors=2, rooms=1)


def _series(clinic, patient, *, count=4, hour=10):
    _, results = sched.series_book(
        actor=clinic.receptionist,
        patient=patient,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        first_start=clinic.at(MONDAY, hour),
        count=count,
    )
    return [r.appointment for r in results]


def test_offerings_prices_and_rooms_through_the_api(clinic, chain_a, api):
    # given the owner's API client
    owner = api(chain_a, "owner")
    first, second = clinic.doctors
    # when the service's doctors at the branch are set to the second only
    answer = owner.call(
        "PUT",
        f"/api/v1/scheduling/services/{clinic.service.pk}/offerings/",
        {"branch": clinic.branch.pk, "doctor_ids": [second.pk]},
    )
    # then the first no longer offers it
    assert answer.status_code == 200
    assert answer.json()["doctor_ids"] == [second.pk]
    with schema_context(chain_a.schema):
        assert not DoctorService.objects.filter(doctor=first, service=clinic.service).exists()
    # a branch price is set, read back, and falls back when removed
    url = f"/api/v1/scheduling/services/{clinic.service.pk}/prices/"
    assert owner.call("PUT", url, {"branch": clinic.branch.pk, "price_minor": 4200}).json()["price_minor"] == 4200
    rows = {r["branch"]: r for r in owner.call("GET", url).json()}
    assert rows[clinic.branch.pk] == {"branch": clinic.branch.pk, "price_minor": 4200, "own_price": True}
    assert rows[chain_a.branches[1].pk]["own_price"] is False
    assert owner.call("PUT", url, {"branch": clinic.branch.pk, "price_minor": None}).json()["own_price"] is False
    with schema_context(chain_a.schema):
        assert service_price(service=clinic.service, branch=clinic.branch) == clinic.service.price_minor
    # a room goes out of use
    room = clinic.rooms[0]
    assert (
        owner.call("PATCH", f"/api/v1/scheduling/rooms/{room.pk}/", {"is_active": False}).json()["is_active"] is False
    )


def test_the_receptionist_changes_no_set_up(clinic, chain_a, api):
    # given the receptionist's API client
    desk = api(chain_a, "receptionist")
    room = clinic.rooms[0]
    with schema_context(chain_a.schema):
        pattern = ShiftPattern.objects.filter(doctor=clinic.doctors[0]).first()
    # when she tries each change
    answers = [
        desk.call(
            "PUT",
            f"/api/v1/scheduling/services/{clinic.service.pk}/offerings/",
            {"branch": clinic.branch.pk, "doctor_ids": []},
        ),
        desk.call(
            "PUT",
            f"/api/v1/scheduling/services/{clinic.service.pk}/prices/",
            {"branch": clinic.branch.pk, "price_minor": 1},
        ),
        desk.call("PATCH", f"/api/v1/scheduling/rooms/{room.pk}/", {"is_active": False}),
        desk.call("POST", f"/api/v1/scheduling/shifts/{pattern.pk}/end/", {"last_day": str(MONDAY)}),
    ]
    # then each is refused and nothing changed
    for answer in answers:
        assert_error(answer, 403)
    with schema_context(chain_a.schema):
        assert DoctorService.objects.filter(service=clinic.service).count() == 2
        assert Room.objects.get(pk=room.pk).is_active
        assert ShiftPattern.objects.get(pk=pattern.pk).valid_until is None


def test_shifts_extra_shifts_and_special_days_through_the_api(clinic, chain_a, api):
    # given a booking at 10:00 on MONDAY with the first doctor
    manager = api(chain_a, "branch_manager")
    doc = clinic.doctors[0]
    with schema_context(chain_a.schema):
        sched.appointment_book(
            actor=clinic.receptionist,
            patient=clinic.patient(),
            doctor=doc,
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(MONDAY, 10),
        )
        pattern = ShiftPattern.objects.get(doctor=doc, weekday=MONDAY.weekday())
        extra = sched.extra_shift_create(
            actor=clinic.owner,
            doctor=doc,
            branch=clinic.branch,
            day=MONDAY + timedelta(days=1),
            starts=time(18),
            ends=time(19),
        )
        special = sched.special_day_create(
            actor=clinic.owner, branch=clinic.branch, day=MONDAY, opens=time(8), closes=time(18), note="Same"
        )
    # ending the shift before MONDAY, or narrowing it over 10:00, is refused naming the rule
    end = manager.call(
        "POST", f"/api/v1/scheduling/shifts/{pattern.pk}/end/", {"last_day": str(MONDAY - timedelta(days=1))}
    )
    assert_error(end, 409, "appointments_affected")
    narrow = manager.call(
        "PATCH",
        f"/api/v1/scheduling/shifts/{pattern.pk}/",
        {"starts": "12:00", "ends": "17:00", "from_day": str(MONDAY)},
    )
    assert_error(narrow, 409, "appointments_affected")
    # so is closing MONDAY with a special day, or narrowing the one there
    special_url = f"/api/v1/branches/{clinic.branch.pk}/special-days/{special.pk}/"
    assert_error(manager.call("PATCH", special_url, {"date": str(MONDAY), "opens": "11:00", "closes": "18:00"}), 409)
    # widening is fine, and removing the special day too
    assert (
        manager.call("PATCH", special_url, {"date": str(MONDAY), "opens": "07:00", "closes": "19:00"}).status_code
        == 200
    )
    assert manager.call("DELETE", special_url).status_code == 204
    # the shift ends after MONDAY; the extra shift moves, then goes
    ended = manager.call("POST", f"/api/v1/scheduling/shifts/{pattern.pk}/end/", {"last_day": str(MONDAY)})
    assert ended.json()["valid_until"] == str(MONDAY)
    moved = manager.call(
        "PATCH",
        f"/api/v1/scheduling/extra-shifts/{extra.pk}/",
        {"date": str(MONDAY + timedelta(days=2)), "starts": "18:00", "ends": "19:30"},
    )
    assert moved.json()["ends"] == "19:30:00"
    assert manager.call("DELETE", f"/api/v1/scheduling/extra-shifts/{extra.pk}/").status_code == 204
    with schema_context(chain_a.schema):
        assert not ExtraShift.objects.filter(pk=extra.pk).exists()
        assert not SpecialDay.objects.filter(pk=special.pk).exists()


def test_cancel_and_move_the_rest_of_a_series_through_the_api(clinic, chain_a, api):
    # given a weekly series of four at 10:00 from MONDAY
    desk = api(chain_a, "receptionist")
    with schema_context(chain_a.schema):
        booked = _series(clinic, clinic.patient())
        blocker = clinic.patient()
        # someone else has the first doctor at 11:00 three weeks ahead
        sched.appointment_book(
            actor=clinic.receptionist,
            patient=blocker,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(MONDAY + timedelta(days=21), 11),
        )
    # when the rest from the second is moved to 11:00: the fourth cannot, so none moves
    url = f"/api/v1/appointments/{booked[1].pk}/series/move-rest/"
    refused = desk.call("POST", url, {"start": clinic.at(MONDAY + timedelta(days=7), 11).isoformat()})
    error = assert_error(refused, 409, "series_conflicts")
    assert len(error["fields"]) == 1
    with schema_context(chain_a.schema):
        starts = [Appointment.objects.get(pk=a.pk).span.lower for a in booked]
    assert starts == [a.span.lower for a in booked]
    # moving them to 12:00 moves the second, third and fourth, not the first
    moved = desk.call("POST", url, {"start": clinic.at(MONDAY + timedelta(days=7), 12).isoformat()})
    assert moved.status_code == 200
    assert [r["appointment"] for r in moved.json()] == [a.pk for a in booked[1:]]
    with schema_context(chain_a.schema):
        local = [Appointment.objects.get(pk=a.pk).span.lower.astimezone(clinic.tz).hour for a in booked]
    assert local == [10, 12, 12, 12]
    # cancelling the rest from the third leaves the first two
    cancelled = desk.call("POST", f"/api/v1/appointments/{booked[2].pk}/series/cancel-rest/", {"reason": "Moving away"})
    assert [r["status"] for r in cancelled.json()] == ["cancelled", "cancelled"]
    with schema_context(chain_a.schema):
        assert [Appointment.objects.get(pk=a.pk).status for a in booked] == [
            "booked",
            "booked",
            "cancelled",
            "cancelled",
        ]


def test_a_billing_clerk_cannot_cancel_a_series(clinic, chain_a, api):
    # given a series
    with schema_context(chain_a.schema):
        booked = _series(clinic, clinic.patient(), count=2)
    # when billing asks to cancel the rest
    answer = api(chain_a, "billing").call("POST", f"/api/v1/appointments/{booked[0].pk}/series/cancel-rest/", {})
    # then it is not found for them (not a branch they see) or refused, and nothing is cancelled
    assert answer.status_code in (403, 404)
    with schema_context(chain_a.schema):
        assert {Appointment.objects.get(pk=a.pk).status for a in booked} == {"booked"}
