"""The platform operator signs in from the public site's landing page (it answered 500: the sign-in
sent the operator to the chains' home page, which the public site does not have)."""

from __future__ import annotations

from django.test import Client

from tests.factories import PASSWORD


def test_operator_signs_in_from_the_landing_page_and_reaches_the_clinic_chains(db: None) -> None:
    # given the public site's landing page, with its sign-in link
    client = Client(HTTP_HOST="localhost")
    landing = client.get("/")
    assert landing.status_code == 200
    assert 'href="/accounts/login/"' in landing.content.decode()
    sign_in = client.get("/accounts/login/").content.decode()
    assert "<h1>Sign in to Clinicflow</h1>" in sign_in
    assert "localhost" not in sign_in

    # when the operator signs in there
    signed_in = client.post(
        "/accounts/login/", {"username": "operator@platform.example", "password": PASSWORD}, follow=True
    )

    # then they land on the clinic chains, not on an error page
    assert signed_in.status_code == 200
    assert signed_in.redirect_chain[-1][0] == "/platform/clinics/"
    assert b"<h1>Clinic chains" in signed_in.content


def test_a_wrong_password_keeps_the_operator_on_the_sign_in_page_with_the_address_typed(db: None) -> None:
    # given the landing page's sign-in, when a wrong password is sent
    page = Client(HTTP_HOST="localhost").post(
        "/accounts/login/", {"username": "operator@platform.example", "password": "not it"}
    )

    # then the page answers with the refusal and keeps what was typed
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="operator@platform.example"' in html
    assert 'role="alert"' in html


def test_a_signed_in_operator_opening_the_sign_in_page_goes_to_the_clinic_chains(db: None) -> None:
    client = Client(HTTP_HOST="localhost")
    client.post("/accounts/login/", {"username": "operator@platform.example", "password": PASSWORD})
    again = client.get("/accounts/login/")
    assert again.status_code == 302
    assert again.headers["Location"] == "/platform/clinics/"
