from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients import services
from tests.factories import PASSWORD
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_doctor_finds_a_patient_writes_and_signs_a_note(page, live, browser_chain, shot):
    doctor = browser_chain.users["doctor"]
    with committed(), schema_context(browser_chain.schema):
        patient = services.patient_create(
            actor=browser_chain.users["owner"],
            first_name="Renée",
            last_name="Łukasik",
            phone="+44 7912 345678",
            ignore_duplicates=True,
        )
        services.care_team_assign(actor=browser_chain.users["owner"], patient=patient, doctor=doctor.staff)

    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(doctor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Patients").first.click()
    # accents and case do not matter
    page.get_by_label(re.compile("Name, phone")).fill("renee lukas")
    expect(page.get_by_role("link", name="Łukasik, Renée")).to_be_visible()
    shot("patient-search")
    page.get_by_role("link", name="Łukasik, Renée").click()
    expect(page.get_by_role("heading", name=re.compile("Renée Łukasik"))).to_be_visible()

    page.get_by_role("link", name="Write a note").click()
    page.get_by_label("Title").fill("Knee pain")
    page.get_by_label("Note").fill("Pain in the left knee after running. No swelling.\nPlan: rest, ibuprofen.")
    shot("note-editor")
    page.get_by_role("button", name="Sign note").click()
    expect(page.get_by_text("Note signed.")).to_be_visible()
    note = page.locator("article", has_text="Knee pain")
    expect(note.get_by_text(re.compile("^Signed"))).to_be_visible()
    expect(note.get_by_role("link", name="Edit")).to_have_count(0)

    note.get_by_label("Addendum").fill("X-ray requested.")
    note.get_by_role("button", name="Add addendum").click()
    expect(page.get_by_text("X-ray requested.")).to_be_visible()
    shot("patient-chart")
