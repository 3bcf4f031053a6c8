"""The message settings at a 1024x768 desk: the reminder settings state the quiet-hours rule; a
wording's preview flags an unknown placeholder in Save's words before saving, names this chain, and
wraps its long manage link inside the card; "Back to the built-in wording" asks first (a disclosure,
no script). Screenshots and axe on each step."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from notifications.models import Template
from tenants.org.selectors import chain_settings_get
from tests.browser.conftest import recovery_code, sign_in
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
DESK = {"width": 1024, "height": 768}
EDIT = "/settings/messages/templates/confirmation/email/en/"


def test_the_owner_reads_the_rule_previews_a_typo_and_confirms_going_back_to_the_built_in_wording(
    page, live, browser_chain, shot, axe
):
    with committed(), schema_context(browser_chain.schema):
        Template.objects.filter(kind="confirmation", channel="email", language="en").delete()
        chain_name = chain_settings_get().name
    page.set_viewport_size(DESK)
    sign_in(page, live, browser_chain.users["owner"].email, recovery_code(browser_chain, "owner"))

    # the reminder settings say when a reminder in quiet hours goes
    page.goto(f"{live}/settings/messages/")
    expect(page.get_by_role("heading", name="When a reminder goes", level=2)).to_be_visible()
    expect(page.get_by_text("goes when they end, if that is still at least an hour before the visit")).to_be_visible()
    shot("message-settings-rule-1024")
    axe("message-settings-rule")

    # the e-mail confirmation's preview names this chain and wraps its manage link inside the card
    page.goto(f"{live}{EDIT}")
    preview = page.locator(".preview-card")
    expect(page.locator("#preview-body")).to_contain_text(chain_name)
    assert preview.evaluate("card => card.scrollWidth <= card.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
    shot("message-wording-preview-chain-1024")
    axe("message-wording-preview-chain")

    # a typo'd placeholder is flagged by Preview, in Save's words, before anything is saved
    page.get_by_label("Message").fill("Hello {paitent}, see you {when}.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("{paitent} is not a placeholder. Use only these placeholders:").first).to_be_visible()
    shot("message-wording-preview-typo-1024")
    axe("message-wording-preview-typo")
    # Save refuses it, and the preview box says so rather than showing it as the wording
    page.get_by_role("button", name="Save wording").click()
    expect(page.get_by_role("heading", name="Preview of what you typed")).to_be_visible()
    expect(page.get_by_text(re.compile("Save would refuse it"))).to_be_visible()
    shot("message-wording-save-refused-1024")
    axe("message-wording-save-refused")
    with committed(), schema_context(browser_chain.schema):
        assert not Template.objects.filter(kind="confirmation", channel="email", language="en").exists()

    # she saves her own wording, then going back to the built-in one asks first
    page.get_by_label("Message").fill("Hello {patient}, see you {when}.")
    page.get_by_role("button", name="Save wording").click()
    expect(page.get_by_text("Wording saved: messages written from now on use it.")).to_be_visible()
    page.get_by_text("Back to the built-in wording…").click()
    expect(page.get_by_text("Discard your own wording and go back to the built-in one?")).to_be_visible()
    shot("message-wording-reset-confirm-1024")
    axe("message-wording-reset-confirm")
    with committed(), schema_context(browser_chain.schema):
        assert Template.objects.filter(kind="confirmation", channel="email", language="en").exists()
    page.get_by_role("button", name="Yes, go back to the built-in wording").click()
    expect(page.get_by_text("Back to the built-in wording.", exact=True)).to_be_visible()
    shot("message-wording-reset-done-1024")
    with committed(), schema_context(browser_chain.schema):
        assert not Template.objects.filter(kind="confirmation", channel="email", language="en").exists()
