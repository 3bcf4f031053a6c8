from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.browser.conftest import emailed_code
from tests.browser.test_front_desk import _desk
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_patient_books_online_verifies_downloads_ics_and_cancels(page, live, browser_chain, shot, axe):
    cache.clear()
    clinic, _ = _desk(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        sched.policy_update(actor=clinic.owner, cancellation_window_hours=0)
    page.goto(f"{live}/book/")
    page.get_by_label("Where").select_option(label=clinic.branch.name)
    page.get_by_label("What").select_option(value=str(clinic.service.pk))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="See free times").click()
    shot("book-slots")
    page.locator("section.day-times").get_by_role("button").first.click()  # the first free day's first time
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("Net")
    page.get_by_label("E-mail or mobile number").fill("nora@example.com")
    shot("book-details")
    page.get_by_role("button", name="Send me a code").click()
    code = emailed_code("nora@example.com")
    page.get_by_label("The six-digit code we sent you").fill(code)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    shot("book-confirmed")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Add to calendar")).click()
    assert "BEGIN:VEVENT" in open(download.value.path()).read()  # noqa: SIM115

    # cancelling asks first, and asks why
    page.locator("summary", has_text="Cancel").click()
    page.get_by_label("Reason (optional)").fill("Feeling better")
    shot("book-cancel-confirm")
    page.get_by_role("button", name="Yes, cancel").click()
    expect(page.get_by_text("Your appointment is cancelled.")).to_be_visible()
    # the same link now says so, with the details and only "Book again"
    expect(page.get_by_role("heading", name="Your appointment is cancelled")).to_be_visible()
    expect(page.get_by_role("link", name="Book again")).to_be_visible()
    expect(page.locator("summary", has_text="Cancel")).to_have_count(0)
    shot("book-cancelled-link")
    axe("cancelled booking link")
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(patient__email="nora@example.com").status == Status.CANCELLED
