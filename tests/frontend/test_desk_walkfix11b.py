"""The desk after the second walk of issue 11: the Move page keeps the patient with her doctor and
both the Move page and phone booking choose a doctor ("With"); the phone booking's patient step
reads right (its button, the name and MRN, the look-alike tick only once look-alikes were found);
a mobile must be one that takes text messages; phones read as dialled at the branch."""

from __future__ import annotations

import re
from datetime import time
from urllib.parse import urlencode

import pytest
from django_tenants.utils import schema_context

from patients.models import Patient
from patients.services import patient_create
from scheduling.models import Appointment
from tests.factories.scheduling import MONDAY, book, clinic_setup


@pytest.fixture
def london(in_a, client):
    """Two doctors on shift 09:00-12:00 at the chain's London branch, the receptionist signed in."""
    clinic = clinic_setup(in_a, doctors=2, shift=(time(9), time(12)))
    with schema_context(in_a.schema):
        client.force_login(clinic.receptionist)
    first, own = sorted(clinic.doctors, key=lambda d: d.pk)  # "any doctor" used to name the lowest id
    return clinic, client, in_a.host, first, own


def _who(html: str) -> set[str]:
    return set(re.findall(r'<span class="who">([^<]+)</span>', html))


def _posted_doctors(html: str) -> set[str]:
    return set(re.findall(r'<input type="hidden" name="doctor" value="(\d+)"><input type="hidden" name="start"', html))


def _filter(html: str) -> str:
    return re.search(r'<form class="inline-form doctor-filter" method="get">.*?</form>', html, re.S).group(0)


def test_the_move_page_keeps_the_patient_with_her_doctor_and_offers_another(london):
    # given an appointment at 09:00 with the doctor of the higher id, both doctors free all morning
    clinic, client, host, first, own = london
    moving = book(clinic, clinic.at(MONDAY, 9), doctor=own)
    # when the desk opens its Move page on that day
    html = client.get(f"/desk/appointments/{moving.pk}/move/?day={MONDAY}", HTTP_HOST=host).content.decode()
    # then every time is with her own doctor, but for where it is now: 09:00 is with the colleague
    assert _who(html) == {own.user.get_full_name(), first.user.get_full_name()}
    assert _posted_doctors(html) == {str(own.pk), str(first.pk)}
    assert re.search(r'<span class="at">09:00</span>', html)
    # and a "With" filter offers any doctor or each doctor by name, keeping the day
    chooser = _filter(html)
    assert '<label for="picker-doctor">With</label>' in chooser
    assert '<option value="">any doctor</option>' in chooser
    assert f'<option value="{first.pk}">{first.user.get_full_name()}</option>' in chooser
    assert f'<input type="hidden" name="day" value="{MONDAY.isoformat()}">' in chooser
    # when the desk chooses the colleague
    chosen = client.get(f"/desk/appointments/{moving.pk}/move/?day={MONDAY}&doctor={first.pk}", HTTP_HOST=host)
    text = chosen.content.decode()
    # then the times are hers, named once above them, and the filter says so
    assert _posted_doctors(text) == {str(first.pk)}
    assert f"With <strong>{first.user.get_full_name()}</strong>" in text
    assert f'<option value="{first.pk}" selected>' in _filter(text)
    # and the days keep the choice
    assert f"doctor={first.pk}" in re.search(r'<a class="day free" href="([^"]+)"', text).group(1)


def test_phone_booking_chooses_a_doctor_and_keeps_her_across_days(london):
    # given the phone booking's times for the service on the Monday
    clinic, client, host, _, own = london
    base = f"/desk/{clinic.branch.pk}/walk-in/?source=phone&service={clinic.service.pk}&day={MONDAY}"
    anyone = client.get(base, HTTP_HOST=host).content.decode()
    # then the day picker carries the "With" filter, keeping the caller's service and the day
    chooser = _filter(anyone)
    assert '<input type="hidden" name="source" value="phone">' in chooser
    assert f'<input type="hidden" name="service" value="{clinic.service.pk}">' in chooser
    assert f'<option value="{own.pk}">{own.user.get_full_name()}</option>' in chooser
    # when the desk chooses the doctor of the higher id
    html = client.get(f"{base}&doctor={own.pk}", HTTP_HOST=host).content.decode()
    # then every time links to the patient step with her, and the month's days keep her
    times = re.findall(r'<a class="button secondary time" href="([^"]+)"', html)
    links = [link.replace("&amp;", "&") for link in times]
    assert links
    assert all(f"doctor={own.pk}" in link for link in links)
    assert f"With <strong>{own.user.get_full_name()}</strong>" in html
    assert all(f"doctor={own.pk}" in href for href in re.findall(r'<a class="day free" href="([^"]+)"', html))
    # and a doctor who does not offer the service here is "any doctor"
    stranger = client.get(f"{base}&doctor=999999", HTTP_HOST=host).content.decode()
    assert "selected" not in _filter(stranger)


