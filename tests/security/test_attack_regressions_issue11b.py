"""What a second attack on issue 11 (the appointment book, the desk's booking, leave that meets
appointments, the booking link) found, each kept fixed by a test."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from patients.portal import portal_user_for
from scheduling import services as sched
from scheduling.exceptions import InvalidScheduling
from scheduling.models import Appointment, Leave, Status
from tenants.audit.models import AccessLog
from tenants.org import services as org
from tests.factories.scheduling import MONDAY, book, clinic_setup, clock_changes, local_today
from tests.helpers import sign_in


def _client(chain, user=None) -> Client:
    client = Client(HTTP_HOST=chain.host, raise_request_exception=False)
    if user is not None:
        with schema_context(chain.schema):
            sign_in(client, user)
    return client


# --- the book's hours on the days the clocks change --------------------------------------------------
LONDON = "Europe/London"
SPRING, AUTUMN = clock_changes(LONDON, after=local_today(LONDON) + timedelta(days=1))


@pytest.mark.parametrize(("day", "at"), [(SPRING, time(17, 30)), (AUTUMN, time(8))], ids=["spring", "autumn"])
def test_the_book_shows_the_whole_day_when_the_clocks_change(chain_a, day, at):
    # given a London branch open 08:00-18:00 with a doctor on shift all that time, and a visit in
    # the last half hour of the day the clocks go forward, or the first hour of the day they go back
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1, opens=time(8), closes=time(18), shift=(time(8), time(18)))
        visit = book(clinic, clinic.at(day, at.hour, at.minute))
    # when the desk opens that day's book
    feed = _client(chain_a, clinic.receptionist).get(f"/desk/{clinic.branch.pk}/feed/?day={day}").json()
    # then the grid runs 08:00-18:00 on the wall clock, as every other day (the hours are not counted
    # from midnight across the change: 07:00-17:00 in spring hid the visit at 17:30, 09:00-19:00 in
    # autumn the one at 08:00), and the visit lies inside it
    assert (feed["slotMinTime"], feed["slotMaxTime"]) == ("08:00:00", "18:00:00")
    event = next(e for e in feed["events"] if e.get("id") == str(visit.pk))
    assert feed["slotMinTime"] <= event["start"][11:] < feed["slotMaxTime"]


# --- leave beyond the years a calendar holds -----------------------------------------------------------
@pytest.mark.parametrize(
    ("starts", "ends"),
    [("9999-12-31T20:00", "9999-12-31T23:00"), ("0001-01-01T00:00", "0001-01-01T03:00")],
    ids=["year-9999", "year-1"],
)
def test_leave_beyond_the_calendar_is_refused_and_the_leave_page_still_opens(chain_b, starts, ends):
    # given the owner of a New York chain on the leave page
    with schema_context(chain_b.schema):
        clinic = clinic_setup(chain_b, doctors=1)
        before = Leave.objects.count()
    page = _client(chain_b, chain_b.users["owner"])
    # when she saves leave on the last evening of year 9999 (in UTC already year 10000), or in year 1
    saved = page.post(
        "/settings/leave/", {"doctor": clinic.doctors[0].pk, "starts": starts, "ends": ends, "reason": "Away"}
    )
    # then the form says which time cannot be, nothing is saved, and the leave page still opens
    assert saved.status_code == 200
    assert "Give a date from 1900-01-01 to 2199-12-31." in saved.content.decode()
    with schema_context(chain_b.schema):
        assert Leave.objects.count() == before
    assert page.get("/settings/leave/").status_code == 200


def test_the_leave_service_refuses_a_time_beyond_the_calendar(chain_b):
    # given the owner of a New York chain
    with schema_context(chain_b.schema):
        clinic = clinic_setup(chain_b, doctors=1)
        start = datetime(9999, 12, 31, 20, tzinfo=clinic.tz)
        # when a leave from 20:00 to 23:00 on 31 December 9999 (year 10000 in UTC) reaches the service
        with pytest.raises(InvalidScheduling) as refused:
            sched.leave_create(
                actor=clinic.owner, doctor=clinic.doctors[0], start=start, end=start + timedelta(hours=3)
            )
        # then it is refused naming the start, and nothing is saved
        assert "start" in refused.value.fields
        assert not Leave.objects.filter(doctor=clinic.doctors[0]).exists()


# --- a booking link's cancellation sent twice ---------------------------------------------------------
def test_a_double_submitted_link_cancellation_lands_on_the_cancelled_page(chain_a):
    # given whoever holds the booking link of an appointment
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1)
        sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
        booked = book(clinic, clinic.at(MONDAY, 10), patient=clinic.patient("Dora"))
        token = sched.manage_link_issue(appointment=booked)
    link = _client(chain_a)
    # when "Yes, cancel" is sent twice (a double click: the browser shows the second answer)
    first = link.post(f"/book/manage/{token}/cancel/", {"confirm": "1", "reason": "ill"})
    second = link.post(f"/book/manage/{token}/cancel/", {"confirm": "1", "reason": "ill"}, follow=True)
    # then both land on the link's page, which says the appointment is cancelled (not "Not found")
    assert first.status_code == 302
    assert second.status_code == 200
    assert second.redirect_chain[-1][0] == f"/book/manage/{token}/"
    assert "Your appointment is cancelled" in second.content.decode()
    with schema_context(chain_a.schema):
        row = Appointment.objects.get(pk=booked.pk)
    assert (row.status, row.cancellation_reason.endswith(": ill")) == (Status.CANCELLED, True)


def test_a_forged_link_cancellation_is_still_not_found(chain_a):
    # given no booking link at all
    # when a cancellation is posted to a made-up link
    answer = _client(chain_a).post("/book/manage/not-a-real-link/cancel/", {"confirm": "1"})
    # then there is no such page
    assert answer.status_code == 404


# --- the access log of the desk's booking page --------------------------------------------------------
def test_the_desk_booking_page_logs_the_patient_it_books_for(chain_a):
    # given the receptionist and a patient on file
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1)
        patient = clinic.patient("Logged")
        seen = AccessLog.objects.filter(patient_id=patient.pk, actor_id=clinic.receptionist.pk, action="view")
        assert not seen.exists()
    # when she opens the desk's booking page for that patient (a link from the search, or typed)
    page = _client(chain_a, clinic.receptionist).get(
        f"/desk/{clinic.branch.pk}/book/?patient={patient.pk}&service={clinic.service.pk}"
    )
    # then the page shows the patient, and the access log says she saw them
    assert page.status_code == 200
    assert patient.mrn in page.content.decode()
    with schema_context(chain_a.schema):
        assert seen.count() == 1


# --- the desk's search across time zones ----------------------------------------------------------------
def test_the_desk_search_names_a_next_visit_on_its_own_branchs_clock(chain_a):
    # given a chain with a London branch and a Los Angeles one, and a visit at 16:30 in Los Angeles
    # (00:30 the next day in London)
    with schema_context(chain_a.schema):
        west = org.branch_create(actor=chain_a.users["owner"], name="Pacific", timezone_name="America/Los_Angeles")
        clinic = clinic_setup(chain_a, branch=west, doctors=1)
        visit = book(clinic, clinic.at(MONDAY, 16, 30), actor=clinic.owner, patient=clinic.patient("Wanderlust"))
    # when the owner searches for the patient from the London branch's book
    found = _client(chain_a, chain_a.users["owner"]).get(f"/desk/{chain_a.branches[0].pk}/find/?q=Wanderlust")
    # then the next visit is said at 16:30 on its day in Los Angeles, and its link opens that day there
    html = found.content.decode()
    assert f'href="/desk/{west.pk}/?day={MONDAY}&amp;focus={visit.pk}"' in html
    assert f"{MONDAY.day} {MONDAY:%b %Y}, 16:30" in html


def test_the_portal_says_a_visit_on_its_branchs_clock(chain_a):
    # given a patient of the chain's Los Angeles branch with a visit at 16:30 there (00:30 in London,
    # the chain's default zone)
    with schema_context(chain_a.schema):
        west = org.branch_create(actor=chain_a.users["owner"], name="Coast", timezone_name="America/Los_Angeles")
        clinic = clinic_setup(chain_a, branch=west, doctors=1)
        visit = book(clinic, clinic.at(MONDAY, 16, 30), actor=clinic.owner, patient=clinic.patient("Faraway"))
        patient_user = portal_user_for(patient=visit.patient)
    # when the patient opens the portal
    html = _client(chain_a, patient_user).get("/portal/").content.decode()
    # then the visit is at 16:30 on its day, as the branch's zone beside it says (not London's 00:30)
    card = html.split(f'id="appointment-{visit.pk}"', 1)[1].split("</div>", 1)[0]
    assert f"{MONDAY.day} {MONDAY:%B} {MONDAY.year}, 16:30" in card
    assert "(America/Los_Angeles)" in card


# --- the portal's change page for a visit that can no longer move ---------------------------------------
def test_the_portal_offers_no_times_for_a_cancelled_visit(chain_a):
    # given a patient whose visit was cancelled by the clinic
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1)
        visit = book(clinic, clinic.at(MONDAY, 10), patient=clinic.patient("Called"))
        sched.appointment_cancel(actor=clinic.owner, appointment=visit, reason="Doctor ill")
        patient_user = portal_user_for(patient=visit.patient)
    portal = _client(chain_a, patient_user)
    # when the patient opens its change page (an old link, the back button), or sends a time to it
    page = portal.get(f"/portal/appointments/{visit.pk}/change/", follow=True)
    sent = portal.post(f"/portal/appointments/{visit.pk}/change/", {"start": clinic.at(MONDAY, 11).isoformat()})
    # then no times are offered: the portal says the visit can no longer be changed, and nothing moved
    assert page.redirect_chain == [("/portal/", 302)]
    assert "This appointment is cancelled: it can no longer be changed." in page.content.decode()
    assert (sent.status_code, sent["Location"]) == (302, "/portal/")
    with schema_context(chain_a.schema):
        row = Appointment.objects.get(pk=visit.pk)
    assert (row.status, row.span) == (Status.CANCELLED, visit.span)
