"""A manager adds a week of leave over 40 appointments and moves them to another doctor in one go, on
a 1024x768 screen: the page lists them by time with their options, one choice for all, one save."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from scheduling.models import Appointment, Leave, Status
from tenants.org import services as org
from tests.browser.conftest import sign_in
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed, second_factor_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
FRIDAY = MONDAY + timedelta(days=4)


def _week(chain):
    """A branch the manager runs, two doctors there, the first booked 8 times a day Monday to Friday
    (committed: the live server reads it)."""
    owner = chain.users["owner"]
    manager = chain.users["branch_manager"]
    with committed(), schema_context(chain.schema):
        # in the chain's own zone (tests/factories.chain_create), which the leave form's times are read in
        branch = org.branch_create(actor=owner, name=f"Leave {uuid.uuid4().hex[:6]}", timezone_name="Europe/London")
        manager.staff.branches.add(branch)
        clinic = clinic_setup(chain, branch=branch, doctors=2)
        away = clinic.doctors[0]
        booked = [
            book(clinic, clinic.at(MONDAY + timedelta(days=n), hour), actor=owner, doctor=away)
            for n in range(5)
            for hour in range(9, 17)
        ]
        code = second_factor_code(manager)
    return clinic, booked, code


def test_a_manager_adds_a_week_of_leave_over_40_appointments_and_moves_them_to_another_doctor(
    page, live, browser_chain, shot, axe
):
    clinic, booked, code = _week(browser_chain)
    away, other = clinic.doctors
    with committed(), schema_context(browser_chain.schema):
        away_name, other_name = away.user.get_full_name(), other.user.get_full_name()
    assert len(booked) == 40

    # the manager, at a desk-sized screen, opens the leave page and enters the week
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.email("branch_manager"), code)
    page.goto(f"{live}/settings/leave/")
    expect(page.get_by_role("heading", name="Doctors' leave")).to_be_visible()
    page.get_by_label("Doctor").select_option(label=away_name)
    page.get_by_label("From").fill(f"{MONDAY}T08:00")
    page.get_by_label("Until").fill(f"{FRIDAY}T18:00")
    page.get_by_label("Reason").fill("Conference")
    page.get_by_role("button", name="Add leave").click()

    # the 40 appointments in its way are listed by time, each with its options
    expect(page.get_by_role("heading", name="Appointments in the way")).to_be_visible()
    expect(page.get_by_text("40 appointments fall in this leave")).to_be_visible()
    rows = page.locator("table.leave-table tbody tr")
    expect(rows).to_have_count(40)
    first_row = page.get_by_label(re.compile(r"^Decision for .* at "), exact=False).first
    expect(first_row.locator("option", has_text=f"Move to {other_name}, same time")).to_have_count(1)
    shot("leave-proposal-1024")
    axe("leave proposal")

    # one choice for all: move everything to the other doctor, then save and apply
    page.get_by_label("Decision for all").select_option(label=f"Move all to {other_name}")
    page.get_by_role("button", name="Save leave and apply").click()
    expect(page.get_by_text("Leave added: 40 moved, 0 cancelled.")).to_be_visible()
    expect(page.get_by_text(f"{away_name}:")).to_be_visible()  # under "Coming leave"
    shot("leave-saved-1024")
    axe("leave saved")

    # the other doctor has all 40 at their own times, and the leave exists
    with committed(), schema_context(browser_chain.schema):
        after = {a.pk: a for a in Appointment.objects.filter(pk__in=[b.pk for b in booked])}
        assert all(
            (after[b.pk].doctor_id, after[b.pk].span, after[b.pk].status) == (other.pk, b.span, Status.BOOKED)
            for b in booked
        )
        leave = Leave.objects.get(doctor=away, status=Status.BOOKED)
        assert (leave.span.lower, leave.span.upper, leave.notes) == (
            clinic.at(MONDAY, 8),
            clinic.at(FRIDAY, 18),
            "Conference",
        )
