"""Booking by day on the pages: online booking, the portal's change page and the desk's phone
booking show a month of days with and without free times, then the chosen day's times by part of
the day with the price and the doctor; a full day points to the next free day."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from urllib.parse import quote

import pytest
from django.core import mail
from django.core.cache import cache
from django_tenants.utils import schema_context

from patients import services
from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.factories.scheduling import MONDAY, book, clinic_setup, local_today
from tests.helpers import sign_in

TUESDAY = MONDAY + timedelta(days=1)
DAY_LINK = (
    r'<a class="day (free|full)" href="([^"]+)"( aria-current="date")?>.*?<span class="visually-hidden">([^<]+)</span>'
)


def _days(page: str) -> dict[str, tuple[str, bool]]:
    """The month's day links: what each says to a screen reader -> (its link, whether it is the chosen day)."""
    return {said: (href.replace("&amp;", "&"), bool(current)) for _, href, current, said in re.findall(DAY_LINK, page)}


def _fill(clinic, day, doctor=None, patient=None):
    for hh, mm in ((9, 0), (9, 30), (10, 0), (10, 30)):
        book(clinic, clinic.at(day, hh, mm), doctor=doctor, patient=patient)


@pytest.fixture
def clinic(in_a):
    """One doctor on shift 09:00-11:00 and 14:00-15:00 (an extra hour after lunch) every day, a
    price of its own at the branch, and the Monday fully booked in the morning."""
    cache.clear()
    clinic = clinic_setup(in_a, doctors=1, shift=(time(9), time(11)), duration=30)
    sched.policy_update(actor=clinic.owner, online_horizon_days=60, cancellation_window_hours=0)
    sched.service_price_set(actor=clinic.owner, service=clinic.service, branch=clinic.branch, price_minor=7550)
    sched.service_update(actor=clinic.owner, service=clinic.service, bookable_online=True)
    for day in (MONDAY, TUESDAY):
        sched.extra_shift_create(
            actor=clinic.owner, doctor=clinic.doctors[0], branch=clinic.branch, day=day, starts=time(14), ends=time(15)
        )
    _fill(clinic, MONDAY)
    book(clinic, clinic.at(MONDAY, 14))
    book(clinic, clinic.at(MONDAY, 14, 30))
    return clinic


def test_online_booking_shows_the_month_then_the_days_times_with_price_and_doctor(clinic, client, in_a):
    # given a visitor who chose the service at the branch
    url = f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1"
    # when she opens the Tuesday
    page = client.get(f"{url}&day={TUESDAY}", HTTP_HOST=in_a.host).content.decode()
    # then the month says which days have free times (the Monday none), the Tuesday is the chosen one
    days = _days(page)
    assert days[f"{TUESDAY:%A} {TUESDAY.day} {TUESDAY:%B}, free times (chosen)"][1] is True
    assert f"{MONDAY:%A} {MONDAY.day} {MONDAY:%B}, no free times" in days
    # and its times are under Morning and Afternoon, each a button naming the doctor, with the branch's price
    assert re.search(r"<h3>Morning</h3>.*09:00.*10:30.*<h3>Afternoon</h3>.*14:00.*14:30", page, re.S)
    assert "Evening" not in page
    assert page.count(clinic.doctors[0].user.get_full_name()) >= 6
    assert "£75.50" in page
    # and a time held is the one the button carried
    doctor, start = re.search(
        r'name="doctor" value="(\d+)"><input type="hidden" name="start" value="([^"]+)"', page
    ).groups()
    held = client.post(
        "/book/hold/",
        {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start},
        HTTP_HOST=in_a.host,
    )
    assert held["Location"] == "/book/details/"
    assert Appointment.objects.get(status=Status.HELD).span.lower == clinic.at(TUESDAY, 9)


def test_a_full_day_online_links_to_the_next_free_day(clinic, client, in_a):
    # given the Monday full
    url = f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1"
    # when the visitor opens it
    page = client.get(f"{url}&day={MONDAY}", HTTP_HOST=in_a.host).content.decode()
    # then it says so and links to the Tuesday, which opens with its times
    assert "No free times on this day — next free day:" in page
    link = re.search(r'next free day: <a href="([^"]+)">([^<]+)</a>', page)
    assert link.group(2) == f"{TUESDAY:%A} {TUESDAY.day} {TUESDAY:%B}"
    tuesday = client.get("/book/" + link.group(1).replace("&amp;", "&"), HTTP_HOST=in_a.host).content.decode()
    assert 'name="start"' in tuesday
    # and this month, the first that can be booked, leads only forward
    this_month = client.get(f"{url}&month={local_today(clinic.tz):%Y-%m}", HTTP_HOST=in_a.host).content.decode()
    assert "Next month" in this_month
    assert "Previous month" not in this_month


