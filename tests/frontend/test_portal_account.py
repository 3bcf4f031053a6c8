"""The portal's "Account" link opens the patient's own account page (her details, signing out),
never the staff's two-factor page; staff keep theirs."""

from __future__ import annotations

from typing import Any

from patients.portal import portal_user_for
from patients.services import patient_create
from tests.factories import Chain
from tests.helpers import sign_in


def test_a_patients_account_link_opens_her_own_account_page_with_sign_out(in_a: Chain, client: Any):
    # given a patient signed in to the portal
    patient = patient_create(
        actor=in_a.users["owner"], first_name="Amelia", last_name="Hart", email="amelia.hart@example.com"
    )
    client.force_login(portal_user_for(patient=patient))
    # when she opens the portal
    html = client.get("/portal/", HTTP_HOST=in_a.host).content.decode()
    # then "Account" leads to her account page, and signing out is the portal's
    assert 'href="/portal/details/" title="Your details and sign-out' in html
    assert "two-factor" not in html
    assert 'action="/portal/sign-out/"' in html
    assert 'href="/portal/" aria-current="page">Your appointments</a>' in html
    # and the account page shows her details and a way to sign out, marked as the current page
    page = client.get("/portal/details/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    account = page.content.decode()
    assert "<h1>Your account</h1>" in account
    current = 'href="/portal/details/" title="Your details and sign-out (amelia.hart@example.com)" aria-current="page"'
    assert current in account
    assert "You are signed in as amelia.hart@example.com" in account
    assert account.count('aria-current="page"') == 1
    # and signing out there signs her out
    out = client.post("/portal/sign-out/", HTTP_HOST=in_a.host)
    assert out.status_code == 302
    assert client.get("/portal/details/", HTTP_HOST=in_a.host)["Location"].startswith("/portal/sign-in/")


def test_staff_keep_their_sign_in_and_two_factor_page_as_account(in_a: Chain, client: Any):
    sign_in(client, in_a.users["billing"])
    html = client.get("/", HTTP_HOST=in_a.host).content.decode()
    assert 'href="/accounts/two-factor/" title="Your sign-in and two-factor settings' in html
    assert 'action="/accounts/logout/"' in html
