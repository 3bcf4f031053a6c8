"""Under the Content-Security-Policy the pages still work in a real browser, and it reports no violation:
sign-in, the desk's appointment book (npm's calendar, refreshed by script from static files), online
booking, the API docs."""

from __future__ import annotations

from datetime import time

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# Records every violation the page reports, whatever its source (the console only shows some).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def watched(page):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.add_init_script(WATCH)

    def check() -> list[str]:
        return problems + page.evaluate("window.__csp || []")

    return page, check


def test_pages_work_with_no_policy_violation(watched, live, browser_chain, shot):
    page, violations = watched
    # given a desk with an appointment, and a receptionist
    with committed(), schema_context(browser_chain.schema):
        clinic = clinic_setup(
            browser_chain, doctors=2, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
        )
        receptionist = browser_chain.users["receptionist"]
        receptionist.staff.branches.add(clinic.branch)
        booked = book(
            clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=clinic.patient("Csp"), doctor=clinic.doctors[1]
        )
    # when the receptionist signs in (the policy is in force on the page)
    header = page.goto(f"{live}/accounts/login/").headers["content-security-policy"]
    policy = {part.strip() for part in header.split(";")}
    assert {"script-src 'self'", "style-src 'self'"} <= policy
    page.get_by_label("Email address").fill(receptionist.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # and opens the day: the book (npm's calendar, fed by JSON) puts the appointment in its doctor's
    # column, also after a live refresh; the calendar's own sizing goes through the CSSOM
    page.goto(f"{live}/desk/{clinic.branch.pk}/?day={MONDAY}")
    entry = page.locator(f"#event-{booked.pk}")
    expect(entry).to_be_visible()
    head = page.locator(".ec-col-head", has_text=booked.doctor.user.get_full_name()).bounding_box()
    box = entry.bounding_box()
    assert head["x"] <= box["x"] < head["x"] + head["width"]
    page.locator("#book").dispatch_event("book:refresh")
    page.wait_for_load_state("networkidle")
    expect(page.locator(f"#event-{booked.pk}")).to_be_visible()
    shot("csp-desk")
    assert violations() == []
    # then a visitor's booking page fills in the visitor's time zone from the page's script
    page.context.clear_cookies()
    page.goto(f"{live}/book/")
    expect(page.locator("#tz")).not_to_have_value("")
    # (the session's chain holds other journeys' branches and services too: choose this one's)
    page.get_by_label("Where").select_option(label=clinic.branch.name)
    page.get_by_label("What").select_option(value=str(clinic.service.pk))
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="See free times").click()
    expect(page.locator("form button.secondary").first).to_be_visible()
    shot("csp-booking")
    assert violations() == []
    # and the API docs render from the sidecar's files with their init script loaded from a file
    page.goto(f"{live}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Clinicflow API")
    expect(page.locator(".opblock").first).to_be_visible()
    shot("csp-api-docs")
    assert violations() == []
