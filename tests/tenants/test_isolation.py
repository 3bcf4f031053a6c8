"""A clinic chain never sees, nor lets in, anything of another chain."""

from __future__ import annotations

from django_tenants.utils import schema_context

from tenants.org.models import Branch
from tests.factories import PASSWORD
from tests.helpers import Api, assert_error


def test_user_of_chain_a_cannot_sign_in_at_chain_b(api, chain_a, chain_b):
    # given a receptionist of A, when they sign in at B's address, then B does not know them
    response = api(chain_b).call(
        "POST", "/api/v1/auth/login/", {"email": chain_a.email("receptionist"), "password": PASSWORD}
    )
    assert_error(response, 400, "invalid_credentials")


def test_page_login_of_chain_a_user_fails_at_chain_b(chain_a, chain_b, client):
    response = client.post(
        "/accounts/login/", {"username": chain_a.email("owner"), "password": PASSWORD}, HTTP_HOST=chain_b.host
    )
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


def test_token_of_chain_a_is_unknown_at_chain_b(api, chain_a, chain_b):
    token = api(chain_a, "owner").token
    stranger = Api(chain_b.host)
    stranger.client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    assert_error(stranger.call("GET", "/api/v1/branches/"), 401, "authentication_failed")


def test_api_of_chain_a_never_returns_chain_b_rows(api, chain_a, chain_b):
    with schema_context(chain_b.schema):
        b_ids = set(Branch.objects.values_list("id", flat=True))
        b_names = set(Branch.objects.values_list("name", flat=True))
    with schema_context(chain_a.schema):
        a_ids = set(Branch.objects.values_list("id", flat=True))
    owner_a = api(chain_a, "owner")

    listed = owner_a.call("GET", "/api/v1/branches/?page_size=200").json()["results"]
    assert {b["name"] for b in listed}.isdisjoint(b_names)

    only_in_b = sorted(b_ids - a_ids)
    assert only_in_b, "chain B must own an id that chain A lacks for this test to mean anything"
    for pk in only_in_b:
        assert_error(owner_a.call("GET", f"/api/v1/branches/{pk}/"), 404, "not_found")
        assert_error(owner_a.call("PATCH", f"/api/v1/branches/{pk}/", {"name": "Hijacked"}), 404, "not_found")
    with schema_context(chain_b.schema):
        assert "Hijacked" not in set(Branch.objects.values_list("name", flat=True))


def test_unknown_chain_address_is_404(db, client):
    assert_error(client.get("/api/v1/branches/", HTTP_HOST="nobody.localhost"), 404, "not_found")


def test_chain_users_are_not_platform_operators(api, chain_a):
    # the owner of a chain, even signed in, cannot use the platform API of the public site
    owner = api(chain_a, "owner")
    public = Api("localhost")
    public.client.defaults["HTTP_AUTHORIZATION"] = f"Token {owner.token}"
    assert_error(public.call("GET", "/api/v1/clinics/"), 401)
