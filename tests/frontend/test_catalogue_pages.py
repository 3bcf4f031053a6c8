from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.exceptions import BookingRefused, InvalidScheduling
from scheduling.models import (
    Appointment,
    BranchHours,
    DoctorService,
    ExtraShift,
    Room,
    Service,
    ServicePrice,
    ShiftPattern,
    SpecialDay,
)
from scheduling.selectors import policy_get, service_price, services_offered, slot_list_available
from tests.factories.scheduling import MONDAY, book, clinic_setup, doctor
from tests.helpers import sign_in


def _login(client, chain, role):
    with schema_context(chain.schema):
        sign_in(client, chain.users[role])


def test_owner_manages_services_and_booking_rules(in_a, client):
    _login(client, in_a, "owner")
    form = {
        "name": "Dermatology",
        "duration_minutes": 25,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 5,
        "price": "90.00",
        "bookable_online": "on",
        "is_active": "on",
    }
    assert client.post("/settings/services/", form, HTTP_HOST=in_a.host).status_code == 302
    assert Service.objects.get(name="Dermatology").buffer_after_minutes == 5
    assert Service.objects.get(name="Dermatology").price_minor == 9000
    assert Service.objects.get(name="Dermatology").length_adjustable is False
    # the owner lets staff change a dermatology visit's length on the book
    derm = Service.objects.get(name="Dermatology")
    page = client.get(f"/settings/services/{derm.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert "Staff may change a visit&#x27;s length" in page
    adjusted = {**form, "length_adjustable": "on"}
    assert client.post(f"/settings/services/{derm.pk}/", adjusted, HTTP_HOST=in_a.host).status_code == 302
    assert Service.objects.get(name="Dermatology").length_adjustable is True
    bad = client.post(
        "/settings/services/", {**form, "name": "dermatology", "duration_minutes": 7}, HTTP_HOST=in_a.host
    )
    assert bad.status_code == 200  # errors on the form, nothing saved
    assert Service.objects.filter(name__iexact="dermatology").count() == 1
    rules = {
        "cancellation_window_hours": 48,
        "online_min_notice_minutes": 60,
        "online_horizon_days": 30,
        "online_slot_step_minutes": 10,
        "hold_minutes": 5,
        "no_show_auto": "on",
        "no_show_grace_minutes": 15,
        "no_show_flag_after": 2,
        "no_show_flag_months": 12,
    }
    assert client.post("/settings/booking-rules/", rules, HTTP_HOST=in_a.host).status_code == 302
    assert policy_get().cancellation_window_hours == 48


def test_changing_hours_lists_the_appointments_that_fall_outside(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    book(clinic, clinic.at(MONDAY, 16), actor=clinic.owner, patient=clinic.patient("Late"))
    _login(client, in_a, "branch_manager")
    hours = {f"opens_{d}": "09:00" for d in range(5)} | {f"closes_{d}": "13:00" for d in range(5)}
    url = f"/settings/branches/{clinic.branch.pk}/hours/"
    first = client.post(url, hours, HTTP_HOST=in_a.host)
    assert first.status_code == 200
    assert b"Booked outside the new hours" in first.content
    assert b"Late" in first.content
    assert BranchHours.objects.filter(branch=clinic.branch).count() == 7  # unchanged until confirmed
    client.post(url, {**hours, "confirm": "1"}, HTTP_HOST=in_a.host)
    assert BranchHours.objects.filter(branch=clinic.branch).count() == 5


def test_rooms_and_shifts_page(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    _login(client, in_a, "owner")
    url = f"/settings/branches/{clinic.branch.pk}/calendar/"
    client.post(url, {"add_room": "1", "name": "Minor ops"}, HTTP_HOST=in_a.host)
    assert Room.objects.filter(branch=clinic.branch, name="Minor ops").exists()
    shift = {
        "add_shift": "1",
        "doctor": clinic.doctors[0].pk,
        "weekday": 0,
        "starts": "07:00",
        "ends": "08:30",
        "valid_from": str(MONDAY),
    }
    client.post(url, shift, HTTP_HOST=in_a.host)
    assert ShiftPattern.objects.filter(doctor=clinic.doctors[0], starts="07:00").exists()
    overlap = client.post(url, {**shift, "starts": "08:00", "ends": "10:00"}, HTTP_HOST=in_a.host)
    assert b"already works at that time" in overlap.content


def test_receptionists_cannot_change_the_catalogue(in_a, client):
    _login(client, in_a, "receptionist")
    assert client.get("/settings/services/", HTTP_HOST=in_a.host).status_code == 403
    assert client.get(f"/settings/branches/{in_a.branches[0].pk}/hours/", HTTP_HOST=in_a.host).status_code == 403


def test_closures_close_a_day_for_booking(in_a, client):
    clinic = clinic_setup(in_a, doctors=1)
    _login(client, in_a, "owner")
    url = f"/settings/branches/{clinic.branch.pk}/hours/"
    client.post(
        url, {"add_closure": "1", "closure_date": str(MONDAY), "closure_note": "Bank holiday"}, HTTP_HOST=in_a.host
    )
    assert b"Bank holiday" in client.get(url, HTTP_HOST=in_a.host).content
    patient = clinic.patient()
    with pytest.raises(BookingRefused) as refused:
        book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=patient)
    assert refused.value.code == "branch_closed"


# --- issue 10: every set-up task from the pages -----------------------------------------------------
def _post(client, chain, url, data):
    return client.post(url, data, HTTP_HOST=chain.host)


def _offered(doctor, branch):
    return set(DoctorService.objects.filter(doctor=doctor, branch=branch).values_list("service_id", flat=True))


def test_staff_page_ticks_a_new_doctors_services_and_she_becomes_bookable(in_a, client):
    # given a doctor invited to the branch, with shifts, offering nothing
    clinic = clinic_setup(in_a, doctors=1)
    newcomer = doctor(in_a, clinic.branch)
    sched.shift_pattern_create(
        actor=clinic.owner,
        doctor=newcomer,
        branch=clinic.branch,
        weekday=MONDAY.weekday(),
        starts=time(9),
        ends=time(12),
        valid_from=MONDAY,
    )
    slots = slot_list_available(service=clinic.service, branch=clinic.branch, date_from=MONDAY, date_to=MONDAY)
    assert newcomer.pk not in {s.doctor_id for s in slots}
    _login(client, in_a, "owner")
    page = client.get(f"/settings/staff/{newcomer.pk}/", HTTP_HOST=in_a.host)
    assert clinic.service.name.encode() in page.content
    # when the owner ticks the service at the branch on the staff page
    response = _post(
        client,
        in_a,
        f"/settings/staff/{newcomer.pk}/offerings/",
        {"branch": clinic.branch.pk, "service": [clinic.service.pk]},
    )
    # then she offers it and the booking plan offers her times
    assert response.status_code == 302
    assert _offered(newcomer, clinic.branch) == {clinic.service.pk}
    slots = slot_list_available(service=clinic.service, branch=clinic.branch, date_from=MONDAY, date_to=MONDAY)
    assert newcomer.pk in {s.doctor_id for s in slots}


def test_service_page_ticks_the_doctors_at_a_branch(in_a, client):
    # given a service two doctors offer
    clinic = clinic_setup(in_a, doctors=2)
    first, second = clinic.doctors
    _login(client, in_a, "owner")
    page = client.get(f"/settings/services/{clinic.service.pk}/", HTTP_HOST=in_a.host)
    assert f"At {clinic.branch}".encode() in page.content
    # when the owner leaves only the second ticked
    _post(
        client,
        in_a,
        f"/settings/services/{clinic.service.pk}/",
        {"set_offerings": "1", "branch": clinic.branch.pk, "doctor": [second.pk]},
    )
    # then the first no longer offers it there
    assert _offered(first, clinic.branch) == set()
    assert _offered(second, clinic.branch) == {clinic.service.pk}


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("branch_manager", True), ("receptionist", False)])
def test_who_may_tick_a_doctors_services(in_a, client, role, allowed):
    # given a doctor of the first branch (the manager's) offering the clinic's service
    clinic = clinic_setup(in_a, doctors=1)
    doc = clinic.doctors[0]
    other = sched.service_create(actor=clinic.owner, name=f"Extra {role}", duration_minutes=20)
    _login(client, in_a, role)
    # when they tick another service for her
    response = _post(
        client, in_a, f"/settings/staff/{doc.pk}/offerings/", {"branch": clinic.branch.pk, "service": [other.pk]}
    )
    # then only owners and her branch's manager change it
    if allowed:
        assert response.status_code == 302
        assert _offered(doc, clinic.branch) == {other.pk}
    else:
        assert response.status_code in (403, 404)
        assert _offered(doc, clinic.branch) == {clinic.service.pk}


