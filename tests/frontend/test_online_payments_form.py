"""The owners' online payments settings (/settings/payments/online/): the deposit's amount and
percentage each say which kind they are for and the amount names the currency by its code (as the
fee policy does); the page marks them for the one script that shows only the chosen kind's field
(fees.js, shared with the fee policy); without the script both show and the right one is kept."""

from __future__ import annotations

import pytest
from django.test import Client

from invoicing.checkout.models import DepositKind
from invoicing.checkout.policy import online_payment_policy_get
from tenants.org.selectors import chain_settings_get
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

URL = "/settings/payments/online/"


def test_the_deposit_fields_say_their_kind_and_the_currency_code_and_are_marked_for_the_shared_script(
    in_a, client: Client
):
    # given the owner on the online payments page
    currency = chain_settings_get().currency
    sign_in(client, in_a.users["owner"])
    # when the page is read
    html = client.get(URL, HTTP_HOST=in_a.host).content.decode()
    # then the amount names the currency by its code, never "the chain's currency"
    assert f"Deposit: amount in {currency}</label>" in html
    assert "In the chain&#x27;s currency" not in html
    assert "In the chain's currency" not in html
    assert "For a fixed deposit, e.g." in html
    assert "Deposit: percentage of the service&#x27;s price</label>" in html
    assert "For a percentage deposit" in html
    # and the kind drives which field shows, by the fee policy's script (no copy of it)
    assert 'data-choice="deposit"' in html
    assert f'data-choice-for="deposit:{DepositKind.FIXED}"' in html
    assert f'data-choice-for="deposit:{DepositKind.PERCENT}"' in html
    assert '<script src="/static/frontend/fees.js" defer></script>' in html


def test_without_the_script_both_fields_post_and_the_chosen_kind_keeps_its_number(in_a, client: Client):
    # given the owner, whose browser shows both fields
    sign_in(client, in_a.users["owner"])
    # when she posts a fixed deposit with a leftover percentage typed too
    saved = client.post(URL, {"kind": "fixed", "amount": "15.50", "percent": "30"}, HTTP_HOST=in_a.host, follow=True)
    # then the fixed deposit is kept, in minor units
    assert b"Online payment policy saved." in saved.content
    policy = online_payment_policy_get()
    assert (policy.kind, policy.amount_minor) == (DepositKind.FIXED, 1550)
