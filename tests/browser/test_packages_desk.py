"""Packages at the desk (1024x768) and on the portal (390 px): reception sells a package whose
options name their sessions and price, the sale links its invoice and reads "Awaiting payment";
billing cancels it giving back the unused sessions; the desk panel puts a visit on a package and
takes it off again; the portal names packages in plain words while the chain cannot take payments
online. Screenshots and axe on each page."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from itertools import count
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.package_checkout import packages_sold_online
from packages import services as pkg
from packages.models import PackagePurchase, PurchaseStatus
from patients import services as patients
from scheduling import services as sched
from scheduling.selectors import slot_list_available
from tenants.accounts.models import User
from tests.browser.conftest import emailed_code
from tests.factories import PASSWORD
from tests.factories.invoicing import priced
from tests.factories.scheduling import clinic_setup, daytime_branch
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
_n = count(1)


def _sign_in(page: Any, live: str, user: Any) -> None:
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _shop(chain: Any) -> tuple[Any, Any, Any]:
    """A daytime branch (its receptionist and billing clerk on it), a package of its service on sale
    and a patient."""
    with committed(), schema_context(chain.schema):
        branch = daytime_branch(chain)
        for role in ("receptionist", "billing"):
            chain.users[role].staff.branches.add(branch)
        clinic = priced(
            clinic_setup(
                chain, branch=branch, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
            )
        )
        n = next(_n)
        product = pkg.product_create(
            actor=clinic.owner,
            name=f"Physio pack {n}",
            services=[clinic.service],
            sessions=2,
            price_minor=12000,
            validity_days=90,
            branches=[branch],
        )
        patient = clinic.patient(f"Pia{n}")
    return clinic, product, patient


def test_reception_sells_a_package_and_billing_cancels_it(page, live, browser_chain, shot, axe):
    clinic, product, patient = _shop(browser_chain)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["receptionist"])
    # when reception opens the patient's packages: each package names its sessions and price, one of her branches chosen
    page.goto(f"{live}/patients/{patient.pk}/packages/")
    expect(page.get_by_label("Package", exact=True)).to_contain_text(f"{product.name}: 2 sessions, £120.00, 90 days")
    expect(page.get_by_label("Sold at")).not_to_have_value("")  # one of her branches, not "---------"
    page.get_by_label("Sold at").select_option(str(clinic.branch.pk))
    page.get_by_label("Package", exact=True).select_option(label=f"{product.name}: 2 sessions, £120.00, 90 days")
    page.get_by_role("button", name="Sell package").click()
    # then the sale reads "Awaiting payment" and links its invoice
    expect(page.get_by_text(f"{product.name} sold; its invoice is issued.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile(product.name))
    expect(row).to_contain_text("Awaiting payment")
    expect(row.get_by_role("link", name=re.compile("^INV"))).to_be_visible()
    shot("packages-sold-awaiting-payment")
    axe("packages-sold")
    # on a phone the packages read as cards, each cell named, nothing wider than the screen
    page.set_viewport_size(PHONE)
    expect(row.locator("td[data-label='Expires']")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot("packages-sold-390")
    page.set_viewport_size(DESK)
    # when billing cancels it, giving back the unused sessions
    page.context.clear_cookies()
    _sign_in(page, live, browser_chain.users["billing"])
    page.goto(f"{live}/patients/{patient.pk}/packages/")
    page.get_by_role("link", name=f"Cancel {product.name}").click()
    expect(page.get_by_role("heading", name=re.compile(f"^Cancel {product.name}"))).to_be_visible()
    page.get_by_label(re.compile("The unused sessions, pro rata")).check()
    page.get_by_label("Reason").fill("Moved away")
    shot("packages-cancel")
    axe("packages-cancel")
    page.get_by_role("button", name="Cancel the package").click()
    # then the package reads cancelled with its reason
    expect(page.get_by_text(f"{product.name} cancelled.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(product.name))).to_contain_text("Cancelled")
    shot("packages-cancelled")
    axe("packages-cancelled")
    with committed(), schema_context(browser_chain.schema):
        assert PackagePurchase.objects.get(patient=patient).status == PurchaseStatus.CANCELLED


def test_the_desk_panel_puts_a_visit_on_the_package_and_off_again(page, live, browser_chain, shot, axe):
    # given a visit later today booked before its patient bought the package
    clinic, product, patient = _shop(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        now = timezone.now()
        day = now.astimezone(clinic.tz).date()
        midnight = datetime.combine(day, time(0), tzinfo=clinic.tz)
        slots = slot_list_available(
            service=clinic.service, branch=clinic.branch, date_from=day, date_to=day, step=30, now=midnight
        )
        start = next(s.start for s in slots if s.start > now + timedelta(minutes=30))
        desk = User.objects.get(pk=browser_chain.users["receptionist"].pk)
        visit = sched.appointment_book(
            actor=desk,
            patient=patient,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            start=start,
        )
        pkg.package_sell(actor=desk, product=product, patient=patient, branch=clinic.branch)
    page.set_viewport_size(DESK)
    _sign_in(page, live, browser_chain.users["receptionist"])
    # when reception opens the visit's panel: it offers the package and says it is unpaid
    page.goto(f"{live}/desk/{clinic.branch.pk}/")
    page.locator(f"#event-{visit.pk}").click()
    panel = page.get_by_role("dialog")
    expect(panel.get_by_text("Package not paid")).to_be_visible()
    panel.get_by_role("button", name="Use the package").click()
    # then the visit holds a session; taken off, it can be put back
    expect(panel).to_contain_text("Package: 1 of 2 left")
    shot("packages-panel-on-package")
    axe("packages-panel-on-package")
    panel.get_by_role("button", name="Don't use the package").click()
    expect(panel.get_by_role("button", name="Use the package")).to_be_visible()
    panel.get_by_role("button", name="Use the package").click()
    expect(panel).to_contain_text("Package: 1 of 2 left")


def test_the_portal_names_packages_in_plain_words_when_they_cannot_be_bought_online(
    page, live, browser_chain, shot, axe
):
    clinic, product, _ = _shop(browser_chain)
    with committed(), schema_context(browser_chain.schema):
        on_sale = packages_sold_online()
        email = f"pia{next(_n)}@example.com"
        patients.patient_create(
            actor=clinic.owner, first_name="Pia", last_name="Portal", email=email, ignore_duplicates=True
        )
    page.set_viewport_size(PHONE)
    page.goto(f"{live}/portal/sign-in/")
    page.get_by_label("Your e-mail address or mobile number").fill(email)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code = emailed_code(email)
    page.get_by_label("The six-digit code we sent you").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Pia")).to_be_visible()
    page.goto(f"{live}/portal/packages/")
    expect(page.get_by_text(product.name).first).to_be_visible()
    if not on_sale:
        expect(page.get_by_text("Packages are sold at the front desk")).to_be_visible()
        expect(page.get_by_role("button", name="Pay and buy")).to_have_count(0)
    shot("portal-packages-phone")
    axe("portal-packages-phone")
