"""The desk sees a patient flagged for no-shows, in a real browser at 1024x768: the book's block
says it after the name, the appointment's panel lists it first among the alerts, the chart says it;
axe finds no serious or critical violation on the book with the panel open, nor on the chart."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from scheduling.no_shows import no_show_mark_overdue
from tests.browser.conftest import sign_in
from tests.factories.scheduling import book, clinic_setup, daytime_branch
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

DESK = {"width": 1024, "height": 768}
FLAG = "Flagged for no-shows: missed 2 appointments in the last year"


def _flagged_patient_coming_today(chain):
    """A branch where it is daytime now, a patient who missed two visits in the last weeks (marked
    by the system's sweep) and comes later today (committed: the live server reads it)."""
    with committed(), schema_context(chain.schema):
        branch = daytime_branch(chain)
        chain.users["receptionist"].staff.branches.add(branch)
        clinic = clinic_setup(
            chain, branch=branch, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
        )
        patient = clinic.patient("Nadia")
        for days in (21, 7):
            start = clinic.at(clinic.days_ahead(-days), 10)
            with time_machine.travel(start - timedelta(days=1), tick=False):
                missed = book(clinic, start, patient=patient, actor=clinic.owner)
            assert no_show_mark_overdue(appointment_id=missed.pk, now=start + timedelta(minutes=30))
        coming = book(clinic, clinic.at(clinic.days_ahead(0), 22), patient=patient, actor=clinic.owner)
    return clinic, patient, coming


def test_the_desk_sees_the_no_show_flag_in_words(page, live, browser_chain, shot, axe):
    # given a flagged patient coming today, and the receptionist at the desk at 1024x768
    clinic, patient, coming = _flagged_patient_coming_today(browser_chain)
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["receptionist"].email)
    # when she opens today's book
    page.goto(f"{live}/desk/{clinic.branch.pk}/?day={coming.span.lower.astimezone(clinic.tz).date()}")
    block = page.locator(f"#event-{coming.pk}")
    # then the block says the flag after the name, in words
    expect(block).to_contain_text(f"{patient} (no-show flag)")
    # when she opens the appointment's panel
    block.click()
    panel = page.get_by_role("dialog")
    # then its alerts say it first
    expect(panel.get_by_role("heading", name="Alerts")).to_be_visible()
    expect(panel.locator(".panel-alerts li").first).to_have_text(FLAG)
    shot("no-show-flag-panel")
    axe("the book with a flagged patient's panel open")
    # when she opens the chart
    page.goto(f"{live}/patients/{patient.pk}/")
    # then it says the flag too
    expect(page.locator("#no-show-flag")).to_have_text(f"{FLAG}.")
    shot("no-show-flag-chart")
    axe("the chart of a flagged patient")
