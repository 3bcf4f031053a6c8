"""The reception desk: the day grid by doctor, status changes from it, and the walk-in flow."""

from __future__ import annotations

from datetime import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment, Source, Status
from tests.factories.scheduling import MONDAY, book, clinic_setup, daytime_branch


@pytest.fixture
def desk(in_a, client):
    # open all day, in a zone where it is daytime now: the walk-in flow always finds a slot today
    branch = daytime_branch(in_a)
    clinic = clinic_setup(
        in_a, branch=branch, doctors=2, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
    )
    clinic.receptionist.staff.branches.add(branch)
    with schema_context(in_a.schema):
        client.force_login(clinic.receptionist)
    return clinic, client, in_a.host


def _feed(client, host, branch, day, **params):
    query = urlencode({"day": day, **params})
    response = client.get(f"/desk/{branch.pk}/feed/?{query}", HTTP_HOST=host)
    assert response.status_code == 200
    return response.json()


def test_the_book_shows_doctors_as_columns_and_appointments_and_changes_status_from_the_panel(desk):
    # given an appointment with the second doctor at 10:00
    clinic, client, host = desk
    patient = clinic.patient("Greta")
    booked = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=patient, doctor=clinic.doctors[1])
    # when the desk opens the day
    page = client.get(f"/desk/{clinic.branch.pk}/?day={MONDAY}", HTTP_HOST=host)
    # then the page holds the book (fed by JSON), the legend in words and the search box
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-feed="/desk/{clinic.branch.pk}/feed/?day={MONDAY}"' in html
    assert "vendor/event-calendar/event-calendar.min.js" in html
    for word in ("Booked", "Checked in", "No-show", "Not on shift, break or leave", "Closed"):
        assert word in html
    assert "Find a patient's next appointment" in html
    # and the feed has the doctors as columns and the appointment in its doctor's column, in the branch's clock
    feed = _feed(client, host, clinic.branch, MONDAY)
    assert [r["id"] for r in feed["resources"]] == sorted(
        [d.pk for d in clinic.doctors], key=lambda pk: [r["id"] for r in feed["resources"]].index(pk)
    )
    assert {r["title"] for r in feed["resources"]} == {d.user.get_full_name() for d in clinic.doctors}
    event = next(e for e in feed["events"] if e.get("id") == str(booked.pk))
    assert event["resourceIds"] == [clinic.doctors[1].pk]
    assert event["start"] == f"{MONDAY}T10:00:00"
    assert event["title"] == str(patient)
    assert "status-booked" in event["classNames"]
    assert event["startEditable"] is True
    assert event["durationEditable"] is False
    # the panel offers what a booked appointment allows before its day: no check-in yet, no no-show
    panel = client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    text = panel.content.decode()
    assert patient.mrn in text
    assert f"Cancel the 10:00 appointment of {patient}?" in text
    assert "Check in</button>" not in text
    assert f'href="/patients/{patient.pk}/"' in text
    # on the day, it offers check-in, and checking in from the panel answers the panel again
    with time_machine.travel(clinic.at(MONDAY, 9, 50), tick=True):  # arrivals are recorded on the day
        with schema_context(clinic.chain.schema):
            client.force_login(clinic.receptionist)  # a session of that morning (sessions time out)
        on_the_day = client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
        assert b"Check in</button>" in on_the_day.content
        checked = client.post(f"/desk/appointments/{booked.pk}/check-in/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    booked.refresh_from_db()
    assert booked.status == Status.CHECKED_IN
    assert b"checked in." in checked.content
    assert b"Start visit</button>" in checked.content
    # an illegal move is said in the panel, not an error page
    refused = client.post(f"/desk/appointments/{booked.pk}/complete/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200
    assert b'role="alert"' in refused.content
    assert b"cannot become completed" in refused.content
    booked.refresh_from_db()
    assert booked.status == Status.CHECKED_IN


def test_cancel_from_the_panel_asks_for_a_reason_with_the_shared_confirmation_and_refuses_without_one(desk):
    # given a booked appointment, its panel open on the book
    clinic, client, host = desk
    booked = book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, patient=clinic.patient("Hugo"))
    url = f"/desk/appointments/{booked.pk}/cancel/"
    opened = client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    panel = opened.content.decode()
    # then the panel's cancel is the product's one confirmation, a reason required, answered into the panel
    assert 'class="confirm cancel-confirm"' in panel
    assert f'hx-post="{url}" hx-target="#panel-content" hx-swap="outerHTML"' in panel
    assert f'id="cancel-reason-{booked.pk}" name="reason" maxlength="300" autocomplete="off" required' in panel
    assert '<div id="panel-content">' in panel

    # when the desk confirms with only spaces for a reason
    refused = client.post(url, {"confirm": "1", "reason": "   "}, HTTP_HOST=host, HTTP_HX_REQUEST="true")
    # then nothing is cancelled, and the panel says so beside the reason, the confirmation left open
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED
    assert refused.status_code == 200
    html = refused.content.decode()
    assert f'<p class="errorlist field-error" id="cancel-reason-{booked.pk}-error">' in html
    assert "Say why the appointment is cancelled." in html
    assert '<details class="confirm cancel-confirm" open>' in html
    assert 'aria-invalid="true"' in html

    # when a plain form (no script) posts no reason, then nothing is cancelled and the book says why
    plain = client.post(url, {"confirm": "1"}, HTTP_HOST=host, follow=True)
    booked.refresh_from_db()
    assert booked.status == Status.BOOKED
    assert "Not cancelled: Say why the appointment is cancelled." in plain.content.decode()

    # when the desk gives a reason, then it is cancelled with it and the panel shows it
    done = client.post(url, {"confirm": "1", "reason": "Called in sick"}, HTTP_HOST=host, HTTP_HX_REQUEST="true")
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert booked.cancellation_reason == "Called in sick"
    assert b"(Called in sick)" in done.content


def test_the_book_lets_the_end_of_an_adjustable_visit_be_dragged_and_says_a_refusal(desk):
    # given a visit of a fixed service and one of a service whose length staff may change
    clinic, client, host = desk
    fixed = book(clinic, clinic.at(MONDAY, 9), actor=clinic.owner)
    other = sched.service_create(actor=clinic.owner, name="Long review", duration_minutes=30, length_adjustable=True)
    sched.offering_set(
        actor=clinic.owner, doctor=clinic.doctors[0], branch=clinic.branch, service_ids=[clinic.service.pk, other.pk]
    )
    adjustable = sched.appointment_book(
        actor=clinic.owner,
        patient=clinic.patient(),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=other,
        start=clinic.at(MONDAY, 10),
    )
    # then the feed lets only the adjustable one's end be dragged
    events = {e["id"]: e for e in _feed(client, host, clinic.branch, MONDAY)["events"] if e.get("id")}
    assert events[str(fixed.pk)]["durationEditable"] is False
    assert events[str(adjustable.pk)]["durationEditable"] is True
    assert "book-resizable" in events[str(adjustable.pk)]["classNames"]
    # when its end is dropped at 10:45 (the branch's wall clock), then it lasts 45 minutes
    done = client.post(f"/desk/appointments/{adjustable.pk}/resize/", {"end": f"{MONDAY}T10:45:00"}, HTTP_HOST=host)
    assert done.status_code == 200
    assert done.json()["message"] == "Now 45 minutes, until 10:45."
    adjustable.refresh_from_db()
    assert adjustable.span.upper == clinic.at(MONDAY, 10, 45)
    # when the fixed one's end is dropped, then 409 with the rule's words, and it keeps its length
    refused = client.post(f"/desk/appointments/{fixed.pk}/resize/", {"end": f"{MONDAY}T10:00:00"}, HTTP_HOST=host)
    assert refused.status_code == 409
    assert refused.json()["code"] == "length_not_adjustable"
    fixed.refresh_from_db()
    assert fixed.span.upper == clinic.at(MONDAY, 9, 30)


def test_walk_in_in_three_steps(desk):
    clinic, client, host = desk
    base = f"/desk/{clinic.branch.pk}/walk-in/"
    step1 = client.get(base, HTTP_HOST=host)
    assert clinic.service.name.encode() in step1.content
    step2 = client.get(f"{base}?service={clinic.service.pk}", HTTP_HOST=host)
    assert b"First free" in step2.content
    now = timezone.now()
    # the first free slot is what the flow offers; take it
    import re

    link = re.search(rb'href="\?(service=[^"]+)"', step2.content).group(1).decode().replace("&amp;", "&")
    step3 = client.get(f"{base}?{link}", HTTP_HOST=host)
    assert b"Find the patient" in step3.content
    done = client.post(
        f"{base}?{link}", {"first_name": "Walter", "last_name": "Walkin", "phone": "+44 7912 345003"}, HTTP_HOST=host
    )
    assert done.status_code == 302
    booked = Appointment.objects.get(patient__last_name="Walkin")
    assert booked.source == Source.WALK_IN
    assert booked.span.lower >= now - timezone.timedelta(minutes=5)


def test_a_new_walk_in_with_a_bad_mobile_is_told_beside_the_field_and_keeps_what_was_typed(desk):
    import re

    # given the desk at step 3 of a walk-in, with a free time chosen
    clinic, client, host = desk
    base = f"/desk/{clinic.branch.pk}/walk-in/"
    step2 = client.get(f"{base}?service={clinic.service.pk}", HTTP_HOST=host)
    link = re.search(rb'href="\?(service=[^"]+)"', step2.content).group(1).decode().replace("&amp;", "&")
    # when a new patient is registered with a number that is no phone number, and a date of birth
    typed = {"first_name": "Noah", "last_name": "Walkten", "phone": "+44 12", "date_of_birth": "1980-02-03"}
    page = client.post(f"{base}?{link}", typed, HTTP_HOST=host)
    # then the page says so beside the mobile, keeps every value typed, and registers and books nobody
    assert page.status_code == 200
    html = page.content.decode()
    errors = re.search(r'<p class="errorlist field-error" id="id_phone_error">(.*?)</p>', html, re.S)
    assert errors
    assert "phone number" in errors.group(1)
    for value in ("Noah", "Walkten", "+44 12", "1980-02-03"):
        assert f'value="{value}"' in html
    assert not Patient.objects.filter(last_name="Walkten").exists()
    # and with a good number and the date of birth, the patient is registered with it and booked
    done = client.post(f"{base}?{link}", typed | {"phone": "+44 7912 345009"}, HTTP_HOST=host)
    assert done.status_code == 302
    booked = Appointment.objects.get(patient__last_name="Walkten")
    assert str(booked.patient.date_of_birth) == "1980-02-03"


def test_billing_has_no_desk(desk, in_a):
    clinic, client, host = desk
    with schema_context(in_a.schema):
        client.force_login(in_a.users["billing"])
    assert client.get(f"/desk/{clinic.branch.pk}/walk-in/", HTTP_HOST=host).status_code == 403


def test_walk_in_query_string_is_checked(desk):
    clinic, client, host = desk
    bad = urlencode({"service": clinic.service.pk, "doctor": clinic.doctors[0].pk, "start": "not-a-time"})
    response = client.post(
        f"/desk/{clinic.branch.pk}/walk-in/?{bad}", {"first_name": "A", "last_name": "B"}, HTTP_HOST=host, follow=True
    )
    assert response.status_code == 200
    assert not Appointment.objects.filter(patient__last_name="B").exists()


def test_phone_booking_on_a_chosen_day_and_moving_from_the_grid(desk):
    import re

    clinic, client, host = desk
    base = f"/desk/{clinic.branch.pk}/walk-in/"
    step2 = client.get(f"{base}?source=phone&day={MONDAY}&service={clinic.service.pk}", HTTP_HOST=host)
    link = re.search(rb'href="\?(source=phone[^"]+start=[^"]+)"', step2.content).group(1).decode().replace("&amp;", "&")
    done = client.post(f"{base}?{link}", {"first_name": "Phil", "last_name": "Phone"}, HTTP_HOST=host)
    assert done.status_code == 302
    booked = Appointment.objects.get(patient__last_name="Phone")
    assert booked.source == Source.PHONE
    assert booked.span.lower.astimezone(clinic.tz).date() == MONDAY
    # move it to 15:00 with the other doctor, from the grid's Move page
    page = client.get(f"/desk/appointments/{booked.pk}/move/?day={MONDAY}", HTTP_HOST=host)
    assert page.status_code == 200
    target = clinic.at(MONDAY, 15)
    client.post(
        f"/desk/appointments/{booked.pk}/move/",
        {"start": target.isoformat(), "doctor": clinic.doctors[1].pk},
        HTTP_HOST=host,
    )
    booked.refresh_from_db()
    assert (booked.span.lower, booked.doctor) == (target, clinic.doctors[1])
    # a taken time is refused with the rule's message and the appointment stays
    other = sched.appointment_book(
        actor=clinic.owner,
        patient=clinic.patient(),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=clinic.at(MONDAY, 16),
    )
    refused = client.post(
        f"/desk/appointments/{booked.pk}/move/",
        {"start": other.span.lower.isoformat(), "doctor": clinic.doctors[0].pk},
        HTTP_HOST=host,
        follow=True,
    )
    assert b"already has an appointment" in refused.content
    booked.refresh_from_db()
    assert booked.span.lower == target


def test_the_book_shades_a_closed_day_as_closed_and_special_hours_as_the_hours(desk):
    # given a closure and a day of special hours (the doctors' shifts run all day)
    clinic, client, host = desk
    closed, special = MONDAY + timezone.timedelta(days=1), MONDAY + timezone.timedelta(days=2)
    sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=closed, note="Public holiday")
    sched.special_day_create(actor=clinic.owner, branch=clinic.branch, day=special, opens=time(10), closes=time(14))
    # when the desk reads each day
    shut = _feed(client, host, clinic.branch, closed)
    short = _feed(client, host, clinic.branch, special)
    usual = _feed(client, host, clinic.branch, MONDAY)

    def shaded(feed, kind):
        return [(e["start"][11:16], e["end"][11:16]) for e in feed["events"] if f"book-{kind}" in e["classNames"]]

    # then the closure gives its reason and the whole day is shaded closed in every column, not open
    assert shut["closed"] == "Public holiday"
    assert shaded(shut, "closed")
    assert not shaded(shut, "off-shift")
    # special hours are the day's hours: the rest of the doctors' shifts is shaded as closed
    assert ("10:00", "14:00") not in shaded(short, "closed")
    assert ("00:00", "10:00") in shaded(short, "closed")
    assert any(start == "14:00" for start, _ in shaded(short, "closed"))
    # a usual day (open and on shift 00:00-23:55) shades only its last five minutes, and says no closure
    assert usual["closed"] == ""
    assert set(shaded(usual, "closed")) == {("23:55", "00:00")}
    assert not shaded(usual, "off-shift")