def test_a_manager_cannot_tick_services_at_a_branch_she_does_not_manage(in_a, client):
    # given a doctor of the first branch, and the second branch the manager does not manage
    clinic = clinic_setup(in_a, doctors=1)
    doc = clinic.doctors[0]
    _login(client, in_a, "branch_manager")
    # when the manager posts offerings at the second branch
    response = _post(
        client,
        in_a,
        f"/settings/staff/{doc.pk}/offerings/",
        {"branch": in_a.branches[1].pk, "service": [clinic.service.pk]},
    )
    # then nothing changes there
    assert response.status_code in (403, 404)
    assert _offered(doc, in_a.branches[1]) == set()


def test_service_page_sets_a_branch_price_and_the_booking_price_follows(in_a, client):
    # given a service at 5000 everywhere
    clinic = clinic_setup(in_a, doctors=1)
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=5000)
    other_branch = in_a.branches[1]
    _login(client, in_a, "owner")
    url = f"/settings/services/{clinic.service.pk}/"
    # when the owner sets 65.00 at the first branch
    _post(client, in_a, url, {"set_price": "1", "branch": clinic.branch.pk, "price": "65.00"})
    # then that branch charges 6500, the other the service's price
    clinic.service.refresh_from_db()
    assert service_price(service=clinic.service, branch=clinic.branch) == 6500
    assert service_price(service=clinic.service, branch=other_branch) == 5000
    assert ServicePrice.history.filter(service=clinic.service).count() == 1
    # and emptying it falls back to the service's price, keeping the old one in history
    _post(client, in_a, url, {"set_price": "1", "branch": clinic.branch.pk, "price": ""})
    assert service_price(service=clinic.service, branch=clinic.branch) == 5000
    assert ServicePrice.history.filter(service=clinic.service).count() == 2


