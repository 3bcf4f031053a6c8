"""The appointment book's reads (scheduling.book): what the desk's calendar, panel and search are given."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine

from scheduling import services as sched
from scheduling.book import appointment_actions, appointment_card, book_day, book_week, next_appointments
from scheduling.models import Status
from tests.factories.scheduling import MONDAY, book, clinic_setup


@pytest.fixture
def clinic(in_a):
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(17)), break_=(time(12), time(13)))
    clinic.receptionist.staff.branches.add(clinic.branch)
    return clinic


def _names(actions):
    return [a.name for a in actions]


def test_the_actions_offered_follow_the_lifecycle_rules(clinic):
    # given an appointment on MONDAY at 10:00
    booked = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    desk = clinic.receptionist
    # before its day: only a cancellation (no check-in ahead, no no-show before it starts)
    before = clinic.at(MONDAY, 10) - timedelta(days=2)
    assert _names(appointment_actions(actor=desk, appointment=booked, now=before)) == ["cancel"]
    # on its morning: check in too; once started, a no-show as well
    assert _names(appointment_actions(actor=desk, appointment=booked, now=clinic.at(MONDAY, 9))) == [
        "check-in",
        "cancel",
    ]
    assert _names(appointment_actions(actor=desk, appointment=booked, now=clinic.at(MONDAY, 10, 5))) == [
        "check-in",
        "no-show",
        "cancel",
    ]
    # checked in: start or cancel; in progress: complete only; completed: nothing, and no move
    with time_machine.travel(clinic.at(MONDAY, 9, 55), tick=False):
        checked = sched.appointment_check_in(actor=desk, appointment=booked)
        assert _names(appointment_actions(actor=desk, appointment=checked)) == ["start", "cancel"]
        started = sched.appointment_start(actor=desk, appointment=checked)
        assert _names(appointment_actions(actor=desk, appointment=started)) == ["complete"]
        done = sched.appointment_complete(actor=desk, appointment=started)
        card = appointment_card(actor=desk, appointment=done)
    assert card.actions == []
    assert card.can_move is False
    assert card.status_label == "Completed"


def test_someone_who_may_not_change_it_is_offered_nothing(clinic, in_a):
    # given an appointment, and the billing clerk
    booked = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    billing = in_a.users["billing"]
    # then no action and no move is offered to them
    card = appointment_card(actor=billing, appointment=booked, now=clinic.at(MONDAY, 10, 5))
    assert card.actions == []
    assert card.can_move is False


def test_the_panel_knows_the_last_visit_and_the_alerts(clinic):
    # given a patient seen last week and missing the visit before, with no phone on file
    patient = clinic.patient("Alma")
    seen = book(clinic, clinic.at(MONDAY, 9), actor=clinic.owner, patient=patient)
    missed = book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, patient=patient)
    with time_machine.travel(clinic.at(MONDAY, 12), tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            seen = step(actor=clinic.owner, appointment=seen)
        sched.appointment_mark_no_show(actor=clinic.owner, appointment=missed)
    coming = book(clinic, clinic.at(MONDAY + timedelta(days=7), 10), actor=clinic.owner, patient=patient)
    # when the desk opens the coming appointment
    card = appointment_card(actor=clinic.receptionist, appointment=coming, now=clinic.at(MONDAY, 12))
    # then the last visit is the one seen, and the alerts say what the desk should know
    assert card.last_visit is not None
    assert card.last_visit.pk == seen.pk
    assert "Missed 1 appointment in the last year" in card.alerts
    assert "No mobile number on file" in card.alerts


def test_the_day_lays_overlaps_side_by_side_and_shades_breaks_and_leave(clinic):
    # given two visits at once for one doctor (one cancelled, the time booked again), the other doctor on leave
    first, second = clinic.doctors
    a = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, doctor=first)
    sched.appointment_cancel(actor=clinic.owner, appointment=a, reason="Unwell")
    b = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, doctor=first)
    sched.leave_create(
        actor=clinic.owner, doctor=second, start=clinic.at(MONDAY, 14), end=clinic.at(MONDAY, 16), reason="Course"
    )
    # when the book reads the day
    feed = book_day(actor=clinic.receptionist, branch=clinic.branch, day=MONDAY)
    events = {e.get("id"): e for e in feed["events"]}
    # then both visits are in the first doctor's column at 10:00 (the calendar lays them side by side),
    # each with its status, and only the live one may be dragged
    assert events[str(a.pk)]["resourceIds"] == events[str(b.pk)]["resourceIds"] == [first.pk]
    assert "status-cancelled" in events[str(a.pk)]["classNames"]
    assert (events[str(a.pk)]["startEditable"], events[str(b.pk)]["startEditable"]) == (False, True)
    assert events[str(a.pk)]["start"] == events[str(b.pk)]["start"] == f"{MONDAY}T10:00:00"
    # the break and the leave are shaded as time no visit can be booked in, in their doctor's column
    off = [
        (e["resourceIds"], e["start"][11:16], e["end"][11:16])
        for e in feed["events"]
        if "book-off-shift" in e["classNames"]
    ]
    assert ([first.pk], "12:00", "13:00") in off
    assert ([second.pk], "14:00", "16:00") in off
    # and the leave itself is a block that cannot be dragged; its reason only for those who manage it
    leave = next(e for e in feed["events"] if "book-leave" in e["classNames"])
    assert leave["startEditable"] is False
    assert leave["title"] == "Leave"
    # the grid opens on the day's hours; every visit shown is listed for the access log
    assert (feed["slotMinTime"], feed["slotMaxTime"]) == ("08:00:00", "18:00:00")
    assert {s["id"] for s in feed["shown"]} == {a.pk, b.pk}


def test_the_week_is_one_doctors_seven_days(clinic):
    # given appointments of both doctors on Monday and Wednesday
    first, second = clinic.doctors
    mine = [book(clinic, clinic.at(MONDAY + timedelta(days=d), 10), actor=clinic.owner, doctor=first) for d in (0, 2)]
    book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, doctor=second)
    # when the book reads the first doctor's week from a Thursday
    feed = book_week(actor=clinic.receptionist, branch=clinic.branch, doctor=first, day=MONDAY + timedelta(days=3))
    # then it starts on Monday and holds only her appointments, with no columns of doctors
    assert feed["date"] == MONDAY.isoformat()
    shown = [e["id"] for e in feed["events"] if e.get("id")]
    assert shown == [str(a.pk) for a in mine]
    assert all("resourceIds" not in e for e in feed["events"])


def test_the_search_finds_the_next_appointment_still_to_come(clinic):
    # given a patient with a visit today that is over, one cancelled and one next week
    patient = clinic.patient("Quentin")
    past = book(clinic, clinic.at(MONDAY, 9), actor=clinic.owner, patient=patient)
    cancelled = book(clinic, clinic.at(MONDAY, 15), actor=clinic.owner, patient=patient)
    sched.appointment_cancel(actor=clinic.owner, appointment=cancelled, reason="Moved away")
    coming = book(clinic, clinic.at(MONDAY + timedelta(days=7), 10), actor=clinic.owner, patient=patient)
    # when the desk searches at noon on MONDAY
    found = next_appointments(actor=clinic.receptionist, q="Quentin", now=clinic.at(MONDAY, 12))
    # then the next one is next week's (not the past, not the cancelled)
    assert [(f.patient.pk, f.appointment.pk if f.appointment else None) for f in found] == [(patient.pk, coming.pk)]
    assert past.status == Status.BOOKED


@pytest.mark.parametrize(
    ("zone", "day", "offset"),
    [
        ("Asia/Tokyo", MONDAY, "+09:00"),
        ("America/Los_Angeles", MONDAY.replace(month=7, day=6), "-07:00"),
        ("Europe/London", MONDAY.replace(month=7, day=6), "+01:00"),
        ("Asia/Kolkata", MONDAY, "+05:30"),
    ],
)
def test_the_book_runs_in_the_branchs_own_offset_so_its_now_line_is_the_branchs(in_a, zone, day, offset):
    # given a branch in that zone
    from tenants.org import services as org

    branch = org.branch_create(actor=in_a.users["owner"], name=f"In {zone}", timezone_name=zone)
    clinic = clinic_setup(in_a, branch=branch, doctors=1)
    # when the book of that day is read, then it names the zone's offset on that day (summer time included)
    assert book_day(actor=clinic.owner, branch=branch, day=day)["timeZone"] == offset
