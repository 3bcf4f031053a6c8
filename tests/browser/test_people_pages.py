"""Pages that respect people, at a 1024x768 tablet: each role's home shows today's work, a form error
sits beside its field with what was typed kept, a phone typed in national form is taken, the operator
signs in from the landing page, and the clinic's sign-in page names the clinic. axe finds nothing serious."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from notifications.policy import EMAIL_FOLLOW_UPS_LABEL, EMAIL_WITHDRAWN_LABEL, SMS_CONSENT_LABEL
from patients.models import Patient
from tests.factories import PASSWORD
from tests.factories.scheduling import book, clinic_setup, daytime_branch, local_today
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
TABLET = {"width": 1024, "height": 768}


def _today(browser_chain):  # type: ignore[no-untyped-def]
    """A branch inside its working day now, with the desk and the manager on it, and one patient
    booked later today with its first doctor."""
    with committed(), schema_context(browser_chain.schema):
        branch = daytime_branch(browser_chain)
        for role in ("receptionist", "branch_manager"):
            browser_chain.users[role].staff.branches.add(branch)
        clinic = clinic_setup(
            browser_chain,
            branch=branch,
            doctors=1,
            duration=20,
            opens=time(0),
            closes=time(23, 55),
            shift=(time(0), time(23, 55)),
        )
        day = local_today(clinic.tz)
        soon = [s.start for s in clinic.slots(day, step=20) if s.start > timezone.now() + timedelta(minutes=5)]
        patient = clinic.patient("Harriet")
        booked = book(clinic, soon[0], actor=clinic.owner, patient=patient)
    return clinic, booked


def _sign_in(page, live, email):  # type: ignore[no-untyped-def]
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page):  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign out").click()


def _one_row_nav(page) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("header.top .bar").bounding_box()
    assert box is not None
    assert box["height"] < 80, box  # one row: nothing wrapped


def test_each_roles_home_shows_todays_work_at_a_tablet(page, live, browser_chain, shot, axe) -> None:
    clinic, booked = _today(browser_chain)
    page.set_viewport_size(TABLET)
    name = f"{booked.patient.first_name} {booked.patient.last_name}"

    # the receptionist: the patient is among today's arrivals, with a check-in button
    _sign_in(page, live, browser_chain.users["receptionist"].email)
    expect(page.get_by_role("heading", name=re.compile("^Today,"))).to_be_visible()
    arrivals = page.locator("section", has=page.get_by_role("heading", name=re.compile("Arrivals still expected")))
    expect(arrivals.get_by_role("link", name=name)).to_be_visible()
    expect(arrivals.get_by_role("button", name=re.compile(f"Check in {name}"))).to_be_visible()
    _one_row_nav(page)
    shot("home-receptionist-1024")
    axe("home-receptionist")
    _sign_out(page)

    # the doctor: her next patient, linked to the chart
    _sign_in(page, live, clinic.doctors[0].user.email)
    nxt = page.locator("section", has=page.get_by_role("heading", name="Your next patient"))
    expect(nxt.get_by_role("link", name=name)).to_be_visible()
    expect(nxt.get_by_role("link", name="Open the chart")).to_have_attribute("href", f"/patients/{booked.patient_id}/")
    shot("home-doctor-1024")
    axe("home-doctor")
    _sign_out(page)

    # the manager: her branches at a glance, this one with its appointment
    _sign_in(page, live, browser_chain.users["branch_manager"].email)
    glance = page.locator("section", has=page.get_by_role("heading", name="Your branches today"))
    row = glance.get_by_role("row", name=re.compile(clinic.branch.name))
    expect(row).to_be_visible()
    _one_row_nav(page)
    shot("home-manager-1024")
    axe("home-manager")


def test_a_form_error_sits_beside_its_field_and_a_national_phone_is_taken(page, live, browser_chain, shot, axe) -> None:
    page.set_viewport_size(TABLET)
    _sign_in(page, live, browser_chain.users["receptionist"].email)
    page.goto(f"{live}/patients/new/")
    page.get_by_label("First name").fill("Phoebe")
    page.get_by_label("Last name").fill("Formfield")
    page.get_by_label("Mobile", exact=True).fill("call me")
    page.get_by_label("City").fill("Leeds")
    page.get_by_role("button", name="Register").click()

    # the error is named in a summary, linked to the field, and said beside it; what was typed stays
    expect(page.get_by_role("link", name=re.compile("^Mobile: This is not a phone number"))).to_be_visible()
    phone = page.locator("#id_phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_phone_error")).to_contain_text("not a phone number")
    expect(phone).to_have_value("call me")
    expect(page.get_by_label("First name")).to_have_value("Phoebe")
    expect(page.get_by_label("City")).to_have_value("Leeds")
    shot("form-error-beside-field-1024")
    axe("patient-form-error")

    # typed as people say it at home, the number is taken, with her "text me" and "no e-mails"
    phone.fill("07946 900126")
    page.get_by_label(SMS_CONSENT_LABEL).check()
    page.get_by_label(EMAIL_WITHDRAWN_LABEL).check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(re.compile("Phoebe Formfield registered as"))).to_be_visible()
    expect(page.get_by_text("SMS: agreed")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        phoebe = Patient.objects.get(last_name="Formfield")
        assert phoebe.phone == "+447946900126"
        assert phoebe.consents_to("sms")
        assert phoebe.email_consent_withdrawn_at is not None

    # "Edit details" shows what she said, ticked; follow-ups by e-mail and "No e-mails" together are refused
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_label(SMS_CONSENT_LABEL)).to_be_checked()
    expect(page.get_by_label(EMAIL_WITHDRAWN_LABEL)).to_be_checked()
    page.get_by_label(EMAIL_FOLLOW_UPS_LABEL).check()
    page.get_by_role("button", name="Save details").click()
    expect(page.locator("#id_email_withdrawn_error")).to_contain_text("Tick one")
    shot("patient-edit-consent-error-1024")
    axe("patient-edit-consent-error")


def test_the_clinic_sign_in_names_the_clinic(page, live, browser_chain, shot, axe) -> None:
    page.set_viewport_size(TABLET)
    page.goto(f"{live}/accounts/login/")
    expect(page.get_by_role("heading", name=f"Sign in to {browser_chain.clinic.name}")).to_be_visible()
    assert "localhost" not in page.locator("main").inner_text()
    shot("clinic-sign-in-1024")
    axe("clinic-sign-in")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live}/portal/sign-in/")
    expect(page.get_by_role("heading", name=f"Your appointments at {browser_chain.clinic.name}")).to_be_visible()
    shot("portal-sign-in-390")
    axe("portal-sign-in")


def test_the_operator_signs_in_from_the_landing_page(page, live_server_port, shot, axe) -> None:
    page.set_viewport_size(TABLET)
    page.goto(f"http://localhost:{live_server_port}/")
    page.get_by_role("link", name="Operator sign in").click()
    expect(page.get_by_role("heading", name="Sign in to Clinicflow")).to_be_visible()
    page.get_by_label("Email address").fill("operator@platform.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Clinic chains")).to_be_visible()
    shot("operator-clinic-chains-1024")
    axe("operator-clinic-chains")


def test_the_owners_bar_fits_one_row_at_1024_and_1280_and_check_in_stays_in_its_card(
    page, live, browser_chain, shot, axe
) -> None:
    from tests.browser.conftest import recovery_code, sign_in

    _clinic, booked = _today(browser_chain)
    name = f"{booked.patient.first_name} {booked.patient.last_name}"
    page.set_viewport_size(TABLET)
    sign_in(page, live, browser_chain.users["owner"].email, recovery_code(browser_chain, "owner"))

    for width in (1024, 1280):
        page.set_viewport_size({"width": width, "height": 768})
        page.goto(f"{live}/")
        # every place of the main bar is whole (nothing scrolled out of sight), the account last
        _one_row_nav(page)
        links = page.locator("header.top .nav-links")
        assert links.evaluate("el => el.scrollWidth <= el.clientWidth"), width
        expect(page.get_by_role("link", name=re.compile("^Account"))).to_be_visible()
        expect(links.get_by_role("link", name="Settings", exact=True)).to_be_visible()
        # the arrivals' check-in button ends inside its card
        card = page.locator("section", has=page.get_by_role("heading", name=re.compile("Arrivals still expected")))
        button = card.get_by_role("button", name=re.compile(f"Check in {name}"))
        card_box, button_box = card.bounding_box(), button.bounding_box()
        assert card_box is not None
        assert button_box is not None
        assert button_box["x"] + button_box["width"] <= card_box["x"] + card_box["width"], width
        shot(f"home-owner-{width}")
    axe("home-owner")

    # a settings page lists the others under Settings
    page.set_viewport_size(TABLET)
    page.locator("header.top").get_by_role("link", name="Settings", exact=True).click()
    sub = page.get_by_role("navigation", name="Settings")
    sub.get_by_role("link", name="Leave", exact=True).click()
    expect(page.get_by_role("heading", name="Doctors' leave")).to_be_visible()
    expect(sub.get_by_role("link", name="Leave", exact=True)).to_have_attribute("aria-current", "page")
    _one_row_nav(page)
    shot("settings-leave-1024")
    axe("settings-leave")
