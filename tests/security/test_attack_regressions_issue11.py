"""What an attack on issue 11 (booking by day, the desk's appointment book, the portal's change and
cancel pages, leave that meets appointments) found, each kept fixed by a test: a time beyond the
years a calendar holds that overflowed the booking door (a server error from the booking page, the
portal, the booking link and the desk), an id too large for its column, a cancellation reason with
a NUL byte, and the desk's book read with input it did not expect."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from config.errors import ApplicationError
from frontend.forms import to_int
from patients.portal import portal_user_for
from scheduling import services as sched
from scheduling.models import Appointment, CalendarEntry, Status
from tests.factories.scheduling import MONDAY, book, clinic_setup

# Instants no calendar holds: year 1 ahead of UTC and year 9999 behind it overflow Python's dates when
# converted, and the same days on the wall clock overflow the plan's arithmetic around them.
BEYOND = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00", "0001-01-01T00:00:00", "9999-12-31T23:59:00"]


@pytest.fixture
def clinic(chain_a):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=2, shift=(time(9), time(17)))
        sched.service_update(actor=clinic.owner, service=clinic.service, bookable_online=True)
        sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
        return clinic


@pytest.fixture
def booked(chain_a, clinic) -> Appointment:
    with schema_context(chain_a.schema):
        return book(clinic, clinic.at(MONDAY, 10), patient=clinic.patient("Pia"))


def _client(chain, user=None) -> Client:
    client = Client(HTTP_HOST=chain.host, raise_request_exception=False)
    if user is not None:
        with schema_context(chain.schema):
            client.force_login(user)
    return client


def _state(chain, appointment: Appointment) -> tuple[str, object, int, str]:
    with schema_context(chain.schema):
        row = Appointment.objects.get(pk=appointment.pk)
        return row.status, row.span, row.doctor_id, row.cancellation_reason


def _entries(chain) -> int:
    with schema_context(chain.schema):
        return CalendarEntry.objects.count()


# --- a time beyond the calendar's years -----------------------------------------------------------
@pytest.mark.parametrize("start", BEYOND)
def test_a_hold_beyond_the_calendar_is_refused_and_nothing_is_held(chain_a, clinic, start):
    # given a visitor on the booking page
    visitor = _client(chain_a)
    before = _entries(chain_a)
    body = {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": clinic.doctors[0].pk, "start": start}
    # when she posts a time of year 1 or year 9999 to the hold
    held = visitor.post("/book/hold/", body, follow=True)
    # then she is back on the day picker with the refusal said, and nothing is held
    assert held.status_code == 200
    assert b"No such time can be booked" in held.content or b"Some fields are not valid" in held.content
    assert _entries(chain_a) == before


@pytest.mark.parametrize("start", BEYOND)
def test_the_portal_change_page_refuses_a_time_beyond_the_calendar(chain_a, booked, start):
    # given the patient signed in to the portal
    with schema_context(chain_a.schema):
        patient_user = portal_user_for(patient=booked.patient)
    portal = _client(chain_a, patient_user)
    before = _state(chain_a, booked)
    # when she posts a time of year 1 or year 9999 to the change page
    page = portal.post(f"/portal/appointments/{booked.pk}/change/", {"start": start}, follow=True)
    # then the page asks for one of its times, and the appointment has not moved
    assert page.status_code == 200
    assert _state(chain_a, booked) == before


@pytest.mark.parametrize("start", BEYOND[:2])
def test_the_booking_link_refuses_a_time_beyond_the_calendar(chain_a, booked, start):
    # given whoever holds the booking link
    with schema_context(chain_a.schema):
        token = sched.manage_link_issue(appointment=booked)
    before = _state(chain_a, booked)
    # when they post a time of year 1 or year 9999 to its change page
    page = _client(chain_a).post(f"/book/manage/{token}/move/", {"start": start}, follow=True)
    # then the page refuses it, and the appointment has not moved
    assert page.status_code == 200
    assert _state(chain_a, booked) == before


@pytest.mark.parametrize("start", BEYOND)
def test_dragging_to_a_time_beyond_the_calendar_is_refused_in_place(chain_a, clinic, booked, start):
    # given the receptionist on the appointment book
    desk = _client(chain_a, clinic.receptionist)
    before = _state(chain_a, booked)
    # when the book sends a drop (or the move form a time) of year 1 or year 9999
    dropped = desk.post(f"/desk/appointments/{booked.pk}/drop/", {"start": start, "doctor": clinic.doctors[1].pk})
    moved = desk.post(f"/desk/appointments/{booked.pk}/move/", {"start": start, "doctor": clinic.doctors[1].pk})
    # then the drop is refused as a time the book cannot have sent, the form answers with a message, and nothing moved
    assert dropped.status_code == 400
    assert dropped.json()["error"] == "Choose a time on the book."
    assert moved.status_code == 200
    assert _state(chain_a, booked) == before


@pytest.mark.parametrize("start", BEYOND[:2])
def test_the_services_refuse_a_start_beyond_the_calendar_naming_it(chain_a, clinic, booked, start):
    # given a start the calendar cannot hold, as an aware date-time
    moment = datetime.fromisoformat(start)
    before = _state(chain_a, booked)
    with schema_context(chain_a.schema):
        # when the booking door and the reschedule are asked for it
        for call in (
            lambda: book(clinic, moment),
            lambda: sched.appointment_reschedule(actor=clinic.receptionist, appointment=booked, start=moment),
        ):
            with pytest.raises(ApplicationError) as refused:
                call()
            # then each refuses naming the start
            assert "start" in refused.value.fields
    assert _state(chain_a, booked) == before


@pytest.mark.parametrize("start", BEYOND)
def test_the_desk_booking_form_opens_without_a_prefill_beyond_the_calendar(chain_a, clinic, start):
    # given the receptionist booking a caller
    with schema_context(chain_a.schema):
        patient = clinic.patient()
    desk = _client(chain_a, clinic.receptionist)
    query = f"patient={patient.pk}&service={clinic.service.pk}&doctor={clinic.doctors[0].pk}&start={start}"
    # when the form opens prefilled with a time of year 1 or 9999
    page = desk.get(f"/desk/{clinic.branch.pk}/book/?{query}")
    # then it opens, without that time
    assert page.status_code == 200
    assert b"9999" not in page.content
    assert b"0001-01-01" not in page.content


# --- ids from the browser ---------------------------------------------------------------------------
@pytest.mark.parametrize("doctor", ["99999999999999999999", "9223372036854775808", "\u0663"])
def test_the_booking_page_reads_a_doctor_id_as_the_api_does(chain_a, clinic, doctor):
    # given a visitor choosing a day
    url = f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1&doctor={doctor}"
    # when the doctor's id is larger than an id column holds, or written in Arabic-Indic digits
    page = _client(chain_a).get(url)
    # then it is no doctor: the page shows any doctor's times, as without one
    assert page.status_code == 200
    shown = page.content.decode()
    assert any(part in shown for part in ("Morning", "Afternoon", "Evening")) or "next free day" in shown.lower()


def test_to_int_reads_ids_as_the_api_does():
    assert to_int("42") == 42
    assert to_int(" 42 ") == 42
    assert to_int("\u0663") is None  # Python's int() reads it as 3
    assert to_int("9" * 20) is None
    assert to_int("1.5") is None
    assert to_int("") is None


# --- a cancellation's reason ------------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["\x00", "late\x00bus", "\x1b[2Jcleared", "\u202eevil"])
def test_a_cancellation_reason_with_control_characters_is_stored_as_plain_text(chain_a, booked, reason):
    # given the patient signed in to the portal
    with schema_context(chain_a.schema):
        patient_user = portal_user_for(patient=booked.patient)
    portal = _client(chain_a, patient_user)
    # when she confirms the cancellation with a reason holding a NUL, a terminal escape or a direction override
    page = portal.post(f"/portal/appointments/{booked.pk}/cancel/", {"confirm": "1", "reason": reason})
    # then it is cancelled, and the reason the desk reads holds none of them
    assert page.status_code == 302
    status, _, _, said = _state(chain_a, booked)
    assert status == Status.CANCELLED
    assert not any(ch in said for ch in "\x00\x1b\u202e")


def test_the_booking_link_cancels_with_a_nul_in_the_reason_and_is_spent(chain_a, booked):
    # given whoever holds the booking link
    with schema_context(chain_a.schema):
        token = sched.manage_link_issue(appointment=booked)
    link = _client(chain_a)
    # when they confirm with a reason holding a NUL, then replay the same cancellation
    first = link.post(f"/book/manage/{token}/cancel/", {"confirm": "1", "reason": "ill\x00"})
    replay = link.post(f"/book/manage/{token}/cancel/", {"confirm": "1", "reason": "again"})
    # then the first cancels with the reason kept as text, and the replay changes nothing more: it
    # lands on the link's page, which says the appointment is cancelled
    assert first.status_code == 302
    status, _, _, said = _state(chain_a, booked)
    assert status == Status.CANCELLED
    assert said.endswith(": ill")
    assert (replay.status_code, replay.url) == (302, f"/book/manage/{token}/")


def test_the_desk_cancels_with_a_nul_in_the_reason(chain_a, clinic, booked):
    # given the receptionist on the book's panel
    desk = _client(chain_a, clinic.receptionist)
    # when she cancels with a reason holding a NUL
    page = desk.post(f"/desk/appointments/{booked.pk}/cancel/", {"reason": "called\x00 in"})
    # then it is cancelled with the reason as text
    assert page.status_code == 302
    status, _, _, said = _state(chain_a, booked)
    assert (status, said) == (Status.CANCELLED, "called in")


# --- the desk's book: findings in its engineer's files (desk_views.py), reported ---------------------
@pytest.mark.parametrize("service", ["abc", "1.5"])
def test_the_walk_in_page_reads_a_service_id_that_is_no_number(chain_a, clinic, service):
    # given the receptionist at the walk-in page
    desk = _client(chain_a, clinic.receptionist)
    # when the service in the address is not a number
    page = desk.get(f"/desk/{clinic.branch.pk}/walk-in/?service={service}")
    # then it is the first step again (no service chosen), not a server error
    assert page.status_code == 200


@pytest.mark.parametrize("start", ["9999-12-31T23:59:00-05:00"])
def test_the_empty_slot_panel_refuses_a_time_beyond_the_calendar(chain_a, clinic, start):
    # given the receptionist clicking an empty time on the book
    desk = _client(chain_a, clinic.receptionist)
    # when the time sent is of year 1 or year 9999
    page = desk.get(f"/desk/{clinic.branch.pk}/slot/?doctor={clinic.doctors[0].pk}&start={start}")
    # then there is no such slot
    assert page.status_code == 404


# --- the desk's book across branches ------------------------------------------------------------------
@pytest.fixture
def elsewhere(chain_a):
    """An appointment at the chain's second branch, which the receptionist (of the first) does not see."""
    with schema_context(chain_a.schema):
        other = clinic_setup(chain_a, branch=chain_a.branches[1], doctors=1)
        return other, book(other, other.at(MONDAY, 10), actor=other.owner, patient=other.patient("Hidden"))


