"""The reports at a desk's 1024x768 (issue 14): a branch manager opens the utilization dashboard of her
branch for last month, drills into a doctor, then into the appointments behind one of her figures,
and downloads them as CSV; the owner opens the overview and compares two branches side by side, and
reads it on a 390 px phone too. Screenshots at each step, axe with no serious or critical violation
on each page, and nothing wider than the screen.

The figures are lived through the real services on days of last month (by the run's clock) at two
branches of their own, then the rollups refreshed as the worker does."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from reporting.period import Period
from reporting.rollups import rollups_refresh_all
from reporting.selectors import doctor_name
from scheduling.models import Source
from tenants.accounts.models import User
from tenants.org import services as org
from tenants.org.models import Role
from tests.browser.conftest import recovery_code, sign_in
from tests.factories import Chain, user_with_roles
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, clinic_setup, local_today
from tests.frontend.test_report_pages import visit
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass
class Journey:
    north: Clinic
    south: Clinic
    manager: User
    month: Period
    patients: list[str]  # the first names of the patients doctor A saw


def _last_month() -> Period:
    return Period.month_of(local_today().replace(day=1) - timedelta(days=1))


def _journey(chain: Chain) -> Journey:
    """Two branches of their own, North (a manager of its own, doctors A and B) and South (doctor C),
    priced at 75.00 a visit, with last month's visits: at North, A saw three patients (one paid), one
    did not come, one cancelled late, and B saw two; at South, C saw two and one did not come."""
    month = _last_month()
    first, second = month.first + timedelta(days=9), month.first + timedelta(days=10)
    with committed(), schema_context(chain.schema):
        owner = chain.users["owner"]
        north_branch = org.branch_create(actor=owner, name="Reports North", timezone_name="Europe/London")
        south_branch = org.branch_create(actor=owner, name="Reports South", timezone_name="Europe/London")
        north = priced(clinic_setup(chain, branch=north_branch, doctors=2))
        south = priced(clinic_setup(chain, branch=south_branch, doctors=1))
        manager = user_with_roles(
            email="north.manager@charlie.example", roles=[Role.BRANCH_MANAGER], branches=[north_branch]
        )
        a, b = north.doctors
        seen = ["Ada", "Grace", "Olive"]
        visit(north, first, 9, "completed", doctor=a, patient=north.patient(seen[0]), paid=True)
        visit(north, first, 10, "completed", doctor=a, patient=north.patient(seen[1]))
        visit(north, first, 11, "no_show", doctor=a, patient=north.patient("Nora"))
        visit(north, second, 9, "late_by_patient", doctor=a, patient=north.patient("Lena"))
        visit(north, second, 10, "completed", doctor=a, patient=north.patient(seen[2]), source=Source.ONLINE)
        visit(north, first, 9, "completed", doctor=b, patient=north.patient("Bea"))
        visit(north, second, 14, "completed", doctor=b, patient=north.patient("Bella"))
        visit(south, first, 9, "completed", patient=south.patient("Zelda"))
        visit(south, first, 10, "completed", patient=south.patient("Zara"))
        visit(south, second, 10, "no_show", patient=south.patient("Yara"))
        rollups_refresh_all()
    return Journey(north, south, manager, month, seen)


@pytest.fixture(scope="module")
def journey(browser_chain: Chain, django_db_blocker: Any) -> Journey:
    """Made once for both journeys (committed: the live server reads it)."""
    with django_db_blocker.unblock():
        return _journey(browser_chain)


# What sticks out past the right edge of the screen, outside any box that scrolls it away (the
# innermost such elements), to name in a failure.
OVERFLOWING = """() => {
    const out = e => e.getBoundingClientRect().right > window.innerWidth + 1;
    const scrolled = e => { for (let a = e.parentElement; a; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") return true; } return false; };
    return [...document.querySelectorAll("body *")].filter(e => out(e) && !scrolled(e))
        .filter(e => ![...e.children].some(c => out(c) && !scrolled(c)))
        .slice(0, 5).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right));
}"""


def _fits(page: Any) -> None:
    """Nothing is wider than the screen: a wide table scrolls inside its card."""
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"the page scrolls sideways: {page.evaluate(OVERFLOWING)}"


def _charts_drawn(page: Any) -> None:
    """Each chart is drawn once charts.js has read its table (the table stays one click away)."""
    for figure in page.locator("figure.chart[data-chart]").all():
        expect(figure.locator("canvas")).to_be_visible()


def test_a_manager_drills_from_her_branch_to_a_doctor_to_the_appointments_and_exports_them(
    page, live, journey, shot, axe, tmp_path
) -> None:
    a = journey.north.doctors[0]
    page.set_viewport_size(DESK)
    sign_in(page, live, journey.manager.email)

    # Reports leads the manager of one branch to its dashboard; she chooses last month
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name=re.compile("^Reports North"))).to_be_visible()
    page.get_by_role("list", name="Quick choices of period").get_by_role("link", name="Last month").click()
    expect(page.get_by_role("heading", name=re.compile(f"{journey.month.first:%B %Y}"))).to_be_visible()
    # her doctors' utilization, each a row; South is nowhere
    doctors = page.locator("#doctors")
    expect(doctors.get_by_role("link", name=doctor_name(a), exact=True)).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Reports South")
    completed = page.locator(".report-card", has=page.get_by_role("heading", name="Completed visits"))
    expect(completed.locator(".report-value")).to_have_text(re.compile(r"^5\b"))
    _charts_drawn(page)
    _fits(page)
    shot("reports-1-branch-1024")
    axe("reports branch dashboard")

    # she sorts her doctors by no-shows: a number column starts from the most, a second click the fewest
    b = journey.north.doctors[1]
    header = doctors.get_by_role("columnheader", name="No-shows", exact=True)
    header.get_by_role("button", name="No-shows", exact=True).click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(doctors.locator("tbody tr").first.locator("th")).to_have_text(doctor_name(a))
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(doctors.locator("tbody tr").first.locator("th")).to_have_text(doctor_name(b))
    expect(doctors.locator("th[aria-sort]")).to_have_count(1)
    shot("reports-1b-branch-sorted-1024")

    # she drills into doctor A: her performance, last month kept
    doctors.get_by_role("link", name=doctor_name(a), exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"^{re.escape(doctor_name(a))}"))).to_be_visible()
    expect(page.get_by_text("At Reports North only.")).to_be_visible()
    kept = page.get_by_role("heading", name="Appointments not cancelled", exact=True)
    appointments_card = page.locator(".report-card", has=kept)
    expect(appointments_card).to_contain_text("4")  # three seen and one missed; the cancellation is not kept
    revenue = page.locator(".report-card", has=page.get_by_role("heading", name="Revenue", exact=True))
    expect(revenue).to_contain_text("£225.00")
    _charts_drawn(page)
    _fits(page)
    shot("reports-2-doctor-1024")
    axe("reports doctor")

    # then into the appointments behind her completed visits
    page.get_by_role("link", name=re.compile("completed visits: the appointments behind it")).click()
    expect(page.get_by_role("heading", name=re.compile("^Completed visits"))).to_be_visible()
    listed = page.locator("#appointments")
    for name in journey.patients:
        expect(listed.get_by_role("link", name=re.compile(f"^{name} "))).to_be_visible()
    expect(listed).not_to_contain_text("Nora")
    expect(listed).not_to_contain_text("Bea")
    expect(page.get_by_role("heading", name="3 appointments")).to_be_visible()
    _fits(page)
    shot("reports-3-appointments-1024")
    axe("reports appointments")

    # and downloads them as CSV: her three patients, on the branch's clock
    with page.expect_download() as caught:
        page.get_by_role("link", name=re.compile("^Download CSV")).click()
    download = caught.value
    assert re.fullmatch(r"appointments-completed_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    saved = Path(tmp_path) / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert sorted(r["Patient"].split()[0] for r in rows) == sorted(journey.patients)
    assert {r["Doctor"] for r in rows} == {doctor_name(a)}
    assert {r["Branch"] for r in rows} == {"Reports North"}
    assert {r["Status"] for r in rows} == {"Completed"}
    assert sorted(r["Start"][-5:] for r in rows) == ["09:00", "10:00", "10:00"]


def test_the_owner_compares_two_branches_at_a_desk_and_on_a_phone(
    page, live, browser_chain, journey, shot, axe
) -> None:
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.email("owner"), recovery_code(browser_chain, "owner"))

    # Reports leads the owner to the overview of every branch; she chooses last month
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name=re.compile("^Overview"))).to_be_visible()
    page.get_by_role("list", name="Quick choices of period").get_by_role("link", name="Last month").click()
    expect(page.get_by_role("heading", name=re.compile(f"{journey.month.first:%B %Y}"))).to_be_visible()
    _charts_drawn(page)
    _fits(page)
    shot("reports-4-overview-1024")
    axe("reports overview")

    # she compares North and South
    page.locator("summary", has_text="Compare branches").click()
    page.get_by_role("checkbox", name="Reports North").check()
    page.get_by_role("checkbox", name="Reports South").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name="Reports North, Reports South")).to_be_visible()
    branches = page.locator("section", has=page.get_by_role("heading", name="Branches side by side"))
    table = branches.locator("table.report")
    expect(table.locator("tbody tr")).to_have_count(2)
    north = table.get_by_role("row", name=re.compile("^Reports North"))
    south = table.get_by_role("row", name=re.compile("^Reports South"))
    expect(north).to_contain_text("£375.00")  # five visits invoiced
    expect(south).to_contain_text("£150.00")  # two
    for other in browser_chain.branches:
        expect(table).not_to_contain_text(other.name)
    # the headline figures are theirs: 7 completed, 2 no-shows of 9 with an outcome
    completed = page.locator(".report-card", has=page.get_by_role("heading", name="Completed visits"))
    expect(completed.locator(".report-value")).to_have_text(re.compile(r"^7\b"))
    expect(page.get_by_role("checkbox", name="Reports North")).to_be_checked()
    _charts_drawn(page)
    _fits(page)
    shot("reports-5-compare-1024")
    axe("reports compare")

    # the same overview on a phone: cards two across, each amount whole on its card, each table row a
    # card of its own (nothing to scroll sideways), and Reports in sight in the main bar
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", name="Reports North, Reports South")).to_be_visible()
    _charts_drawn(page)
    _fits(page)
    for value in page.locator(".report-value").all():
        assert value.evaluate("el => el.scrollWidth <= el.clientWidth"), value.inner_text()
    branches = page.get_by_role("region", name="Each branch's figures")
    assert branches.evaluate("el => el.scrollWidth <= el.clientWidth")
    expect(branches.locator("td[data-label='Completed']").first).to_be_visible()
    reports = page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports", exact=True)
    expect(reports).to_be_in_viewport(ratio=1)
    shot("reports-6-compare-390")
    axe("reports compare at 390 px")