def test_online_booking_without_a_day_opens_on_the_first_free_day(clinic, client, in_a):
    # given a visitor who chose the service and no day
    # when the times open
    page = client.get(
        f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1", HTTP_HOST=in_a.host
    ).content.decode()
    # then the chosen day is one with free times (the first there is)
    chosen = [said for said, (_, current) in _days(page).items() if current]
    assert len(chosen) == 1
    assert chosen[0].endswith("free times (chosen)")
    assert "no free times" not in chosen[0]


def test_the_booking_page_names_only_a_doctor_who_offers_the_service_there(clinic, client, in_a):
    # given the owner (no doctor) and the doctor who offers the service at the branch
    url = f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1&day={TUESDAY}&doctor="
    owner = clinic.owner
    doctor = clinic.doctors[0].user
    # when a visitor puts the owner's staff id, or the doctor's, in the address
    staff_id = owner.staff.pk
    as_owner = client.get(url + str(staff_id), HTTP_HOST=in_a.host).content.decode()
    as_doctor = client.get(url + str(clinic.doctors[0].pk), HTTP_HOST=in_a.host).content.decode()
    # then the owner is neither named nor her e-mail shown: the times are anyone's
    assert owner.get_full_name() not in as_owner
    assert owner.email not in as_owner
    assert "10:00" in as_owner
    # and the doctor is named
    assert doctor.get_full_name() in as_doctor


@pytest.fixture
def portal(clinic, client, in_a, django_capture_on_commit_callbacks):
    patient = services.patient_create(
        actor=clinic.owner, first_name="Pia", last_name="Picker", email="pia.picker@example.com"
    )
    booked = book(clinic, clinic.at(TUESDAY, 9), patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/sign-in/", {"identifier": "pia.picker@example.com"}, HTTP_HOST=in_a.host)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert client.post("/portal/code/", {"code": code}, HTTP_HOST=in_a.host).status_code == 302
    return booked


def test_the_portals_change_page_picks_a_day_then_a_time(clinic, client, in_a, portal):
    # given the patient's Tuesday 09:00
    url = f"/portal/appointments/{portal.pk}/change/"
    # when she opens the change page on the full Monday
    full = client.get(f"{url}?day={MONDAY}", HTTP_HOST=in_a.host).content.decode()
    # then it names the next free day (the Tuesday, where she has the rest of the morning), her doctor and the price
    assert f'next free day: <a href="?day={TUESDAY}">' in full
    assert clinic.doctors[0].user.get_full_name() in full
    assert "£75.50" in full
    # when she opens the Tuesday and takes its 14:30
    page = client.get(f"{url}?day={TUESDAY}", HTTP_HOST=in_a.host).content.decode()
    starts = {datetime.fromisoformat(s): s for s in re.findall(r'name="start" value="([^"]+)"', page)}
    assert clinic.at(TUESDAY, 9) not in starts  # her own time is taken, by her
    later = starts[clinic.at(TUESDAY, 14, 30)]
    done = client.post(url, {"start": later}, HTTP_HOST=in_a.host)
    # then the appointment moved there
    assert done["Location"] == f"/portal/?moved={portal.pk}"  # the portal highlights it
    portal.refresh_from_db()
    assert portal.span.lower.isoformat() == later


def test_the_change_page_offers_a_time_overlapping_her_own_but_not_her_own(clinic, client, in_a, portal):
    # given the patient's Tuesday 09:00-09:30
    url = f"/portal/appointments/{portal.pk}/change/"
    # when she opens the change page on the Tuesday
    page = client.get(f"{url}?day={TUESDAY}", HTTP_HOST=in_a.host).content.decode()
    starts = {datetime.fromisoformat(s) for s in re.findall(r'name="start" value="([^"]+)"', page)}
    # then 09:15, which only her own appointment covers, is offered, and where she is now is not
    assert clinic.at(TUESDAY, 9, 15) in starts
    assert clinic.at(TUESDAY, 9) not in starts
    # and moving there takes it
    done = client.post(url, {"start": clinic.at(TUESDAY, 9, 15).isoformat()}, HTTP_HOST=in_a.host)
    assert done.status_code == 302
    portal.refresh_from_db()
    assert portal.span.lower == clinic.at(TUESDAY, 9, 15)


def test_a_refused_time_on_the_change_page_keeps_its_day(clinic, client, in_a, portal):
    # given the Tuesday's 14:00 taken by someone else after the page was shown
    url = f"/portal/appointments/{portal.pk}/change/"
    book(clinic, clinic.at(TUESDAY, 14))
    # when the patient posts it
    page = client.post(url, {"start": clinic.at(TUESDAY, 14).isoformat()}, HTTP_HOST=in_a.host, follow=True)
    # then nothing moved, she is told why, and the Tuesday is still the day shown
    portal.refresh_from_db()
    assert portal.span.lower == clinic.at(TUESDAY, 9)
    said = [s for s, (_, current) in _days(page.content.decode()).items() if current]
    assert said == [f"{TUESDAY:%A} {TUESDAY.day} {TUESDAY:%B}, free times (chosen)"]


@pytest.fixture
def desk(clinic, client, in_a):
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["receptionist"])
    return clinic.patient("Phoned"), f"/desk/{clinic.branch.pk}/book/"


