"""The API's set-up changes and series changes: the same services as the pages."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import Appointment, DoctorService, ExtraShift, Room, ShiftPattern, SpecialDay
from scheduling.selectors import service_price
from tests.factories.scheduling import MONDAY, book, clinic_setup, doctor
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


# --- a set-up change is checked against what the day becomes ------------------------------------
def _extra(clinic, day):
    """The first doctor's extra shift 18-19 on `day`."""
    return sched.extra_shift_create(
        actor=clinic.owner, doctor=clinic.doctors[0], branch=clinic.branch, day=day, starts=time(18), ends=time(19)
    )


def _late_hours(clinic):
    """MONDAY: weekly hours 08-18, special hours 08-20, the first doctor's extra shift 18-19 and a
    booking at 18:00 that only the special hours hold."""
    special = sched.special_day_create(
        actor=clinic.owner, branch=clinic.branch, day=MONDAY, opens=time(8), closes=time(20), note="Late"
    )
    _extra(clinic, MONDAY)
    book(clinic, clinic.at(MONDAY, 18))
    return special


def test_removing_wider_special_hours_that_hold_a_booking_is_refused(clinic, chain_a, api):
    # given special hours 08-20 on MONDAY holding a booking at 18:00 (weekly hours end at 18:00)
    with schema_context(chain_a.schema):
        special = _late_hours(clinic)
    # when the manager removes them
    answer = api(chain_a, "branch_manager").call(
        "DELETE", f"/api/v1/branches/{clinic.branch.pk}/special-days/{special.pk}/"
    )
    # then it is refused: the weekly hours MONDAY falls back to would strand the booking
    assert_error(answer, 409, "appointments_affected")
    with schema_context(chain_a.schema):
        assert SpecialDay.objects.get(pk=special.pk).closes == time(20)


def test_moving_special_hours_to_another_day_checks_the_day_they_leave(clinic, chain_a, api):
    # given special hours 08-20 on MONDAY holding a booking at 18:00
    with schema_context(chain_a.schema):
        special = _late_hours(clinic)
    # when the manager moves them, unchanged, to the Tuesday after
    answer = api(chain_a, "branch_manager").call(
        "PATCH",
        f"/api/v1/branches/{clinic.branch.pk}/special-days/{special.pk}/",
        {"date": str(MONDAY + timedelta(days=1)), "opens": "08:00", "closes": "20:00", "note": "Moved"},
    )
    # then it is refused (MONDAY would close at 18:00) and the special day stays on MONDAY
    assert_error(answer, 409, "appointments_affected")
    with schema_context(chain_a.schema):
        kept = SpecialDay.objects.get(pk=special.pk)
        assert (kept.date, kept.note) == (MONDAY, "Late")


def test_the_past_of_extra_shifts_and_special_days_is_never_rewritten(clinic, chain_a, api):
    # given, two days ahead, an extra shift and a closure; and a closure on MONDAY
    with schema_context(chain_a.schema):
        soon = clinic.days_ahead(2)
        extra = _extra(clinic, soon)
        past_closure = sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=soon, note="Shut")
        future_closure = sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=MONDAY, note="Shut")
        future_extra = _extra(clinic, MONDAY)
    owner = api(chain_a, "owner")
    special_url = f"/api/v1/branches/{clinic.branch.pk}/special-days/"
    # when, five days on (both are then in the past), the owner edits or removes them, moves the
    # future ones into the past, or adds new ones there
    with time_machine.travel(timezone.now() + timedelta(days=5), tick=True):
        gone = str(soon)
        answers = [
            owner.call(
                "PATCH",
                f"/api/v1/scheduling/extra-shifts/{extra.pk}/",
                {"date": gone, "starts": "17:00", "ends": "19:00"},
            ),
            owner.call("DELETE", f"/api/v1/scheduling/extra-shifts/{extra.pk}/"),
            owner.call(
                "PATCH",
                f"/api/v1/scheduling/extra-shifts/{future_extra.pk}/",
                {"date": gone, "starts": "18:00", "ends": "19:00"},
            ),
            owner.call(
                "PATCH", f"{special_url}{past_closure.pk}/", {"date": gone, "opens": "09:00", "closes": "12:00"}
            ),
            owner.call("DELETE", f"{special_url}{past_closure.pk}/"),
            owner.call("PATCH", f"{special_url}{future_closure.pk}/", {"date": gone, "note": "Retro"}),
            owner.call("POST", special_url, {"date": gone, "note": "Retro"}),
            owner.call(
                "POST",
                "/api/v1/scheduling/extra-shifts/",
                {
                    "doctor": clinic.doctors[0].pk,
                    "branch": clinic.branch.pk,
                    "date": gone,
                    "starts": "20:00",
                    "ends": "21:00",
                },
            ),
        ]
    # then each is refused naming the date, and nothing changed
    for answer in answers:
        assert "date" in assert_error(answer, 400, "validation_error")["fields"]
    with schema_context(chain_a.schema):
        rows = [ExtraShift.objects.get(pk=e.pk) for e in (extra, future_extra)]
        assert [(e.date, e.starts) for e in rows] == [(soon, time(18)), (MONDAY, time(18))]
        closures = [SpecialDay.objects.get(pk=s.pk) for s in (past_closure, future_closure)]
        assert [(s.date, s.opens, s.note) for s in closures] == [(soon, None, "Shut"), (MONDAY, None, "Shut")]
        assert SpecialDay.objects.filter(branch=clinic.branch).count() == 2
        assert ExtraShift.objects.filter(doctor=clinic.doctors[0]).count() == 2


