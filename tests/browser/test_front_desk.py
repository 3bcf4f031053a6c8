from __future__ import annotations

import re
from datetime import time

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import PASSWORD
from tests.factories.scheduling import book, clinic_setup, daytime_branch
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _desk(browser_chain):
    with committed(), schema_context(browser_chain.schema):
        branch = daytime_branch(browser_chain)
        receptionist = browser_chain.users["receptionist"]
        receptionist.staff.branches.add(branch)
        # The user object lives for the session and caches the branches it sees (per request in the
        # app): forget them, so services called here with this object see the new branch too.
        receptionist.__dict__.pop("_visible_branch_ids", None)
        clinic = clinic_setup(
            browser_chain,
            branch=branch,
            doctors=2,
            duration=20,
            opens=time(0),
            closes=time(23, 55),
            shift=(time(0), time(23, 55)),
        )
    return clinic, receptionist


def _sign_in(page, live, user):
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_receptionist_books_a_walk_in_in_three_steps(page, live, browser_chain, shot):
    clinic, receptionist = _desk(browser_chain)
    _sign_in(page, live, receptionist)
    page.goto(f"{live}/desk/{clinic.branch.pk}/")
    shot("desk-day")
    page.get_by_role("link", name="Walk-in").click()
    # 1. the service
    page.get_by_label(re.compile(clinic.service.name)).check()
    page.get_by_role("button", name="Next").click()
    # 2. the first free doctor, now
    page.get_by_role("link", name=re.compile("^First free")).click()
    # 3. the patient, created on the spot
    page.get_by_label("First name").fill("Wanda")
    page.get_by_label("Last name").fill("Walkin")
    shot("walk-in-patient")
    page.get_by_role("button", name="Register and book").click()
    expect(page.get_by_text(re.compile("Wanda Walkin booked on .* at"))).to_be_visible()
    shot("desk-after-walk-in")
    # the visit is on the book; its panel (a dialog, never clipped) holds its actions
    with committed(), schema_context(browser_chain.schema):
        booked = Appointment.objects.get(patient__last_name="Walkin")
    block = page.locator(f"#event-{booked.pk}")
    expect(block).to_contain_text("Wanda Walkin")
    block.click()
    panel = page.get_by_role("dialog")
    shot("desk-block-open")
    panel.get_by_role("button", name="Check in").click()
    expect(panel.get_by_role("status")).to_contain_text("checked in")
    panel.get_by_role("button", name="Close").click()
    expect(page.locator(f"#event-{booked.pk}")).to_contain_text("Checked in")


def test_two_receptionists_race_for_one_slot_and_one_sees_the_conflict(browser, live, browser_chain, shot):
    clinic, receptionist = _desk(browser_chain)
    pages = [browser.new_context().new_page() for _ in range(2)]
    for p in pages:
        _sign_in(p, live, receptionist)
        p.goto(f"{live}/desk/{clinic.branch.pk}/walk-in/?service={clinic.service.pk}")
    # both pick the same first free slot
    link = pages[0].get_by_role("link", name=re.compile("^First free")).get_attribute("href")
    for p, (first, last) in zip(pages, [("Ada", "First"), ("Bea", "Second")], strict=True):
        p.goto(f"{live}/desk/{clinic.branch.pk}/walk-in/{link}")
        p.get_by_label("First name").fill(first)
        p.get_by_label("Last name").fill(last)
    pages[0].get_by_role("button", name="Register and book").click()
    expect(pages[0].get_by_text(re.compile("Ada First booked on .* at"))).to_be_visible()
    pages[1].get_by_role("button", name="Register and book").click()
    expect(pages[1].get_by_text("The doctor already has an appointment at that time.")).to_be_visible()
    shot("walk-in-conflict", pages[1])
    with committed(), schema_context(browser_chain.schema):
        assert Appointment.objects.filter(patient__last_name__in=["First", "Second"]).count() == 1
        assert not Patient.objects.filter(last_name="Second").exists()  # nothing half-written


def test_manager_adding_leave_sees_the_conflicts(page, live, browser_chain, shot):
    from tests.factories.scheduling import MONDAY

    with committed(), schema_context(browser_chain.schema):
        clinic = clinic_setup(browser_chain, branch=browser_chain.branches[0], doctors=1)
        patient = clinic.patient("Clashing")
        book(clinic, clinic.at(MONDAY, 11), actor=clinic.owner, patient=patient)
        doctor_name = clinic.doctors[0].user.get_full_name()
    _sign_in(page, live, browser_chain.users["branch_manager"])
    page.get_by_role("link", name="Leave", exact=True).click()
    page.get_by_label("Doctor").select_option(label=doctor_name)
    page.get_by_label("From").fill(f"{MONDAY}T09:00")
    page.get_by_label("Until").fill(f"{MONDAY}T17:00")
    page.get_by_label("Reason").fill("Conference")
    page.get_by_role("button", name="Add leave").click()
    # a decision to make, said as a notice (not an error), with the appointment listed to decide on
    conflicts = page.locator("section.leave-proposal")
    expect(conflicts.get_by_role("status")).to_contain_text("1 appointment falls in this leave: decide for each below")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(conflicts.get_by_role("link", name=re.compile("Clashing"))).to_be_visible()
    shot("leave-conflicts")


def test_a_new_caller_booked_by_phone_gives_an_e_mail_and_consent_and_the_desk_is_told_the_confirmation_goes(
    page, live, browser_chain, shot, axe
):
    from notifications.models import MessagingSettings

    clinic, receptionist = _desk(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        # whatever the hour the test runs at, it is not in quiet hours
        MessagingSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_start": None, "quiet_hours_end": None})
    page.set_viewport_size({"width": 1024, "height": 768})
    _sign_in(page, live, receptionist)
    day = clinic.days_ahead(3)
    page.goto(f"{live}/desk/{clinic.branch.pk}/walk-in/?source=phone&service={clinic.service.pk}&day={day}")
    # the first free time of the day
    page.locator("a[href*='start=']").first.click()
    # the new caller: name, mobile, e-mail, and what they agreed to
    page.get_by_label("First name").fill("Petra")
    page.get_by_label("Last name").fill("Phoned")
    page.get_by_label("Mobile").fill("+447911123480")
    page.get_by_label("E-mail", exact=True).fill("petra@example.com")
    page.get_by_label("Agrees to follow-up reminders by e-mail too").check()
    expect(page.get_by_label("No e-mails: the patient does not want e-mail, not even about visits")).not_to_be_checked()
    shot("phone-new-patient-consent-1024")
    axe("phone-new-patient-consent")
    page.get_by_role("button", name="Register and book").click()
    # the desk is told she is booked and where the confirmation goes (no SMS: she did not agree to texts)
    expect(page.get_by_text(re.compile("Petra Phoned booked on .* at"))).to_be_visible()
    expect(page.get_by_text("A confirmation goes by e-mail to petra@example.com.", exact=False)).to_be_visible()
    shot("phone-booked-confirmation-said-1024")
    with committed(), schema_context(browser_chain.schema):
        patient = Patient.objects.get(last_name="Phoned")
        assert patient.consents_to("email")
        assert not patient.consents_to("sms")
