"""The desk's "Book ahead / series" page as the walk found it: one appointment by default (a series only
when asked), the desk's day kept from the button through choosing the patient, and one set of
Service/Doctor fields."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils.formats import date_format
from django_tenants.utils import schema_context

from tests.factories.scheduling import MONDAY, clinic_setup
from tests.helpers import sign_in


def test_book_ahead_opens_on_the_desks_day_for_one_appointment_with_one_service_field(in_a, client) -> None:
    # given a receptionist on the desk of a day a week ahead
    clinic = clinic_setup(in_a, doctors=1)
    patient = clinic.patient("Dora")
    day = MONDAY + timedelta(days=7)
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["receptionist"])
    url = f"/desk/{clinic.branch.pk}/book/"
    # when she opens "Book ahead / series" from it and searches the patient
    found = client.get(f"{url}?day={day}&q=Dora", HTTP_HOST=in_a.host).content.decode()
    # then the patient's link keeps the desk's day
    assert f"?patient={patient.pk}&amp;day={day}" in found
    # and, the patient chosen with a service, the picker and the form open on that day
    html = client.get(
        f"{url}?patient={patient.pk}&day={day}&service={clinic.service.pk}", HTTP_HOST=in_a.host
    ).content.decode()
    assert f'name="day" value="{day}"' in html
    assert f'<h2 id="times-day">{date_format(day, "DATE_FORMAT")}</h2>' in html
    assert re.search(r'name="count"[^>]*value="1"', html)
    # with one Service and one Doctor field on the page
    assert html.count('name="service"') == 2  # the finder's select and the form's hidden copy
    assert html.count("<select") == 2  # service and doctor, once
    assert html.count('<label for="find-service">') == 1
    assert 'type="hidden" name="service"' in html


def test_a_booking_with_the_defaults_is_one_appointment(in_a, client) -> None:
    # given the page as it opens (How many weeks: 1)
    clinic = clinic_setup(in_a, doctors=1)
    patient = clinic.patient()
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["receptionist"])
    # when the receptionist books at a time without touching the weeks
    done = client.post(
        f"/desk/{clinic.branch.pk}/book/",
        {
            "patient": patient.pk,
            "service": clinic.service.pk,
            "doctor": clinic.doctors[0].pk,
            "day": str(MONDAY),
            "at": "10:00",
            "count": 1,
            "notes": "",
        },
        HTTP_HOST=in_a.host,
    )
    # then one appointment is booked and the desk opens on its day
    assert done.status_code == 302
    assert done["Location"] == f"/desk/{clinic.branch.pk}/?day={MONDAY}"
    assert patient.appointments.count() == 1


def test_the_doctor_asked_for_stays_chosen_while_the_service_is_picked(in_a, client) -> None:
    # given a call-back's "Book" link: the patient and the follow-up's doctor, no service yet
    clinic = clinic_setup(in_a, doctors=2)
    patient = clinic.patient("Cleo")
    second = clinic.doctors[1]
    with schema_context(in_a.schema):
        sign_in(client, in_a.users["receptionist"])
    html = client.get(
        f"/desk/{clinic.branch.pk}/book/?patient={patient.pk}&doctor={second.pk}", HTTP_HOST=in_a.host
    ).content.decode()
    # then the finder's doctor is that doctor, so choosing the service keeps her
    chosen = re.search(r'<select id="find-doctor".*?</select>', html, re.S)
    assert chosen is not None
    assert re.search(rf'<option value="{second.pk}" selected>', chosen.group(0))
    assert "Choose the service above." in html
