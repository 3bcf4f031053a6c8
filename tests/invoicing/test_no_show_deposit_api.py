"""The chain's "deposit after N no-shows" on the API: the owner reads and sets it with the online
payment policy; left out, it is kept; without an amount it is refused and changes nothing."""

from __future__ import annotations

from invoicing.checkout.policy import online_payment_policy_get
from tests.helpers import assert_error

URL = "/api/v1/invoicing/online-payments/policy/"


def test_the_owner_sets_the_deposit_after_no_shows_and_a_put_without_it_keeps_it(in_a, api):
    owner = api(in_a, "owner")
    # when the owner asks 18.00 of patients with 2 or more no-shows
    response = owner.call("PUT", URL, {"kind": "none", "no_show_deposit_after": 2, "no_show_deposit_minor": 1800})
    # then the policy says so
    assert response.status_code == 200, response.content
    assert (response.json()["no_show_deposit_after"], response.json()["no_show_deposit_minor"]) == (2, 1800)
    # when she changes the deposit kind only, then the rule is kept
    kept = owner.call("PUT", URL, {"kind": "percent", "percent_bp": 2500}).json()
    assert (kept["no_show_deposit_after"], kept["no_show_deposit_minor"]) == (2, 1800)
    # when she sets a rule without an amount, then it is refused on that field and nothing changes
    refused = assert_error(
        owner.call("PUT", URL, {"kind": "none", "no_show_deposit_after": 3, "no_show_deposit_minor": 0}),
        400,
        "validation_error",
    )
    assert "no_show_deposit_minor" in refused["fields"]
    policy = online_payment_policy_get()
    assert (policy.kind, policy.no_show_deposit_after, policy.no_show_deposit_minor) == ("percent", 2, 1800)