def test_a_manager_cannot_pull_another_branchs_doctor_into_hers(clinic, chain_a, api):
    # given a doctor who works at branch 2 only
    with schema_context(chain_a.schema):
        other = doctor(chain_a, chain_a.branches[1])
    manager = api(chain_a, "branch_manager")
    # when branch 1's manager ticks her for the service at branch 1, or gives her services there
    ticked = manager.call(
        "PUT",
        f"/api/v1/scheduling/services/{clinic.service.pk}/offerings/",
        {"branch": clinic.branch.pk, "doctor_ids": [d.pk for d in clinic.doctors] + [other.pk]},
    )
    offered = manager.call(
        "PUT",
        "/api/v1/scheduling/offerings/",
        {"doctor": other.pk, "branch": clinic.branch.pk, "service_ids": [clinic.service.pk]},
    )
    # then both are refused, and she works and offers where she did
    assert "doctor_ids" in assert_error(ticked, 400, "validation_error")["fields"]
    assert offered.status_code == 400, offered.content
    with schema_context(chain_a.schema):
        assert set(other.branches.values_list("pk", flat=True)) == {chain_a.branches[1].pk}
        assert not DoctorService.objects.filter(doctor=other).exists()
        assert DoctorService.objects.filter(service=clinic.service, branch=clinic.branch).count() == 2


def test_a_manager_cannot_pull_another_branchs_doctor_in_by_giving_her_shifts(clinic, chain_a, api):
    # given a doctor who works at branch 2 only
    with schema_context(chain_a.schema):
        other = doctor(chain_a, chain_a.branches[1])
        shifts_before = ShiftPattern.objects.filter(doctor=other).count()
    manager = api(chain_a, "branch_manager")
    # when branch 1's manager gives her a weekly shift, or an extra shift, at branch 1
    weekly = manager.call(
        "POST",
        "/api/v1/scheduling/shifts/",
        {
            "doctor": other.pk,
            "branch": clinic.branch.pk,
            "weekday": MONDAY.weekday(),
            "starts": "09:00",
            "ends": "12:00",
            "valid_from": str(MONDAY),
        },
    )
    extra = manager.call(
        "POST",
        "/api/v1/scheduling/extra-shifts/",
        {"doctor": other.pk, "branch": clinic.branch.pk, "date": str(MONDAY), "starts": "18:00", "ends": "19:00"},
    )
    # then both are refused, and she still works at branch 2 only, with no new shift
    assert "doctor" in assert_error(weekly, 400, "validation_error")["fields"]
    assert "doctor" in assert_error(extra, 400, "validation_error")["fields"]
    with schema_context(chain_a.schema):
        assert set(other.branches.values_list("pk", flat=True)) == {chain_a.branches[1].pk}
        assert ShiftPattern.objects.filter(doctor=other).count() == shifts_before
        assert not ExtraShift.objects.filter(doctor=other).exists()


def test_an_extra_shift_may_not_overlap_the_doctors_weekly_shift(clinic, chain_a, api):
    # given the first doctor's weekly shift 09-17 on MONDAY and an extra shift 18-19 that day
    with schema_context(chain_a.schema):
        extra = _extra(clinic, MONDAY)
    owner = api(chain_a, "owner")
    # when the owner moves it to 16:00-18:00, or adds one at 10:00-12:00
    moved = owner.call(
        "PATCH",
        f"/api/v1/scheduling/extra-shifts/{extra.pk}/",
        {"date": str(MONDAY), "starts": "16:00", "ends": "18:00"},
    )
    added = owner.call(
        "POST",
        "/api/v1/scheduling/extra-shifts/",
        {
            "doctor": clinic.doctors[0].pk,
            "branch": clinic.branch.pk,
            "date": str(MONDAY),
            "starts": "10:00",
            "ends": "12:00",
        },
    )
    # then both are refused naming the weekly shift, and the extra shift is as it was
    for answer in (moved, added):
        assert "09:00-17:00" in assert_error(answer, 409, "shift_overlap")["message"]
    with schema_context(chain_a.schema):
        assert ExtraShift.objects.get(pk=extra.pk).starts == time(18)
        assert ExtraShift.objects.filter(doctor=clinic.doctors[0]).count() == 1
