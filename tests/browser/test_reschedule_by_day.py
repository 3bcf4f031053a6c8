"""Booking by day on a phone (390 px): a patient moves her appointment in the portal with the date
picker (a full day points to the next free day), and a visitor books online the same way."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients import services
from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.browser.conftest import emailed_code
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


def _said(day):
    return f"{day:%A} {day.day} {day:%B}"


def _clinic(browser_chain):
    """One doctor on shift 09:00-11:00 every day, online booking 90 days ahead, the Tuesday full."""
    clinic = clinic_setup(browser_chain, branch=browser_chain.branches[0], doctors=1, shift=(time(9), time(11)))
    sched.policy_update(actor=clinic.owner, online_horizon_days=90, cancellation_window_hours=0)
    for hh, mm in ((9, 0), (9, 30), (10, 0), (10, 30)):
        book(clinic, clinic.at(TUESDAY, hh, mm), actor=clinic.owner)
    return clinic


def test_a_patient_reschedules_in_the_portal_by_day_on_a_phone(page, live, browser_chain, shot, axe):
    cache.clear()
    page.set_viewport_size(PHONE)
    with committed(), schema_context(browser_chain.schema):
        clinic = _clinic(browser_chain)
        patient = services.patient_create(
            actor=clinic.owner, first_name="Rita", last_name="Day", email="rita.day@example.com", ignore_duplicates=True
        )
        booked = book(clinic, clinic.at(MONDAY, 9), actor=clinic.owner, patient=patient)

    # she signs in with a code
    page.goto(f"{live}/portal/sign-in/")
    page.get_by_label("Your e-mail address or mobile number").fill("rita.day@example.com")
    page.get_by_role("button", name="Send me a code").click()
    code = emailed_code("rita.day@example.com")
    page.get_by_label("The six-digit code we sent you").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Rita")).to_be_visible()

    # she opens the change page and goes to the full Tuesday in the month
    page.goto(f"{live}/portal/appointments/{booked.pk}/change/?month={TUESDAY:%Y-%m}")
    page.get_by_role("link", name=re.compile(rf"^{_said(TUESDAY)}, no free times")).click()
    expect(page.get_by_text("No free times on this day — next free day:")).to_be_visible()
    assert page.get_by_role("link", name=re.compile(rf"^{_said(TUESDAY)}")).get_attribute("aria-current") == "date"
    axe("portal change page, a full day, 390 px")
    shot("reschedule-by-day-full-390")

    # the next free day is the Wednesday: its times are under Morning, with her doctor and the price
    page.get_by_role("link", name=_said(WEDNESDAY), exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(_said(WEDNESDAY)))).to_be_visible()
    expect(page.get_by_role("heading", name="Morning")).to_be_visible()
    times = page.get_by_role("list", name="Morning times")
    expect(times.get_by_role("button")).to_have_count(7)  # 09:00 to 10:30 on the chain's 15-minute online grid
    # no time sticks out of a 390 px screen
    for box in (b.bounding_box() for b in times.get_by_role("button").all()):
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    axe("portal change page, a free day, 390 px")
    shot("reschedule-by-day-times-390")

    # she takes 10:00 with the keyboard
    times.get_by_role("button", name=re.compile("^10:00")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your appointment has moved.")).to_be_visible()
    shot("reschedule-by-day-moved-390")
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=booked.pk).span.lower == clinic.at(WEDNESDAY, 10)


def test_a_visitor_books_online_by_day_on_a_phone(page, live, browser_chain, shot, axe):
    cache.clear()
    page.set_viewport_size(PHONE)
    with committed(), schema_context(browser_chain.schema):
        clinic = _clinic(browser_chain)

    page.goto(f"{live}/book/")
    page.get_by_label("Where").select_option(label=clinic.branch.name)
    page.get_by_label("What").select_option(value=str(clinic.service.pk))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="See free times").click()
    expect(page.get_by_role("heading", name="Morning")).to_be_visible()
    axe("online booking, the first free day, 390 px")
    shot("book-by-day-390")

    # she goes to the Monday's month and the Monday, then takes its 09:30
    page.goto(f"{page.url}&month={MONDAY:%Y-%m}")
    page.get_by_role("link", name=re.compile(rf"^{_said(MONDAY)}, free times")).click()
    expect(page.get_by_role("heading", name=re.compile(_said(MONDAY)))).to_be_visible()
    page.get_by_role("list", name="Morning times").get_by_role("button", name=re.compile("^09:30")).click()
    page.get_by_label("First name").fill("Pat")
    page.get_by_label("Last name").fill("Phone")
    page.get_by_label("E-mail or mobile number").fill("pat.phone@example.com")
    page.get_by_role("button", name="Send me a code").click()
    code = emailed_code("pat.phone@example.com")
    page.get_by_label("The six-digit code we sent you").fill(code)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        booked = Appointment.objects.get(patient__email="pat.phone@example.com")
        assert (booked.status, booked.span.lower) == (Status.BOOKED, clinic.at(MONDAY, 9, 30))