def test_only_owners_set_prices(in_a, client):
    # given a service with no branch price
    clinic = clinic_setup(in_a, doctors=1)
    _login(client, in_a, "branch_manager")
    # when a branch manager posts a price for her own branch
    response = _post(
        client,
        in_a,
        f"/settings/services/{clinic.service.pk}/",
        {"set_price": "1", "branch": clinic.branch.pk, "price": "0.01"},
    )
    # then she is refused and nothing is stored
    assert response.status_code == 403
    assert not ServicePrice.objects.filter(service=clinic.service).exists()


def test_a_room_out_of_use_gets_no_new_bookings_and_keeps_its_appointments(in_a, client):
    # given a service that needs a room, one room, and an appointment in it
    clinic = clinic_setup(in_a, doctors=2, requires_room=True, rooms=1)
    room = clinic.rooms[0]
    kept = book(clinic, clinic.at(MONDAY, 9))
    assert kept.room_id == room.pk
    _login(client, in_a, "branch_manager")
    # when the manager takes the room out of use
    response = _post(
        client, in_a, f"/settings/branches/{clinic.branch.pk}/calendar/", {"room_active": room.pk, "is_active": "0"}
    )
    # then it is out of use, the appointment stays in it, and a new booking finds no room
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.is_active is False
    assert Appointment.objects.get(pk=kept.pk).room_id == room.pk
    with pytest.raises(BookingRefused) as refused:
        book(clinic, clinic.at(MONDAY, 11))
    assert refused.value.code == "room_taken"
    # and back in use, it is booked again
    _post(client, in_a, f"/settings/branches/{clinic.branch.pk}/calendar/", {"room_active": room.pk, "is_active": "1"})
    assert book(clinic, clinic.at(MONDAY, 11)).room_id == room.pk


def test_a_retired_service_is_not_offered_and_its_bookings_stay(in_a, client):
    # given a booked appointment of a service
    clinic = clinic_setup(in_a, doctors=1)
    kept = book(clinic, clinic.at(MONDAY, 9))
    _login(client, in_a, "owner")
    form = {
        "name": clinic.service.name,
        "duration_minutes": clinic.service.duration_minutes,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "price": "0",
        "bookable_online": "on",
    }
    # when the owner retires it ("Offered" unticked)
    assert _post(client, in_a, f"/settings/services/{clinic.service.pk}/", form).status_code == 302
    # then it cannot be booked, and the appointment stays booked
    clinic.service.refresh_from_db()
    with pytest.raises(InvalidScheduling):
        book(clinic, clinic.at(MONDAY, 11))
    assert Appointment.objects.get(pk=kept.pk).status == "booked"
    assert clinic.service not in services_offered(branch=clinic.branch)


def _monday_shift(clinic):
    return ShiftPattern.objects.get(doctor=clinic.doctors[0], weekday=MONDAY.weekday())


def _end_shift(client, chain, clinic, pattern, *, last_day):
    """The branch calendar page's form that ends a weekly shift after `last_day`, sent."""
    url = f"/settings/branches/{clinic.branch.pk}/calendar/"
    return _post(client, chain, url, {"end_shift": pattern.pk, "last_day": str(last_day)})


