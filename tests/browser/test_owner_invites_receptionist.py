from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.browser.conftest import recovery_code
from tests.factories import PASSWORD

# django_db: the live server commits on its own connection; this marks the run as needing the test DB.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_owner_adds_branch_and_invites_a_receptionist_who_signs_in(page, browser, live, browser_chain, shot):
    # the owner signs in: the password, then (owners use two factors) one of their recovery codes
    code = recovery_code(browser_chain, "owner")
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(browser_chain.email("owner"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Lost your phone? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    shot("owner-home")

    # adds a branch
    page.get_by_role("link", name="Branches").first.click()
    page.get_by_role("link", name="Add a branch").click()
    page.get_by_label("Name").fill("Riverside")
    page.get_by_label("Address").fill("12 River Walk\nLondon")
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_label("Phone").fill("+44 20 7946 0123")
    shot("branch-form")
    page.get_by_role("button", name="Save branch").click()
    expect(page.get_by_text("Branch Riverside added.")).to_be_visible()
    expect(page.get_by_role("cell", name="Riverside", exact=True)).to_be_visible()
    shot("branches")

    # invites a receptionist to it
    page.get_by_role("link", name="Staff").first.click()
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("E-mail").fill("rita@charlie.example")
    page.get_by_label("Receptionist").check()
    page.get_by_label("Riverside").check()
    shot("invite-form")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to rita@charlie.example.")).to_be_visible()
    expect(page.locator("#invitations").get_by_text("rita@charlie.example")).to_be_visible()
    shot("staff")

    # the receptionist follows the e-mailed link in a browser of their own
    invite = next(m for m in mail.outbox if m.to == ["rita@charlie.example"])
    link = re.search(r"http://\S+/invite/\S+/", invite.body).group(0)
    receptionist = browser.new_context().new_page()
    receptionist.goto(link)
    expect(receptionist.get_by_text("rita@charlie.example")).to_be_visible()
    receptionist.get_by_label("First name").fill("Rita")
    receptionist.get_by_label("Last name").fill("Reyes")
    receptionist.get_by_label("Password", exact=True).fill(PASSWORD)
    receptionist.get_by_label("Password again").fill(PASSWORD)
    shot("accept-invitation", receptionist)
    receptionist.get_by_role("button", name="Create my account").click()
    expect(receptionist.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    expect(receptionist.locator(".home-head")).to_contain_text("Rita")

    # signs out and back in with the new password
    receptionist.get_by_role("button", name="Sign out").click()
    receptionist.get_by_label("Email address").fill("rita@charlie.example")
    receptionist.get_by_label("Password").fill(PASSWORD)
    receptionist.get_by_role("button", name="Sign in").click()
    expect(receptionist.locator(".home-head")).to_contain_text("Receptionist")
    # and her desk is the branch she was invited to
    receptionist.get_by_role("link", name="Front desk", exact=True).click()
    expect(receptionist.get_by_role("heading", name=re.compile("Riverside"))).to_be_visible()
    # and sees no owner pages
    shot("receptionist-desk", receptionist)
    expect(receptionist.get_by_role("link", name="Chain settings")).to_have_count(0)
    assert receptionist.goto(receptionist.url.split("/desk/")[0] + "/settings/").status == 403

    # the used link does not work a second time
    again = browser.new_context().new_page()
    again.goto(link)
    expect(again.get_by_text("already been used")).to_be_visible()
