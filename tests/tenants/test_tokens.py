"""API tokens as the industry keeps them: stored as digests, one per client, expiring, listed and
revoked by their owner, revoked by every password change, and worthless at another chain."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.accounts import services
from tenants.accounts.exceptions import PasswordInvalid
from tenants.accounts.models import ApiToken, User
from tests.factories import PASSWORD
from tests.helpers import Api, assert_error, sign_in


@pytest.fixture(autouse=True)
def _back_to_public():
    # Requests switch the connection to their chain's schema; later tests expect the public one.
    yield
    connection.set_schema_to_public()


def _login(chain, role, client_name):
    api = Api(chain.host, chain.email(role), client_name=client_name)
    api.token_id = api.token[:15]
    return api


def test_login_gives_the_token_once_and_keeps_only_its_digest(api, chain_a):
    # when a receptionist signs in from a named client
    response = api(chain_a).call(
        "POST",
        "/api/v1/auth/login/",
        {"email": chain_a.email("receptionist"), "password": PASSWORD, "client_name": "Front desk tablet"},
    )
    # then the answer carries the token, its id and its expiry
    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    assert body["token_id"] == token[:15]
    with schema_context(chain_a.schema):
        row = ApiToken.objects.get(token_key=body["token_id"])
        # and the database holds a digest, never the token
        assert token not in (row.digest, row.token_key)
        assert row.client_name == "Front desk tablet"
        assert row.expiry > timezone.now() + timedelta(days=29)
        assert datetime.fromisoformat(body["expiry"]) == row.expiry  # the expiry told is the one kept
    # and the token works
    client = Api(chain_a.host)
    client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    assert client.call("GET", "/api/v1/me/").json()["email"] == chain_a.email("receptionist")


def test_each_client_has_its_own_token_listed_and_logout_ends_only_its_own(chain_a):
    # given the same person signed in on a laptop and a phone
    laptop = _login(chain_a, "doctor", "laptop")
    phone = _login(chain_a, "doctor", "phone")
    assert laptop.token != phone.token
    # when the laptop lists the tokens
    listed = laptop.call("GET", "/api/v1/auth/tokens/").json()
    by_id = {t["id"]: t for t in listed}
    assert {laptop.token_id, phone.token_id} <= set(by_id)
    assert by_id[laptop.token_id]["current"] is True
    assert by_id[phone.token_id]["current"] is False
    assert {"client_name", "created", "expiry", "last_used"} <= set(by_id[laptop.token_id])
    assert by_id[laptop.token_id]["last_used"] is not None
    # and logs out
    assert laptop.call("POST", "/api/v1/auth/logout/").status_code == 204
    # then the laptop's token is dead and the phone's still works
    assert_error(laptop.call("GET", "/api/v1/me/"), 401, "authentication_failed")
    assert phone.call("GET", "/api/v1/me/").status_code == 200


def test_a_token_is_revoked_by_its_owner_and_by_no_one_else(chain_a):
    mine = _login(chain_a, "billing", "script")
    other = _login(chain_a, "billing", "spreadsheet")
    stranger = _login(chain_a, "receptionist", "tablet")
    # a stranger cannot revoke it, not even knowing its id
    assert_error(stranger.call("DELETE", f"/api/v1/auth/tokens/{other.token_id}/"), 404, "token_not_found")
    assert other.call("GET", "/api/v1/me/").status_code == 200
    # its owner can, from another client
    assert mine.call("DELETE", f"/api/v1/auth/tokens/{other.token_id}/").status_code == 204
    assert_error(other.call("GET", "/api/v1/me/"), 401, "authentication_failed")
    assert mine.call("GET", "/api/v1/me/").status_code == 200


def test_logout_all_ends_every_client(chain_a):
    first = _login(chain_a, "branch_manager", "a")
    second = _login(chain_a, "branch_manager", "b")
    assert first.call("POST", "/api/v1/auth/logout-all/").status_code == 204
    assert_error(first.call("GET", "/api/v1/me/"), 401, "authentication_failed")
    assert_error(second.call("GET", "/api/v1/me/"), 401, "authentication_failed")


def test_an_expired_token_is_refused(chain_a):
    client = _login(chain_a, "receptionist", "old")
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        response = client.call("GET", "/api/v1/me/")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Token"


def test_missing_or_bad_credentials_stay_a_401(api, chain_a):
    anonymous = api(chain_a)
    response = anonymous.call("GET", "/api/v1/branches/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    anonymous.client.defaults["HTTP_AUTHORIZATION"] = "Token not-a-real-token"
    assert_error(anonymous.call("GET", "/api/v1/branches/"), 401, "authentication_failed")


def test_a_password_reset_revokes_every_token(client, chain_a):
    # given a doctor with two API clients
    first, second = _login(chain_a, "doctor", "a"), _login(chain_a, "doctor", "b")
    # when the password is reset through the e-mailed link
    client.post("/accounts/password_reset/", {"email": chain_a.email("doctor")}, HTTP_HOST=chain_a.host)
    link = re.search(r"http://alpha\.localhost(?::\d+)?(/accounts/reset/\S+)", mail.outbox[-1].body).group(1)
    form = client.get(link, HTTP_HOST=chain_a.host, follow=True).redirect_chain[-1][0]
    new = "Another-Strong-Pass-9"
    assert client.post(form, {"new_password1": new, "new_password2": new}, HTTP_HOST=chain_a.host).status_code == 302
    # then neither token works any more
    assert_error(first.call("GET", "/api/v1/me/"), 401, "authentication_failed")
    assert_error(second.call("GET", "/api/v1/me/"), 401, "authentication_failed")


def test_a_password_change_revokes_every_token(client, in_a):
    api_client = _login(in_a, "billing", "a")
    sign_in(client, in_a.users["billing"])
    new = "Another-Strong-Pass-9"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        HTTP_HOST=in_a.host,
    )
    assert response.status_code == 302
    assert_error(api_client.call("GET", "/api/v1/me/"), 401, "authentication_failed")
    # the page session that changed it goes on
    assert client.get("/", HTTP_HOST=in_a.host).status_code == 200


def test_the_password_service_revokes_tokens_and_refuses_a_weak_password(in_a):
    user = User.objects.get(pk=in_a.users["receptionist"].pk)  # not the shared one: its password changes
    services.api_token_issue(user=user, client_name="x")
    with pytest.raises(PasswordInvalid) as refused:
        services.password_set(user=user, password="123")
    assert "password" in refused.value.fields
    assert ApiToken.objects.filter(user=user).count() == 1  # refused: nothing changed
    services.password_set(user=user, password="Another-Strong-Pass-9")
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_token_issued_at_chain_a_is_refused_at_chain_b(api, chain_a, chain_b):
    # the same user id exists in both chains; the token of A's receptionist says nothing at B
    token = _login(chain_a, "receptionist", "a").token
    with schema_context(chain_a.schema):
        a_id = ApiToken.objects.get(token_key=token[:15]).user_id
    with schema_context(chain_b.schema):
        assert User.objects.filter(pk=a_id).exists(), "B must have a user with the same id for this to mean anything"
    replay = Api(chain_b.host)
    replay.client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    assert_error(replay.call("GET", "/api/v1/me/"), 401, "authentication_failed")
    assert_error(replay.call("GET", "/api/v1/auth/tokens/"), 401, "authentication_failed")