def test_ending_a_shift_keeps_the_past_and_closes_the_weeks_after(in_a, client):
    # given a doctor on shift every Monday
    clinic = clinic_setup(in_a, doctors=1)
    pattern = _monday_shift(clinic)
    _login(client, in_a, "branch_manager")
    # when the manager ends it on MONDAY
    response = _end_shift(client, in_a, clinic, pattern, last_day=MONDAY)
    # then the pattern ends that day (its start stays), MONDAY is bookable and the week after is not
    assert response.status_code == 302
    pattern.refresh_from_db()
    assert pattern.valid_until == MONDAY
    assert pattern.valid_from < MONDAY
    book(clinic, clinic.at(MONDAY, 9))
    with pytest.raises(BookingRefused) as refused:
        book(clinic, clinic.at(MONDAY + timedelta(days=7), 9))
    assert refused.value.code == "outside_shift"


def test_ending_a_shift_with_booked_appointments_is_refused_and_lists_them(in_a, client):
    # given a booked appointment two Mondays ahead
    clinic = clinic_setup(in_a, doctors=1)
    pattern = _monday_shift(clinic)
    later = book(clinic, clinic.at(MONDAY + timedelta(days=14), 10), patient=clinic.patient("Stranded"))
    _login(client, in_a, "owner")
    # when the owner tries to end the shift on MONDAY
    response = _end_shift(client, in_a, clinic, pattern, last_day=MONDAY)
    # then it is refused, the page lists the appointment, and nothing changed
    assert response.status_code == 200
    assert b"Booked appointments in the way" in response.content
    assert b"Stranded" in response.content
    assert f"/desk/appointments/{later.pk}/move/".encode() in response.content
    pattern.refresh_from_db()
    assert pattern.valid_until is None


def test_changing_a_shifts_hours_from_a_day_keeps_the_weeks_before(in_a, client):
    # given a Monday shift 09:00-17:00 since last year
    clinic = clinic_setup(in_a, doctors=1)
    pattern = _monday_shift(clinic)
    start_of_pattern = pattern.valid_from
    _login(client, in_a, "branch_manager")
    # when the manager changes it to 12:00-17:00 from MONDAY
    response = _post(
        client,
        in_a,
        f"/settings/shifts/{pattern.pk}/",
        {"starts": "12:00", "ends": "17:00", "from_day": str(MONDAY)},
    )
    # then the old hours end the day before, the new ones run from MONDAY
    assert response.status_code == 302
    rows = list(ShiftPattern.objects.filter(doctor=clinic.doctors[0], weekday=MONDAY.weekday()).order_by("valid_from"))
    assert [(r.valid_from, r.valid_until, r.starts) for r in rows] == [
        (start_of_pattern, MONDAY - timedelta(days=1), time(9)),
        (MONDAY, None, time(12)),
    ]
    with pytest.raises(BookingRefused):
        book(clinic, clinic.at(MONDAY, 9))


def test_changing_a_shift_over_a_booking_is_refused_and_lists_it(in_a, client):
    # given a 09:00 appointment on MONDAY
    clinic = clinic_setup(in_a, doctors=1)
    pattern = _monday_shift(clinic)
    book(clinic, clinic.at(MONDAY, 9), patient=clinic.patient("Early"))
    _login(client, in_a, "owner")
    # when the owner moves the shift to start at noon
    response = _post(
        client, in_a, f"/settings/shifts/{pattern.pk}/", {"starts": "12:00", "ends": "17:00", "from_day": str(MONDAY)}
    )
    # then it is refused with the appointment listed, and the shift is as it was
    assert response.status_code == 200
    assert b"Early" in response.content
    assert ShiftPattern.objects.filter(doctor=clinic.doctors[0], weekday=MONDAY.weekday()).count() == 1
    pattern.refresh_from_db()
    assert pattern.starts == time(9)


