"""The desk after the page walk of issue 11: a phone booking and a move land on their day with the
appointment focused, the phone booking and the Move page pick a day from the shared day picker."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from django.utils.formats import date_format

from patients.selectors import patient_search
from patients.services import patient_create
from scheduling import services as sched
from scheduling.models import Appointment, ShiftPattern, Source
from scheduling.selectors import doctors_offering
from scheduling.services.setup import shift_pattern_end
from tests.factories.scheduling import MONDAY, book
from tests.frontend.test_desk import desk  # noqa: F401  (the fixture)


def _phone_step2(client, host, clinic):
    base = f"/desk/{clinic.branch.pk}/walk-in/"
    return base, client.get(f"{base}?source=phone&day={MONDAY}&service={clinic.service.pk}", HTTP_HOST=host)


def test_phone_booking_picks_from_the_day_picker_and_lands_on_the_booked_day_focused(desk):  # noqa: F811
    # given the desk's phone booking for a service on a day ahead
    clinic, client, host = desk
    base, step2 = _phone_step2(client, host, clinic)
    # then the day's times come from the shared day picker: a month of days, times by part of the day,
    # the price, each time with its doctor's full name
    html = step2.content.decode()
    assert 'class="card day-picker"' in html
    assert 'aria-current="date"' in html
    assert "<h3>Morning</h3>" in html or "<h3>Afternoon</h3>" in html
    assert any(f'<span class="who">{d.user.get_full_name()}</span>' in html for d in clinic.doctors)
    assert '<ul class="inline-list">' not in html
    # when a time at 15:30 is chosen
    at = clinic.at(MONDAY, 15, 30)
    links = re.findall(r'href="\?(source=phone[^"]+start=[^"]+)"', html)
    chosen = next(link.replace("&amp;", "&") for link in links if "T15%3A30" in link)
    step3 = client.get(f"{base}?{chosen}", HTTP_HOST=host)
    # then the patient step says the day and time, and its button books a phone booking
    text = step3.content.decode()
    assert f"on {date_format(MONDAY, 'MONTH_DAY_FORMAT')} at 15:30</h2>" in text
    # and booking a new caller lands on the booked day with the appointment focused, the message naming the day
    done = client.post(f"{base}?{chosen}", {"first_name": "Phil", "last_name": "Phone"}, HTTP_HOST=host)
    booked = Appointment.objects.get(patient__last_name="Phone")
    assert booked.source == Source.PHONE
    assert booked.span.lower == at
    assert done.status_code == 302
    assert done["Location"] == f"/desk/{clinic.branch.pk}/?day={MONDAY}&focus={booked.pk}"
    page = client.get(done["Location"], HTTP_HOST=host)
    assert f"Phil Phone booked on {date_format(MONDAY, 'D j M')} at 15:30." in page.content.decode()
    assert f'data-focus="{booked.pk}"' in page.content.decode()


def test_phone_patient_step_preselects_a_single_match_and_separates_name_and_mrn(desk):  # noqa: F811
    # given a patient on file and the phone booking's patient step
    clinic, client, host = desk
    patient = clinic.patient("Amelia")
    query = urlencode(
        {
            "source": "phone",
            "day": MONDAY,
            "service": clinic.service.pk,
            "doctor": clinic.doctors[0].pk,
            "start": clinic.at(MONDAY, 11).isoformat(),
            "q": patient.mrn,
        }
    )
    # when the desk searches the one patient
    page = client.get(f"/desk/{clinic.branch.pk}/walk-in/?{query}", HTTP_HOST=host)
    html = page.content.decode()
    # then the one found is already chosen, shown as "name · MRN", and the button says "Book"
    assert f'value="{patient.pk}" required checked>' in html
    assert f'{patient} <span class="muted">· {patient.mrn}' in html
    assert '<button type="submit">Book</button>' in html
    assert "Book walk-in" not in html


def test_move_page_uses_the_day_picker_and_lands_on_the_moved_appointment(desk):  # noqa: F811
    # given a booked appointment
    clinic, client, host = desk
    base, step2 = _phone_step2(client, host, clinic)
    link = re.search(r'href="\?(source=phone[^"]+start=[^"]+)"', step2.content.decode()).group(1).replace("&amp;", "&")
    client.post(f"{base}?{link}", {"first_name": "Mo", "last_name": "Mover"}, HTTP_HOST=host)
    booked = Appointment.objects.get(patient__last_name="Mover")
    # when the desk opens its Move page
    page = client.get(f"/desk/appointments/{booked.pk}/move/?day={MONDAY}", HTTP_HOST=host)
    html = page.content.decode()
    # then the free times come from the day picker, with the doctors' full names
    assert 'class="card day-picker"' in html
    assert any(f'<span class="who">{d.user.get_full_name()}</span>' in html for d in clinic.doctors)
    # and a move lands on the new day with the appointment focused, the message naming the doctor
    target, doctor = clinic.at(MONDAY, 15), clinic.doctors[1]
    moved = client.post(
        f"/desk/appointments/{booked.pk}/move/", {"start": target.isoformat(), "doctor": doctor.pk}, HTTP_HOST=host
    )
    assert moved["Location"] == f"/desk/{clinic.branch.pk}/?day={MONDAY}&focus={booked.pk}"
    booked.refresh_from_db()
    assert (booked.span.lower, booked.doctor) == (target, doctor)
    text = client.get(moved["Location"], HTTP_HOST=host).content.decode()
    when = f"{date_format(MONDAY, 'D j M')} at 15:00"
    assert f"Mo Mover moved to {when} with {doctor.user.get_full_name()}." in text


def test_a_series_appointments_panel_says_its_place_and_links_the_series(desk):  # noqa: F811
    # given a weekly series of six
    clinic, client, host = desk
    series, results = sched.series_book(
        actor=clinic.owner,  # the desk's receptionist was given this branch in the fixture, after her rights were read
        patient=clinic.patient(),
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        first_start=clinic.at(MONDAY, 11),
        count=6,
    )
    # when the desk opens the first one's panel
    panel = client.get(f"/desk/appointments/{results[0].appointment.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    # then it says where it stands in the series, with a link to the series page
    assert f'<a href="/desk/series/{series.pk}/">1 of 6 in a weekly series</a>' in panel.content.decode()


def test_the_desk_search_finds_a_national_phone_fragment_and_hints_a_short_name(desk):  # noqa: F811
    # given a patient whose mobile is stored in E.164
    clinic, client, host = desk
    patient = patient_create(actor=clinic.owner, first_name="Amelia", last_name="Hartley", phone="+447946000123")
    find = f"/desk/{clinic.branch.pk}/find/"
    # when the desk types the start of the number as dialled at home
    found = client.get(f"{find}?q=0794600", HTTP_HOST=host, HTTP_HX_REQUEST="true").content.decode()
    # then she is found
    assert "Amelia Hartley" in found
    assert list(patient_search(q="07946 000")) == [patient]
    # and two letters are answered with a hint, not an error
    short = client.get(f"{find}?q=am", HTTP_HOST=host, HTTP_HX_REQUEST="true").content.decode()
    assert '<p class="help">Type at least three letters of a name.</p>' in short
    assert 'role="alert"' not in short


def test_the_week_view_opens_on_a_doctor_who_works_that_week_and_walk_in_is_an_ordinary_button(desk):  # noqa: F811
    # given the first doctor (as the desk lists them) no longer on shift by MONDAY's week
    clinic, client, host = desk
    doctors = list(doctors_offering(branch=clinic.branch))
    for pattern in ShiftPattern.objects.filter(doctor=doctors[0]):
        shift_pattern_end(actor=clinic.owner, pattern=pattern, last_day=MONDAY - timedelta(days=3))
    # when the desk opens the week view with no doctor asked
    html = client.get(f"/desk/{clinic.branch.pk}/?day={MONDAY}&view=week", HTTP_HOST=host).content.decode()
    # then it shows the doctor who works that week
    assert f'data-week-doctor="{doctors[1].pk}"' in html
    # and the day's Walk-in link looks like the other actions, not like the chosen view
    day = client.get(f"/desk/{clinic.branch.pk}/?day={MONDAY}", HTTP_HOST=host).content.decode()
    assert re.search(r'<a class="button secondary" href="[^"]*walk-in/">Walk-in</a>', day)


def test_the_panel_lists_its_actions_in_the_order_they_are_seen_cancel_last(desk):  # noqa: F811
    # given a booked appointment
    clinic, client, host = desk
    booked = book(clinic, clinic.at(MONDAY, 10), actor=clinic.owner)
    # when the desk opens its panel
    html = client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true").content.decode()
    # then Move comes before Cancel in the page, as on screen, so Tab meets them in that order
    assert 0 < html.index(">Move…</a>") < html.index('class="confirm cancel-confirm"')
