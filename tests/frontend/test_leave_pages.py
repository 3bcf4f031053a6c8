"""The leave page over appointments: the proposal (time order, options per row, the choice for all),
then "Save leave and apply" in one POST; refusals shown next to their row with what was chosen kept."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django_tenants.utils import schema_context

from scheduling import services as sched
from scheduling.models import Appointment, Leave, Status
from tests.factories.scheduling import MONDAY, book, clinic_setup, works_also_at
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db
FRIDAY = MONDAY + timedelta(days=4)


@pytest.fixture
def week(in_a):
    clinic = clinic_setup(in_a, doctors=3)
    away = clinic.doctors[0]
    booked = [
        book(clinic, clinic.at(MONDAY, 14), doctor=away, patient=clinic.patient("Later")),
        book(clinic, clinic.at(MONDAY, 10), doctor=away, patient=clinic.patient("Earlier")),
        book(clinic, clinic.at(MONDAY + timedelta(days=2), 11), doctor=away, patient=clinic.patient("Wednesday")),
    ]
    return clinic, booked


def _form(clinic, **extra):
    return {
        "doctor": clinic.doctors[0].pk,
        "starts": f"{MONDAY}T08:00",
        "ends": f"{FRIDAY}T18:00",
        "reason": "Conference",
        **extra,
    }


def _manager(client, in_a):
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["branch_manager"])
    return client


def _states(booked):
    return sorted(Appointment.objects.filter(pk__in=[a.pk for a in booked]).values_list("pk", "doctor_id", "status"))


def test_saving_leave_over_appointments_shows_them_in_time_order_with_their_options(week, in_a, client):
    # given
    clinic, booked = week
    before = _states(booked)

    # when
    page = _manager(client, in_a).post("/settings/leave/", _form(clinic), HTTP_HOST=in_a.host)

    # then: the appointments by time, each with a select of its options, and the choice for all
    assert page.status_code == 200
    html = page.content.decode()
    assert "3 appointments fall in this leave: decide for each below" in html
    assert 'class="notice" role="status"' in html
    assert "Please correct what is marked below" not in html  # a decision to make, not an error
    assert html.index("Earlier") < html.index("Later") < html.index("Wednesday")
    for a in booked:
        assert f'<select name="row-{a.pk}" id="row-{a.pk}"' in html
        assert f'<label class="visually-hidden" for="row-{a.pk}">' in html
    names = [d.user.get_full_name() for d in clinic.doctors[1:]]
    for name in names:
        assert f"Move all to {name}" in html
        assert f"Move to {name}, same time" in html
    assert "Next free time:" in html
    assert "Save leave and apply" in html
    # nothing was saved yet
    assert _states(booked) == before
    assert not Leave.objects.filter(doctor=clinic.doctors[0]).exists()


def test_save_leave_and_apply_moves_them_all_to_another_doctor_in_one_post(week, in_a, client):
    clinic, booked = week
    other = clinic.doctors[1]

    answer = _manager(client, in_a).post(
        "/settings/leave/", _form(clinic, bulk=f"doctor:{other.pk}", apply="1"), HTTP_HOST=in_a.host
    )

    assert answer.status_code == 302
    assert _states(booked) == sorted((a.pk, other.pk, Status.BOOKED) for a in booked)
    leave = Leave.objects.get(doctor=clinic.doctors[0], status=Status.BOOKED)
    assert (leave.span.lower, leave.span.upper) == (clinic.at(MONDAY, 8), clinic.at(FRIDAY, 18))


def test_a_row_choice_wins_over_the_choice_for_all(week, in_a, client):
    clinic, booked = week
    later, earlier, wednesday = booked

    answer = _manager(client, in_a).post(
        "/settings/leave/",
        _form(
            clinic,
            bulk="any",
            bulk_reason="Doctor away",
            **{f"row-{later.pk}": "cancel", f"row-{wednesday.pk}": "next"},
            apply="1",
        ),
        HTTP_HOST=in_a.host,
    )

    assert answer.status_code == 302
    cancelled = Appointment.objects.get(pk=later.pk)
    assert (cancelled.status, cancelled.cancellation_reason) == (Status.CANCELLED, "Doctor away")
    assert Appointment.objects.get(pk=earlier.pk).doctor_id in {d.pk for d in clinic.doctors[1:]}
    moved = Appointment.objects.get(pk=wednesday.pk)
    assert (moved.doctor_id, moved.span.lower >= clinic.at(FRIDAY, 18)) == (clinic.doctors[0].pk, True)


def _all_to_a_busy_doctor(week, in_a, client, **fields) -> str:
    """The second doctor is booked on Monday at 10:00; the manager moves all of the leave's
    appointments to her (with ``fields`` for single rows) and applies: the page answered (200)."""
    clinic, _booked = week
    busy = clinic.doctors[1]
    book(clinic, clinic.at(MONDAY, 10), doctor=busy)
    page = _manager(client, in_a).post(
        "/settings/leave/", _form(clinic, bulk=f"doctor:{busy.pk}", **fields, apply="1"), HTTP_HOST=in_a.host
    )
    assert page.status_code == 200
    return page.content.decode()


def test_a_decision_that_fails_is_shown_next_to_its_row_and_what_was_chosen_is_kept(week, in_a, client):
    # given: the second doctor is busy on Monday at 10:00; when: everything is to move to her
    clinic, booked = week
    earlier = booked[1]
    before = _states(booked)
    html = _all_to_a_busy_doctor(week, in_a, client, **{f"reason-{earlier.pk}": "kept text"})

    # then: the error sits in the 10:00 row, the choices are as sent, and nothing changed
    row = re.search(rf'<tr class="has-error">.*?id="row-{earlier.pk}-error".*?</tr>', html, re.S)
    assert row is not None
    assert "already has an appointment" in row.group(0)
    assert f'aria-describedby="row-{earlier.pk}-error"' in html
    assert f'<option value="doctor:{clinic.doctors[1].pk}" selected>' in html
    assert 'value="kept text"' in html
    assert "nothing was saved" in html
    assert _states(booked) == before
    assert not Leave.objects.filter(doctor=clinic.doctors[0]).exists()


def test_cancelling_without_a_reason_is_marked_on_the_row(week, in_a, client):
    clinic, booked = week
    earlier = booked[1]
    before = _states(booked)

    page = _manager(client, in_a).post(
        "/settings/leave/",
        _form(clinic, bulk="next", **{f"row-{earlier.pk}": "cancel"}, apply="1"),
        HTTP_HOST=in_a.host,
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="row-{earlier.pk}-error"' in html
    assert "Give the reason the patient will be told." in html
    assert '<option value="cancel" selected>' in html
    assert _states(booked) == before


def test_an_appointment_at_a_branch_the_manager_does_not_see_blocks_the_leave(in_a, client):
    # given: the doctor also works mornings at the second branch, where she has an appointment
    clinic = clinic_setup(in_a, doctors=2, shift=(time(13), time(17)))
    away = clinic.doctors[0]
    second = in_a.branches[1]
    there = works_also_at(clinic, away, second, shift=(time(9), time(12)))
    hidden = sched.appointment_book(
        actor=clinic.owner,
        patient=clinic.patient("Hidden"),
        doctor=away,
        branch=second,
        service=there.service,
        start=clinic.at(MONDAY, 10),
    )
    seen = book(clinic, clinic.at(MONDAY, 14), doctor=away, patient=clinic.patient("Seen"))

    # when
    page = _manager(client, in_a).post("/settings/leave/", _form(clinic, bulk="any", apply="1"), HTTP_HOST=in_a.host)

    # then: counted, not shown; no way to apply; nothing changed
    html = page.content.decode()
    assert "at a branch you do not manage" in html
    assert "Hidden" not in html
    assert "Seen" in html
    assert "Save leave and apply" not in html
    assert _states([hidden, seen]) == sorted([(hidden.pk, away.pk, "booked"), (seen.pk, away.pk, "booked")])
    assert not Leave.objects.filter(doctor=away).exists()


def test_applying_a_leave_that_ends_before_it_starts_is_a_form_error(week, in_a, client):
    clinic, booked = week
    before = _states(booked)

    page = _manager(client, in_a).post(
        "/settings/leave/", _form(clinic, ends=f"{MONDAY}T07:00", bulk="next", apply="1"), HTTP_HOST=in_a.host
    )

    assert page.status_code == 200
    assert "The leave must end after it starts." in page.content.decode()
    assert _states(booked) == before
    assert not Leave.objects.filter(doctor=clinic.doctors[0]).exists()


def test_every_refused_decision_is_marked_in_one_round(week, in_a, client):
    # given: the second doctor is busy on Monday at 10:00; when: all move to her, but the 14:00 one is
    # cancelled without a reason
    clinic, booked = week
    later, earlier = booked[0], booked[1]
    before = _states(booked)
    html = _all_to_a_busy_doctor(week, in_a, client, **{f"row-{later.pk}": "cancel"})

    # then: both rows are marked at once (the reason and the busy doctor), and nothing changed
    assert f'id="row-{later.pk}-error"' in html
    assert "Give the reason the patient will be told." in html
    assert f'id="row-{earlier.pk}-error"' in html
    assert "already has an appointment" in html
    assert "2 decision(s) below cannot be applied as chosen" in html
    assert _states(booked) == before
    assert not Leave.objects.filter(doctor=clinic.doctors[0]).exists()


def test_a_choice_that_cannot_apply_to_a_row_is_not_offered_there_and_the_choice_for_all_says_so(week, in_a, client):
    # given: every other doctor is busy on Monday at 10:00
    clinic, booked = week
    earlier = booked[1]
    for other in clinic.doctors[1:]:
        book(clinic, clinic.at(MONDAY, 10), doctor=other)

    # when: the manager asks for the leave, then picks "any free doctor" for all
    page = _manager(client, in_a).post("/settings/leave/", _form(clinic, bulk="any"), HTTP_HOST=in_a.host)

    # then: the 10:00 row offers no "any free doctor"; the choice for all counts the row it cannot serve
    html = page.content.decode()
    row = re.search(rf'<select name="row-{earlier.pk}".*?</select>', html, re.S)
    assert row is not None
    assert 'value="any"' not in row.group(0)
    assert "Move all to any free doctor at the same time (not possible for 1 of 3)" in html


def test_saving_says_how_many_were_moved_and_cancelled_and_coming_leave_shows_its_reason(week, in_a, client):
    # given
    clinic, booked = week
    later = booked[0]

    # when: all move to another doctor but one, cancelled with a reason
    answer = _manager(client, in_a).post(
        "/settings/leave/",
        _form(
            clinic,
            bulk=f"doctor:{clinic.doctors[1].pk}",
            **{f"row-{later.pk}": "cancel", f"reason-{later.pk}": "Doctor away"},
            apply="1",
        ),
        HTTP_HOST=in_a.host,
    )
    page = client.get(answer.url, HTTP_HOST=in_a.host)

    # then
    html = page.content.decode()
    assert "Leave added: 2 moved, 1 cancelled." in html
    assert re.search(r"\d{2}:\d{2} — Conference", html)