def test_extra_shifts_are_added_moved_and_cancelled_from_the_pages(in_a, client):
    # given a doctor with no shift on the Sunday before MONDAY
    clinic = clinic_setup(in_a, doctors=1)
    doc = clinic.doctors[0]
    sunday = MONDAY - timedelta(days=1)
    sched.shift_pattern_end(
        actor=clinic.owner, pattern=ShiftPattern.objects.get(doctor=doc, weekday=6), last_day=sunday - timedelta(days=7)
    )
    url = f"/settings/branches/{clinic.branch.pk}/calendar/"
    _login(client, in_a, "branch_manager")
    # when the manager adds an extra shift that Sunday
    _post(
        client,
        in_a,
        url,
        {
            "add_extra": "1",
            "extra-doctor": doc.pk,
            "extra-date": str(sunday),
            "extra-starts": "10:00",
            "extra-ends": "12:00",
        },
    )
    extra = ExtraShift.objects.get(doctor=doc, date=sunday)
    # then the doctor can be booked then
    booked = book(clinic, clinic.at(sunday, 10), patient=clinic.patient("Sunday"))
    # and cancelling it is refused while the appointment is there
    refused = _post(client, in_a, url, {"delete_extra": extra.pk, "confirm": "1"})
    assert b"Sunday" in refused.content
    assert ExtraShift.objects.filter(pk=extra.pk).exists()
    # moving it to 11:00-12:00 is refused too; 10:00-13:00 is fine
    move = f"/settings/extra-shifts/{extra.pk}/"
    assert _post(client, in_a, move, {"date": str(sunday), "starts": "11:00", "ends": "12:00"}).status_code == 200
    assert _post(client, in_a, move, {"date": str(sunday), "starts": "10:00", "ends": "13:00"}).status_code == 302
    extra.refresh_from_db()
    assert extra.ends == time(13)
    # once the appointment is cancelled, the extra shift can go
    sched.appointment_cancel(actor=clinic.owner, appointment=booked)
    assert _post(client, in_a, url, {"delete_extra": extra.pk, "confirm": "1"}).status_code == 302
    assert not ExtraShift.objects.filter(pk=extra.pk).exists()


def test_special_hours_are_edited_and_removed_from_the_hours_page(in_a, client):
    # given special hours on MONDAY and a booking at 10:00 inside them
    clinic = clinic_setup(in_a, doctors=1)
    special = sched.special_day_create(
        actor=clinic.owner, branch=clinic.branch, day=MONDAY, opens=time(9), closes=time(12), note="Short day"
    )
    book(clinic, clinic.at(MONDAY, 10), patient=clinic.patient("Inside"))
    _login(client, in_a, "branch_manager")
    change = f"/settings/branches/{clinic.branch.pk}/special-days/{special.pk}/"
    # when the manager narrows them to 11:00-12:00: refused, the appointment is listed
    refused = _post(client, in_a, change, {"date": str(MONDAY), "opens": "11:00", "closes": "12:00", "note": "x"})
    assert b"Inside" in refused.content
    special.refresh_from_db()
    assert special.opens == time(9)
    # widening them to 09:00-15:00 is saved
    assert _post(client, in_a, change, {"date": str(MONDAY), "opens": "09:00", "closes": "15:00"}).status_code == 302
    special.refresh_from_db()
    assert special.closes == time(15)
    # and removing them gives MONDAY its weekly hours back
    hours = f"/settings/branches/{clinic.branch.pk}/hours/"
    assert _post(client, in_a, hours, {"delete_special": special.pk, "confirm": "1"}).status_code == 302
    assert not SpecialDay.objects.filter(pk=special.pk).exists()
    book(clinic, clinic.at(MONDAY, 16))


@pytest.mark.parametrize("role", ["receptionist", "doctor", "billing"])
def test_other_roles_change_no_shift_room_or_special_day(in_a, client, role):
    # given a shift, a room and a special day
    clinic = clinic_setup(in_a, doctors=1, rooms=1)
    pattern = _monday_shift(clinic)
    room = clinic.rooms[0]
    special = sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=MONDAY, note="Closed")
    _login(client, in_a, role)
    calendar = f"/settings/branches/{clinic.branch.pk}/calendar/"
    # when they try each change
    answers = [
        _post(client, in_a, calendar, {"end_shift": pattern.pk, "last_day": str(MONDAY)}),
        _post(client, in_a, calendar, {"room_active": room.pk, "is_active": "0"}),
        _post(
            client,
            in_a,
            f"/settings/shifts/{pattern.pk}/",
            {"starts": "12:00", "ends": "13:00", "from_day": str(MONDAY)},
        ),
        _post(
            client,
            in_a,
            f"/settings/branches/{clinic.branch.pk}/hours/",
            {"delete_special": special.pk, "confirm": "1"},
        ),
    ]
    # then each is refused and nothing changed
    assert [a.status_code for a in answers] == [403] * 4
    pattern.refresh_from_db()
    room.refresh_from_db()
    assert (pattern.valid_until, pattern.starts, room.is_active) == (None, time(9), True)
    assert SpecialDay.objects.filter(pk=special.pk).exists()


