"""The portal's Account link on a phone (390 px): it opens the patient's own account page (her
details, signing out), not the staff's two-factor page. Screenshot and axe."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from patients import services
from tests.factories.scheduling import clinic_setup
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
PHONE = {"width": 390, "height": 844}


def test_a_patients_account_link_opens_her_account_page_and_she_signs_out(page, live, browser_chain, shot, axe):
    # given a patient of the chain, signed in to the portal on her phone
    with committed(), schema_context(browser_chain.schema):
        clinic = clinic_setup(browser_chain, branch=browser_chain.branches[0], doctors=1)
        services.patient_create(
            actor=clinic.owner,
            first_name="Rosa",
            last_name="Account",
            email="rosa.account@example.com",
            ignore_duplicates=True,
        )
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/portal/sign-in/")
    page.get_by_label("Your e-mail address or mobile number").fill("rosa.account@example.com")
    page.get_by_role("button", name="Send me a code").click()
    message = next(m for m in mail.outbox if m.to == ["rosa.account@example.com"])
    page.get_by_label("The six-digit code we sent you").fill(re.search(r"\b(\d{6})\b", message.body).group(1))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Rosa")).to_be_visible()
    # when she follows Account
    page.get_by_role("link", name=re.compile("^Account")).click()
    # then it is her own account page, with her details and a way to sign out
    expect(page).to_have_url(re.compile(r"/portal/details/$"))
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    expect(page.get_by_text("You are signed in as rosa.account@example.com")).to_be_visible()
    # and it says e-mail about her visits comes unless she ticks No e-mails, follow-ups only if she asks
    expect(page.get_by_text("We e-mail you about your visits")).to_be_visible()
    expect(page.get_by_label("No e-mails, not even about my visits")).not_to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot("portal-account")
    axe("portal-account")
    # when she signs out there, she is back at the portal's sign-in
    page.get_by_role("main").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/portal/sign-in/$"))