def test_the_desk_finds_a_free_day_and_a_time_fills_the_form(clinic, client, in_a, desk):
    # given a patient on the phone
    patient, url = desk
    # when the receptionist asks for the service's days and opens the full Monday
    page = client.get(
        url, {"patient": patient.pk, "service": clinic.service.pk, "day": MONDAY}, HTTP_HOST=in_a.host
    ).content.decode()
    # then the Monday points to the Tuesday, and the Tuesday's times are links that fill the form
    assert "No free times on this day — next free day:" in page
    tuesday = client.get(
        url, {"patient": patient.pk, "service": clinic.service.pk, "day": TUESDAY}, HTTP_HOST=in_a.host
    ).content.decode()
    link = re.search(r'<a class="button secondary time" href="([^"]+)"><span class="at">10:00</span>', tuesday)
    filled = client.get(url + link.group(1).replace("&amp;", "&"), HTTP_HOST=in_a.host).content.decode()
    assert re.search(rf'<option value="{clinic.doctors[0].pk}" selected>', filled)
    assert re.search(rf'<option value="{clinic.service.pk}" selected>', filled)
    assert f'value="{TUESDAY}"' in filled
    assert 'value="10:00"' in filled


def test_the_desk_opens_prefilled_from_the_appointment_book_and_lands_on_the_booked_day(clinic, client, in_a, desk):
    # given a click on an empty slot of the appointment book: the doctor, the service and the start
    patient, url = desk
    start = clinic.at(TUESDAY, 14, 30)
    query = (
        f"patient={patient.pk}&doctor={clinic.doctors[0].pk}&service={clinic.service.pk}"
        f"&start={quote(start.isoformat())}"
    )
    # when the book form opens from it
    page = client.get(f"{url}?{query}", HTTP_HOST=in_a.host).content.decode()
    # then it is filled in, and the picker shows that day
    assert f'value="{TUESDAY}"' in page
    assert 'value="14:30"' in page
    assert f"{TUESDAY:%A} {TUESDAY.day} {TUESDAY:%B}, free times (chosen)" in page
    # when she books one appointment from it
    body = {
        "patient": patient.pk,
        "service": clinic.service.pk,
        "doctor": clinic.doctors[0].pk,
        "day": str(TUESDAY),
        "at": "14:30",
        "count": 1,
        "notes": "",
    }
    done = client.post(f"{url}?{query}", body, HTTP_HOST=in_a.host)
    # then it is booked and she lands on the desk's day of the booking
    assert done.status_code == 302
    assert done["Location"] == f"/desk/{clinic.branch.pk}/?day={TUESDAY}"
    assert Appointment.objects.get(patient=patient).span.lower == start


def test_a_start_without_an_offset_is_the_branchs_wall_clock_and_nonsense_is_ignored(clinic, client, in_a, desk):
    patient, url = desk
    # given a start with no offset, and one that is not a date
    naive = client.get(
        url, {"patient": patient.pk, "service": clinic.service.pk, "start": f"{TUESDAY}T09:30"}, HTTP_HOST=in_a.host
    ).content.decode()
    nonsense = client.get(
        url, {"patient": patient.pk, "service": "x", "doctor": "y", "start": "tuesday"}, HTTP_HOST=in_a.host
    )
    # then the first reads 09:30 at the branch, the second opens the empty form
    assert 'value="09:30"' in naive
    assert nonsense.status_code == 200
    assert b"Choose a service" in nonsense.content