def test_the_past_of_a_shift_is_never_rewritten(in_a, client):
    # given a Monday shift that began a year ago
    clinic = clinic_setup(in_a, doctors=1)
    pattern = _monday_shift(clinic)
    began = pattern.valid_from
    long_ago = began + timedelta(days=7)
    _login(client, in_a, "owner")
    # when the owner ends it, or changes its hours, from a day long past
    calendar = f"/settings/branches/{clinic.branch.pk}/calendar/"
    ended = _post(client, in_a, calendar, {"end_shift": pattern.pk, "last_day": str(long_ago)})
    changed = _post(
        client, in_a, f"/settings/shifts/{pattern.pk}/", {"starts": "12:00", "ends": "17:00", "from_day": str(long_ago)}
    )
    # then both are refused and the shift is as it was
    assert ended.status_code == 200
    assert b"The past stays as it was" in changed.content
    pattern.refresh_from_db()
    assert (pattern.valid_from, pattern.valid_until, pattern.starts) == (began, None, time(9))
    assert ShiftPattern.objects.filter(doctor=clinic.doctors[0], weekday=MONDAY.weekday()).count() == 1


def test_removing_special_hours_that_hold_a_booking_is_refused_on_the_hours_page(in_a, client):
    # given special hours 08-20 on MONDAY (weekly hours end at 18:00) holding a booking at 18:00
    clinic = clinic_setup(in_a, doctors=1)
    special = sched.special_day_create(
        actor=clinic.owner, branch=clinic.branch, day=MONDAY, opens=time(8), closes=time(20), note="Late"
    )
    sched.extra_shift_create(
        actor=clinic.owner, doctor=clinic.doctors[0], branch=clinic.branch, day=MONDAY, starts=time(18), ends=time(19)
    )
    book(clinic, clinic.at(MONDAY, 18), patient=clinic.patient("Evening"))
    _login(client, in_a, "branch_manager")
    # when the manager removes them on the hours page
    refused = _post(
        client, in_a, f"/settings/branches/{clinic.branch.pk}/hours/", {"delete_special": special.pk, "confirm": "1"}
    )
    # then it is refused, the booking is listed, and the special hours stay
    assert refused.status_code == 200
    assert b"Evening" in refused.content
    assert SpecialDay.objects.get(pk=special.pk).closes == time(20)


def test_only_doctors_who_work_at_the_branch_are_ticked_there_from_the_pages(in_a, client):
    # given a doctor of the second branch only
    clinic = clinic_setup(in_a, doctors=1)
    other = doctor(in_a, in_a.branches[1])
    service_form = {"set_offerings": "1", "branch": clinic.branch.pk, "doctor": [clinic.doctors[0].pk, other.pk]}
    staff_form = {"branch": clinic.branch.pk, "service": [clinic.service.pk]}
    # when the first branch's manager ticks her on the service page and on her staff page
    _login(client, in_a, "branch_manager")
    by_manager = [
        _post(client, in_a, f"/settings/services/{clinic.service.pk}/", service_form),
        _post(client, in_a, f"/settings/staff/{other.pk}/offerings/", staff_form),
    ]
    # and the owner does the same before adding the branch to her on the staff page
    _login(client, in_a, "owner")
    by_owner = [
        _post(client, in_a, f"/settings/services/{clinic.service.pk}/", service_form),
        _post(client, in_a, f"/settings/staff/{other.pk}/offerings/", staff_form),
    ]
    # then the manager may not, the owner is told why, and nothing changed
    assert [a.status_code for a in by_manager] == [403, 404]
    assert [a.status_code for a in by_owner] == [302, 302]
    shown = client.get(by_owner[1]["Location"], HTTP_HOST=in_a.host).content.decode()
    assert f"does not work at {clinic.branch.name}" in shown
    assert set(other.branches.values_list("pk", flat=True)) == {in_a.branches[1].pk}
    assert _offered(other, clinic.branch) == set()
    assert _offered(clinic.doctors[0], clinic.branch) == {clinic.service.pk}


# --- issue 10: what a walk of the set-up pages found --------------------------------------------------
def _weekly_hours_shown(content: bytes) -> set[str]:
    """The values the weekly hours form shows, opening and closing, every day."""
    return set(re.findall(rb'name="(?:opens|closes)_\d" value="([^"]*)"', content))


def test_closing_a_day_with_bookings_is_refused_lists_them_and_leaves_the_hours_form_as_stored(in_a, client):
    # given a branch open 08:00-18:00 every day and a booking on MONDAY
    clinic = clinic_setup(in_a, doctors=1)
    book(clinic, clinic.at(MONDAY, 10), patient=clinic.patient("Kept"))
    _login(client, in_a, "owner")
    url = f"/settings/branches/{clinic.branch.pk}/hours/"
    # when closing MONDAY is refused
    refused = _post(client, in_a, url, {"add_closure": "1", "closure_date": str(MONDAY), "closure_note": "Strike"})
    # then it is refused with the appointment listed, the day stays open, and the weekly hours form
    # still shows the stored hours, not empty fields
    assert refused.status_code == 200
    assert b"Kept" in refused.content
    assert not SpecialDay.objects.filter(branch=clinic.branch, date=MONDAY).exists()
    assert b"1 booked appointment falls in the time these hours would take away; move or cancel it first." in (
        refused.content
    )
    assert _weekly_hours_shown(refused.content) == {b"08:00", b"18:00"}
    assert refused.content.count(b'value="08:00"') == 7
    assert BranchHours.objects.filter(branch=clinic.branch).count() == 7