def _patient_step(clinic, doctor, **extra):
    query = {
        "source": "phone",
        "day": MONDAY,
        "service": clinic.service.pk,
        "doctor": doctor.pk,
        "start": clinic.at(MONDAY, 10).isoformat(),
        **extra,
    }
    return f"/desk/{clinic.branch.pk}/walk-in/?{urlencode(query)}"


def test_the_phone_patient_step_reads_right(london):
    # given a patient on file, found on the phone booking's patient step
    clinic, client, host, first, _ = london
    harry = patient_create(actor=clinic.owner, first_name="Harry", last_name="Walsh", phone="+447946000012")
    html = client.get(_patient_step(clinic, first, q=harry.mrn), HTTP_HOST=host).content.decode()
    # then the button says "Book", and the name and MRN are one text with a space before the dot
    assert '<button type="submit">Book</button>' in html
    assert "Book phone booking" not in html
    assert f'<span class="choice">{harry} <span class="muted">· {harry.mrn}' in html
    # and no look-alike tick shows before any look-alike was found
    assert "look-alike" not in html
    assert 'name="ignore_duplicates"' not in html


def test_the_look_alike_tick_shows_once_the_service_found_look_alikes(london):
    # given a patient on file with a mobile
    clinic, client, host, first, _ = london
    patient_create(actor=clinic.owner, first_name="Harry", last_name="Walsh", phone="+447946000012")
    url = _patient_step(clinic, first)
    caller = {"first_name": "Harriet", "last_name": "Walsh", "phone": "07946 000012"}
    # when the desk registers a new caller with the same mobile
    refused = client.post(url, caller, HTTP_HOST=host).content.decode()
    # then nothing is booked, the look-alikes are said, and only now the tick shows, unticked
    assert not Appointment.objects.filter(patient__first_name="Harriet").exists()
    assert "tick the box if this is someone else" in refused
    assert re.search(r'<input type="checkbox" name="ignore_duplicates" id="id_ignore_duplicates">', refused)
    # when the desk ticks it
    done = client.post(url, caller | {"ignore_duplicates": "on"}, HTTP_HOST=host)
    # then the caller is registered and booked
    assert done.status_code == 302
    assert Appointment.objects.filter(patient__first_name="Harriet").exists()


def test_a_mobile_a_digit_short_is_refused_beside_the_field_and_kept(london):
    # given the phone booking's patient step
    clinic, client, host, first, _ = london
    before = Patient.objects.count()
    # when the desk registers a caller with a mobile typed a digit short
    typed = {"first_name": "Dora", "last_name": "Digit", "phone": "0770090012"}
    page = client.post(_patient_step(clinic, first), typed, HTTP_HOST=host)
    # then the error is beside the field, what was typed stays, and nobody is registered or booked
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'id="id_phone_error">.*not a mobile number', html, re.S)
    assert 'value="0770090012"' in html
    assert Patient.objects.count() == before


def test_phones_read_as_dialled_at_the_branch_and_dial_in_e164(london):
    # given a patient with a UK mobile booked at the London branch, and one with a French mobile
    clinic, client, host, first, _ = london
    uk = patient_create(actor=clinic.owner, first_name="Ula", last_name="Kay", phone="+447946000008")
    fr = patient_create(actor=clinic.owner, first_name="Fleur", last_name="Rance", phone="+33612345678")
    booked = book(clinic, clinic.at(MONDAY, 9), doctor=first, patient=uk)
    # when the desk opens its panel
    panel = client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host, HTTP_HX_REQUEST="true")
    # then the number reads in national form, and the link dials E.164
    assert '<a href="tel:+447946000008">07946 000008</a>' in panel.content.decode()
    # and a number from abroad reads in international form, in the patients' search too
    found = client.get("/patients/?q=Rance", HTTP_HOST=host, HTTP_HX_REQUEST="true").content.decode()
    assert "<td>+33 6 12 34 56 78</td>" in found
    chart = client.get(f"/patients/{fr.pk}/", HTTP_HOST=host).content.decode()
    assert '<a href="tel:+33612345678">+33 6 12 34 56 78</a>' in chart
