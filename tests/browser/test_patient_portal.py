from __future__ import annotations

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients import services
from scheduling.models import Appointment, Status
from tests.browser.conftest import emailed_code
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_patient_signs_in_with_a_code_and_cancels(page, live, browser_chain, shot):
    with committed(), schema_context(browser_chain.schema):
        clinic = clinic_setup(browser_chain, branch=browser_chain.branches[0], doctors=1)
        patient = services.patient_create(
            actor=clinic.owner,
            first_name="Paula",
            last_name="Online",
            email="paula@example.com",
            ignore_duplicates=True,
        )
        booked = book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, patient=patient)

    page.goto(f"{live}/portal/sign-in/")
    page.get_by_label("Your e-mail address or mobile number").fill("paula@example.com")
    shot("portal-sign-in")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code = emailed_code("paula@example.com")
    page.get_by_label("The six-digit code we sent you").fill(code)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Hello, Paula")).to_be_visible()
    card = page.locator(f"#appointment-{booked.pk}")
    expect(card).to_contain_text(clinic.service.name)
    shot("portal-home")
    # cancelling asks first, and asks why
    card.get_by_text("Cancel", exact=False).first.click()
    card.get_by_label("Reason (optional)").fill("Feeling better")
    shot("portal-cancel-confirm")
    card.get_by_role("button", name="Yes, cancel").click()
    expect(page.get_by_text("Your appointment is cancelled.")).to_be_visible()
    expect(page.locator(f"#appointment-{booked.pk}")).to_have_count(0)
    shot("portal-cancelled")
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.get(pk=booked.pk).status == Status.CANCELLED