def test_room_buttons_fit_their_card_and_name_the_room_to_screen_readers(in_a, client):
    # given a branch with a room in use and one out of use
    clinic = clinic_setup(in_a, doctors=1, rooms=2)
    sched.room_set_active(actor=clinic.owner, room=clinic.rooms[1], is_active=False)
    _login(client, in_a, "owner")
    # when the owner opens the rooms and shifts page
    page = client.get(f"/settings/branches/{clinic.branch.pk}/calendar/", HTTP_HOST=in_a.host).content.decode()
    # then the buttons read short ("Take out of use", "Use again") and still name the room to a screen reader
    first, second = clinic.rooms[0].name, clinic.rooms[1].name
    assert f'Take<span class="skip"> {first}</span> out of use</button>' in page
    assert f'Use<span class="skip"> {second}</span> again</button>' in page
    assert '<table class="fits">' in page


def test_cancelling_an_extra_shift_or_removing_special_hours_asks_first(in_a, client):
    # given an extra shift and special hours coming
    clinic = clinic_setup(in_a, doctors=1)
    extra = sched.extra_shift_create(
        actor=clinic.owner, doctor=clinic.doctors[0], branch=clinic.branch, day=MONDAY, starts=time(18), ends=time(19)
    )
    special = sched.special_day_create(
        actor=clinic.owner, branch=clinic.branch, day=MONDAY, opens=time(8), closes=time(20), note="Late"
    )
    _login(client, in_a, "owner")
    calendar = f"/settings/branches/{clinic.branch.pk}/calendar/"
    hours = f"/settings/branches/{clinic.branch.pk}/hours/"
    # when each is posted on one click, without the confirmation step
    answers = [
        _post(client, in_a, calendar, {"delete_extra": extra.pk}),
        _post(client, in_a, hours, {"delete_special": special.pk}),
    ]
    # then nothing is removed, the pages say so, and their buttons sit inside a disclosure that asks first
    assert [a.status_code for a in answers] == [200, 200]
    assert b"Nothing was cancelled" in answers[0].content
    assert b"Nothing was removed" in answers[1].content
    assert ExtraShift.objects.filter(pk=extra.pk).exists()
    assert SpecialDay.objects.filter(pk=special.pk).exists()
    assert '<details class="confirm"><summary>Cancel<span class="skip"> the extra shift' in answers[0].content.decode()
    assert '<details class="confirm"><summary>Remove<span class="skip">' in answers[1].content.decode()
    assert b"Yes, cancel<span" in answers[0].content
    assert b"Yes, remove<span" in answers[1].content


def test_the_hours_page_counts_appointments_in_words(in_a, client):
    # given one booking at 16:00 on MONDAY
    clinic = clinic_setup(in_a, doctors=1)
    book(clinic, clinic.at(MONDAY, 16), patient=clinic.patient("Late"))
    _login(client, in_a, "owner")
    url = f"/settings/branches/{clinic.branch.pk}/hours/"
    hours = {f"opens_{d}": "09:00" for d in range(7)} | {f"closes_{d}": "13:00" for d in range(7)}
    # when the owner shortens the hours, then confirms
    asked = _post(client, in_a, url, hours)
    saved = client.post(url, {**hours, "confirm": "1"}, follow=True, HTTP_HOST=in_a.host)
    # then the messages speak of one appointment
    assert b"1 booked appointment falls outside these hours. It is listed below" in asked.content
    assert b"Opening hours saved. 1 appointment is outside them." in saved.content


