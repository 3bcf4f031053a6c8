"""The owners' fee policy at 1024x768: each fee shows only the number its rule uses (fees.js), the
form saves what is shown, and a card's removal asks first. Screenshots and axe on each page."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from invoicing.fees import FeePolicy, FeeRule
from tests.browser.conftest import recovery_code, sign_in
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
