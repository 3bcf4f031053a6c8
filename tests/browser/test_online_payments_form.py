"""The owners' online payments settings at 1024x768: the deposit's kind shows only its own field
(the amount, named in the chain's currency code, or the percentage; none for nothing or the full
price), by the script the fee policy uses. Screenshot and axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import recovery_code, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}


def test_the_owner_sees_only_the_field_of_the_deposit_kind_chosen(page, live, browser_chain, shot, axe):
    # given the owner on the online payments page at the desk's size
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["owner"].email, recovery_code(browser_chain, "owner"))
    page.goto(f"{live}/settings/payments/online/")
    kind = page.get_by_label("What patients pay when they book online")
    amount = page.get_by_label("Deposit: amount in GBP")
    percent = page.get_by_label("Deposit: percentage of the service's price")
    # when she chooses a fixed deposit, then only the amount shows
    kind.select_option("fixed")
    expect(amount).to_be_visible()
    expect(percent).to_be_hidden()
    shot("online-payments-fixed")
    axe("online payments settings")
    # when she chooses a percentage, then only the percentage shows
    kind.select_option("percent")
    expect(percent).to_be_visible()
    expect(amount).to_be_hidden()
    # and for nothing online, or the full price, neither
    for choice in ("none", "full"):
        kind.select_option(choice)
        expect(amount).to_be_hidden()
        expect(percent).to_be_hidden()
    shot("online-payments-full")
