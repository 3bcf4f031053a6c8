"""The owners' fee policy at 1024x768: each fee shows only the number its rule uses (fees.js), the
form saves what is shown, and a card's removal asks first. Screenshots and axe on each page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.fees import FeePolicy, FeeRule
from invoicing.services import fees
from invoicing.services.cards import card_on_file_record
from invoicing.services.fees import FeeRuleIn
from scheduling import services as sched
from tests.browser.conftest import recovery_code, sign_in
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
RULES = [f"{p}_{k}" for p in ("no_show", "late_cancel") for k in ("rule", "amount_minor", "percent_bp")]


def test_the_owner_sees_only_the_field_of_the_rule_chosen(page, live, browser_chain, shot, axe):
    # given the owner on the fee policy page
    with committed(), schema_context(browser_chain.schema):
        before = FeePolicy.objects.filter(pk=1).values(*RULES).first() or {}
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["owner"].email, recovery_code(browser_chain, "owner"))
    page.goto(f"{live}/settings/fees/")
    amount = page.get_by_label("No-show fee: amount in GBP")
    percent = page.get_by_label("No-show fee: percentage of the service's price")
    # when she chooses a fixed amount, then only the amount shows
    page.get_by_label("No-show fee", exact=True).select_option(FeeRule.FIXED)
    expect(amount).to_be_visible()
    expect(percent).to_be_hidden()
    # when she chooses a percentage instead, then only the percentage shows
    page.get_by_label("No-show fee", exact=True).select_option(FeeRule.PERCENT)
    expect(percent).to_be_visible()
    expect(amount).to_be_hidden()
    # and with no fee, neither
    page.get_by_label("Late-cancellation fee", exact=True).select_option(FeeRule.NONE)
    expect(page.get_by_label("Late-cancellation fee: amount in GBP")).to_be_hidden()
    shot("fees-policy-percent")
    axe("fee policy")
    # when she saves 40 % for a no-show, then it is kept
    percent.fill("40")
    page.get_by_role("button", name="Save fee policy").click()
    expect(page.get_by_text("Fee policy saved.")).to_be_visible()
    with committed(), schema_context(browser_chain.schema):
        policy = FeePolicy.objects.get(pk=1)
        assert (policy.no_show_rule, policy.no_show_percent_bp) == (FeeRule.PERCENT, 4000)
        FeePolicy.objects.filter(pk=1).update(**before)  # the session's chain as the other journeys know it


def test_billing_reads_the_fees_list_and_reception_is_asked_before_a_card_is_removed(
    page, live, browser_chain, shot, axe
):
    # given a missed visit whose fee waits for a card, and a patient with a card on file
    with committed(), schema_context(browser_chain.schema):
        clinic = priced(clinic_setup(browser_chain, doctors=1))
        before = FeePolicy.objects.filter(pk=1).values(*RULES).first() or {}
        fees.fee_policy_update(
            actor=browser_chain.users["owner"],
            no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500),
            late_cancellation=FeeRuleIn(),
        )
        start = clinic.at(MONDAY, 10)
        missed = book(clinic, start, patient=clinic.patient("Nadia"))
        sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=missed, now=start + timedelta(hours=1))
        FeePolicy.objects.filter(pk=1).update(**before)
        holder = clinic.patient("Carla")
        card_on_file_record(
            actor=None,
            patient=holder,
            customer_id="cus_browser_fees",
            payment_method_id=f"pm_browser_fees_{holder.pk}",
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=start.year + 2,
        )
    page.set_viewport_size(DESK)
    # when billing opens the fees list, then the fee says why it cannot be retried, its invoice a link
    sign_in(page, live, browser_chain.users["billing"].email)
    page.goto(f"{live}/billing/fees/")
    row = page.locator("#fees tbody tr", has_text="Nadia")
    expect(row.get_by_text(re.compile("^Cannot be retried: "))).to_be_visible()  # not connected here
    expect(row.get_by_role("link", name=re.compile("^INV-"))).to_be_visible()
    shot("fees-list-billing")
    axe("fees list")
    page.get_by_role("button", name="Sign out").click()
    # when reception asks to remove Carla's card, then it asks first, and keeping it changes nothing
    sign_in(page, live, browser_chain.users["receptionist"].email)
    page.goto(f"{live}/patients/{holder.pk}/card/")
    page.get_by_role("link", name="Remove card…").click()
    expect(page.get_by_text("Remove Visa ending 4242?")).to_be_visible()
    shot("card-remove-confirm")
    axe("card removal")
    page.get_by_role("button", name="Yes, remove the card").click()
    expect(page.get_by_text("The card was removed")).to_be_visible()
