"""The work lists at the desk (1024x768): a branch manager opens the patients to call back, shows the
overdue ones and opens a patient's chart; billing opens the invoices to chase and downloads the CSV.
One list at a phone's 390 px. Screenshots and axe on each page.

The data is committed in a branch of its own of the browser chain, with a manager and a billing clerk
of that branch only, on the run's clock: visits ten days ago (one paid), follow-ups overdue and due."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing import services as billing
from invoicing.models import Invoice, PaymentMethod
from patients.models import Patient
from patients.services import follow_up_create
from scheduling import services as sched
from tenants.org import services as org
from tenants.org.models import Role
from tests.browser.conftest import sign_in
from tests.factories import user_with_roles
from tests.factories.invoicing import priced
from tests.factories.scheduling import Clinic, book, clinic_setup, local_today
from tests.helpers import committed, second_factor_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass
class Lists:
    clinic: Clinic
    manager: Any
    clerk: Any
    overdue: Patient  # paid ten days ago, follow-up due three days ago: missed
    due: Patient  # follow-up due in five days
    owing: Invoice  # the overdue patient's visit twenty days ago, still owed (due about six days ago)


def _seen(clinic: Clinic, patient: Patient, at: datetime) -> Invoice:
    """A visit booked two days before ``at`` and seen then by the owner at the desk."""
    owner = clinic.owner
    with time_machine.travel(at - timedelta(days=2), tick=False):
        visit = book(clinic, at, patient=patient, actor=owner)
    with time_machine.travel(at, tick=False):
        for step in (sched.appointment_check_in, sched.appointment_start, sched.appointment_complete):
            visit = step(actor=owner, appointment=visit)
    return Invoice.objects.get(appointment_id=visit.pk)


def _lists(chain: Any) -> Lists:
    with committed(), schema_context(chain.schema):
        owner = chain.users["owner"]
        n = Patient.objects.count()
        branch = org.branch_create(actor=owner, name=f"Worklist Branch {n}", timezone_name="Europe/London")
        clinic = priced(clinic_setup(chain, branch=branch, doctors=1))
        overdue = clinic.patient(f"Ophelia{n}")
        due = clinic.patient(f"Dorian{n}")
        ten_days_ago = local_today(clinic.tz) - timedelta(days=10)
        for hour, patient in ((10, overdue), (11, due)):
            invoice = _seen(clinic, patient, clinic.at(ten_days_ago, hour))
            with time_machine.travel(clinic.at(ten_days_ago, hour, 45), tick=False):
                billing.payment_record(
                    actor=owner, invoice=invoice, method=PaymentMethod.CASH, amount_minor=invoice.total_minor
                )
        owing = _seen(clinic, overdue, clinic.at(ten_days_ago - timedelta(days=10), 14))  # due ~6 days ago
        doctor = clinic.doctors[0].user
        today = local_today(clinic.tz)
        with time_machine.travel(clinic.at(ten_days_ago, 17, 30), tick=False):
            follow_up_create(actor=doctor, patient=overdue, due_date=today - timedelta(days=3), reason="Knee review")
            follow_up_create(actor=doctor, patient=due, due_date=today + timedelta(days=5), reason="Blood results")
        manager = user_with_roles(
            email=f"wl.manager{n}@charlie.example", roles=[Role.BRANCH_MANAGER], branches=[branch]
        )
        clerk = user_with_roles(email=f"wl.billing{n}@charlie.example", roles=[Role.BILLING], branches=[branch])
        return Lists(clinic=clinic, manager=manager, clerk=clerk, overdue=overdue, due=due, owing=owing)


def _sign_in(page: Any, live: str, chain: Any, user: Any) -> None:
    with committed(), schema_context(chain.schema):
        code = second_factor_code(user)
    sign_in(page, live, user.email, code)


def _fits(page: Any, selector: str) -> None:
    """Nothing of the table is cut or scrolled sideways: its region is as wide as what it holds."""
    width = page.locator(selector).evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert width[0] <= width[1], f"{selector} is wider than its card: {width}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_manager_shows_the_overdue_call_backs_and_opens_a_chart(page, live, browser_chain, shot, axe):
    # given a branch whose patients were seen ten days ago, one follow-up overdue and one due
    lists = _lists(browser_chain)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain, lists.manager)
    # when the branch's manager opens the patients to call back
    page.goto(f"{live}/reports/call-backs/")
    expect(page.get_by_role("heading", name="Patients to call back")).to_be_visible()
    table = page.locator("#call-backs")
    expect(table.get_by_role("link", name=lists.overdue.first_name, exact=False).first).to_be_visible()
    expect(table).to_contain_text(lists.due.first_name)
    expect(table).to_contain_text("Missed after a paid visit")
    expect(table).to_contain_text("Knee review")
    _fits(page, "#call-backs")
    shot("worklist-call-backs")
    axe("worklist-call-backs")
    # and shows the overdue ones
    page.get_by_label("Show").select_option("overdue")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"bucket=overdue"))
    expect(table).to_contain_text(lists.overdue.first_name)
    expect(table).not_to_contain_text(lists.due.first_name)
    expect(table).to_contain_text("3 days overdue")
    shot("worklist-call-backs-overdue")
    axe("worklist-call-backs-overdue")
    # then opens the patient's chart from the row
    table.get_by_role("link", name=re.compile(rf"^{lists.overdue.first_name} ")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(lists.overdue.first_name)
    expect(page).to_have_url(re.compile(rf"/patients/{lists.overdue.pk}/"))
    shot("worklist-call-backs-chart")


def test_billing_opens_the_invoices_to_chase_and_downloads_the_csv(page, live, browser_chain, shot, axe, tmp_path):
    # given a visit ten days ago still owed
    lists = _lists(browser_chain)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain, lists.clerk)
    # when billing opens the invoices to chase
    page.goto(f"{live}/reports/receivables/")
    expect(page.get_by_role("heading", name="Invoices to chase")).to_be_visible()
    table = page.locator("#receivables")
    expect(table.get_by_role("link", name=lists.owing.number)).to_be_visible()
    expect(table).to_contain_text(lists.overdue.first_name)
    past_due = (timezone.now() - lists.owing.due_at).days  # 5 or 6, by the time of day of the run
    expect(table).to_contain_text(f"{past_due} days past due")
    expect(page.locator("table.aging")).to_contain_text(lists.clinic.branch.name)
    _fits(page, "#receivables")
    shot("worklist-receivables")
    axe("worklist-receivables")
    # and downloads the list as CSV
    with page.expect_download() as caught:
        page.get_by_role("link", name=re.compile("^Download CSV")).click()
    download = caught.value
    assert re.fullmatch(r"invoices-to-chase_\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    saved = Path(tmp_path) / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    # then it holds the invoice with what is owed, and nothing of another branch
    mine = [r for r in rows if r["Invoice"] == lists.owing.number]
    assert len(mine) == 1
    assert mine[0]["Patient"].startswith(lists.overdue.first_name)
    assert (mine[0]["Owed"], mine[0]["Age"], mine[0]["Days past due"]) == ("75.00", "1-30 days", str(past_due))
    assert {r["Branch"] for r in rows} == {lists.clinic.branch.name}
    # and the invoice opens from its row
    table.get_by_role("link", name=lists.owing.number).click()
    expect(page.get_by_role("heading", name=f"Invoice {lists.owing.number}")).to_be_visible()


def test_the_call_backs_at_a_phones_width(page, live, browser_chain, shot, axe):
    lists = _lists(browser_chain)
    page.set_viewport_size(PHONE)
    _sign_in(page, live, browser_chain, lists.manager)
    page.goto(f"{live}/reports/call-backs/")
    expect(page.get_by_role("heading", name="Patients to call back")).to_be_visible()
    expect(page.locator("#call-backs")).to_contain_text(lists.overdue.first_name)
    # then each row reads as a card, each cell saying what it is, nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row = page.locator("#call-backs tbody tr").filter(has_text=lists.overdue.first_name)
    expect(row.get_by_role("link", name=re.compile(f"^Chart of {lists.overdue.first_name}"))).to_be_visible()
    shot("worklist-call-backs-390")
    axe("worklist-call-backs-390")