def test_a_receptionist_reads_and_changes_nothing_of_another_branchs_book(chain_a, clinic, elsewhere):
    # given the receptionist of the first branch, and an appointment at the second
    other, theirs = elsewhere
    desk = _client(chain_a, clinic.receptionist)
    before = _state(chain_a, theirs)
    # when she asks for the second branch's feed, a doctor's week of it, the appointment's panel,
    # and checks it in, cancels it and drags it
    feed = desk.get(f"/desk/{other.branch.pk}/feed/?day={MONDAY}")
    week = desk.get(f"/desk/{clinic.branch.pk}/feed/?day={MONDAY}&view=week&doctor={other.doctors[0].pk}")
    panel = desk.get(f"/desk/appointments/{theirs.pk}/panel/")
    acted = [desk.post(f"/desk/appointments/{theirs.pk}/{a}/", {"reason": "x"}) for a in ("check-in", "cancel")]
    moved_to = {"start": f"{MONDAY}T11:00", "doctor": other.doctors[0].pk}
    dropped = desk.post(f"/desk/appointments/{theirs.pk}/drop/", moved_to)
    # then every read is refused, no page names the patient, and the appointment is as it was
    assert feed.status_code == 403
    assert week.status_code == 404
    assert panel.status_code == 403
    assert all(b"Hidden" not in r.content for r in (feed, week, panel, *acted, dropped))
    assert dropped.status_code == 409
    assert _state(chain_a, theirs) == before


# --- leave that meets appointments: findings in its engineer's files, reported ---------------------------
def test_a_leave_of_centuries_is_refused_and_nothing_is_saved(chain_a, clinic, booked, api):
    # given the owner at the API, and an appointment of the doctor this Monday
    owner = api(chain_a, "owner")
    before = _entries(chain_a)
    body = {
        "doctor": clinic.doctors[0].pk,
        "start": "1900-01-01T00:00:00Z",
        "end": "2199-12-31T23:00:00Z",
        "for_all": {"action": "cancel", "reason": "Away"},
    }
    # when she saves a leave from 1900 to 2199 cancelling everything in its way (in one request, one
    # transaction: each of thousands of appointments a move or cancellation through the booking door)
    answer = owner.call("POST", "/api/v1/scheduling/leave/resolve/", body)
    # then it is refused naming its end (a leave is saved a year at most at a time), and nothing changed
    assert answer.status_code == 400, answer.content
    assert "end" in answer.json()["error"]["fields"]
    assert _entries(chain_a) == before
    assert _state(chain_a, booked)[0] == Status.BOOKED