def test_prices_are_typed_and_shown_in_the_chains_currency(in_a, client):
    # given a chain that charges in pounds and a service at 7500 pence
    clinic = clinic_setup(in_a, doctors=1)
    sched.service_update(actor=clinic.owner, service=clinic.service, price_minor=7500)
    _login(client, in_a, "owner")
    url = f"/settings/services/{clinic.service.pk}/"
    # when the owner opens the service
    page = client.get(url, HTTP_HOST=in_a.host).content.decode()
    # then its price reads in pounds, in the list and on the form, and no field asks for pence
    assert "£75.00" in page
    assert "service's own price (£75.00)" in page
    assert 'name="price" value="75.00"' in page
    assert "Price (GBP)" in page
    assert "cents" not in page
    assert "pence" not in page
    # and a branch price typed in pounds is kept in pence; more decimals than pence are refused
    saved = client.post(
        url, {"set_price": "1", "branch": clinic.branch.pk, "price": "82.5"}, follow=True, HTTP_HOST=in_a.host
    )
    assert service_price(service=clinic.service, branch=clinic.branch) == 8250
    assert 'value="82.50"' in saved.content.decode()
    refused = client.post(
        url, {"set_price": "1", "branch": clinic.branch.pk, "price": "82.555"}, follow=True, HTTP_HOST=in_a.host
    )
    assert b"Give the price in GBP, like 75.00" in refused.content
    assert service_price(service=clinic.service, branch=clinic.branch) == 8250
    form = {"name": clinic.service.name, "duration_minutes": 30, "buffer_before_minutes": 0}
    form |= {"buffer_after_minutes": 0, "is_active": "on"}
    assert _post(client, in_a, url, {**form, "price": "80.001"}).status_code == 200
    assert _post(client, in_a, url, {**form, "price": "80.10"}).status_code == 302
    clinic.service.refresh_from_db()
    assert clinic.service.price_minor == 8010


def test_services_say_offered_or_not_offered_for_new_bookings_in_one_wording(in_a, client):
    # given one service offered and one not offered any more
    clinic = clinic_setup(in_a, doctors=1)
    old = sched.service_create(actor=clinic.owner, name="Old treatment", duration_minutes=20)
    sched.service_update(actor=clinic.owner, service=old, is_active=False)
    _login(client, in_a, "owner")
    # when the owner opens the services and a service's form
    page = client.get(f"/settings/services/{old.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then the list and the form use the same words
    assert "<td>Offered</td>" in page
    assert "<td>Not offered for new bookings</td>" in page
    assert "Untick: not offered for new bookings." in page
    assert "retired" not in page


def test_a_shift_whose_range_holds_none_of_its_weekday_is_not_listed(in_a, client):
    # given an evening Thursday shift from the Monday after MONDAY, changed from that Wednesday on:
    # the old hours are left from Monday to Tuesday, which holds no Thursday
    clinic = clinic_setup(in_a, doctors=1)
    doc = clinic.doctors[0]
    week = MONDAY + timedelta(days=7)
    thursday_shift = sched.shift_pattern_create(
        actor=clinic.owner,
        doctor=doc,
        branch=clinic.branch,
        weekday=3,
        starts=time(18),
        ends=time(20),
        valid_from=week,
    )
    sched.shift_pattern_change(
        actor=clinic.owner,
        pattern=thursday_shift,
        starts=time(18),
        ends=time(21),
        break_starts=None,
        break_ends=None,
        from_day=week + timedelta(days=2),  # the Wednesday: Monday-Tuesday hold no Thursday
    )
    _login(client, in_a, "owner")
    # when the owner opens the rooms and shifts page
    page = client.get(f"/settings/branches/{clinic.branch.pk}/calendar/", HTTP_HOST=in_a.host).content.decode()
    # then the Thursday shift is listed once, with its new hours, and no empty leftover row
    assert "18:00\u201321:00" in page
    assert "18:00\u201320:00" not in page
    # (the change left no such row behind: the shift took its new hours in place)
    assert list(ShiftPattern.objects.filter(doctor=doc, weekday=3, starts=time(18)).values_list("ends", flat=True)) == [
        time(21)
    ]


def test_offerings_are_ticked_only_where_the_doctor_works(in_a, client):
    # given a doctor of the first branch and one of the second
    clinic = clinic_setup(in_a, doctors=1)
    first, second = in_a.branches
    other = doctor(in_a, second)
    _login(client, in_a, "owner")
    # when the owner opens the first doctor's staff page and the service's page
    staff = client.get(f"/settings/staff/{clinic.doctors[0].pk}/", HTTP_HOST=in_a.host).content.decode()
    service = client.get(f"/settings/services/{clinic.service.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then the staff page offers her services only at her branch
    assert f"<strong>At {first.name}</strong>" in staff
    assert f"<strong>At {second.name}</strong>" not in staff
    # and the service page lists each doctor only under the branch she works at
    at_first, at_second = service.split(f"<strong>At {second.name}</strong>")
    assert f'value="{other.pk}"' not in at_first
    assert f'value="{other.pk}"' in at_second
    assert f'name="doctor" value="{clinic.doctors[0].pk}"' not in at_second
