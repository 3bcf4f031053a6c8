"""An owner turns on two-factor sign-in, saves the recovery codes, then signs in with the app's code
and, another time, with a recovery code."""

from __future__ import annotations

import base64
import re
import time

import pytest
from django_otp.oath import TOTP
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tenants.accounts.models import User
from tests.factories import PASSWORD, user_with_roles
from tests.helpers import committed

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
EMAIL = "second.owner@charlie.example"


def _code(key: bytes, ahead: int = 0) -> str:
    totp = TOTP(key)
    totp.time = time.time() + ahead
    return f"{totp.token():06d}"


def _password_step(page, live):
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_owner_sets_up_two_factor_and_signs_in_with_it(page, live, browser_chain, shot):
    with committed(), schema_context(browser_chain.schema):
        if not User.objects.filter(email=EMAIL).exists():
            user_with_roles(email=EMAIL, roles=["owner"])

    # an owner without an authenticator is sent to set one up before anything else
    _password_step(page, live)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    shot("two-factor-setup")
    key = base64.b32decode(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(_code(key))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    # ten recovery codes, shown once
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_label("Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    shot("two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()

    # next time: the password, then the app's code (the one just used cannot be used again)
    page.get_by_role("button", name="Sign out").click()
    _password_step(page, live)
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#id_code_error")).to_contain_text("That code is not right")  # beside its field
    shot("two-factor-verify-wrong-code")
    time.sleep(1.1)  # django-otp makes a device wait a second after a wrong code
    page.get_by_label("Code").fill(_code(key, ahead=30))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()

    # and with a lost phone: a recovery code, once
    page.get_by_role("button", name="Sign out").click()
    _password_step(page, live)
    page.get_by_role("link", name="Lost your phone? Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    shot("two-factor-recovery")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Recovery code used: 9 left")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    shot("two-factor-signed-in")
