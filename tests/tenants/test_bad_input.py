"""Every endpoint answers bad input with a 4xx in the one error format, and writes nothing."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tenants.org.models import Branch, ChainSettings, Invitation, StaffMember
from tests.helpers import assert_error

# (method, path, a body with wrong types, the fields it must name, a body missing required fields)
TENANT_WRITES = [
    (
        "PATCH",
        "/api/v1/settings/",
        {"name": {"x": 1}, "currency": ["EUR"], "contact_email": "nope"},
        {"name", "currency", "contact_email"},
        None,
    ),
    ("POST", "/api/v1/branches/", {"name": {"x": 1}, "timezone": ["UTC"]}, {"name", "timezone"}, {}),
    ("PATCH", "/api/v1/branches/{branch}/", {"is_active": "maybe", "name": []}, {"is_active", "name"}, None),
    ("PATCH", "/api/v1/staff/{staff}/", {"roles": "doctor", "branch_ids": ["x"]}, {"roles", "branch_ids.0"}, None),
    (
        "POST",
        "/api/v1/invitations/",
        {"email": "x", "roles": ["wizard"], "branch_ids": "1"},
        {"email", "roles.0", "branch_ids"},
        {},
    ),
    (
        "POST",
        "/api/v1/invitations/accept/",
        {"token": 1, "first_name": None},
        {"first_name", "last_name", "password"},
        {},
    ),
    ("POST", "/api/v1/auth/login/", {"email": "not an email", "password": None}, {"email", "password"}, {}),
]


def _fill(path: str, chain) -> str:
    with schema_context(chain.schema):
        staff = StaffMember.objects.get(user__email=chain.email("doctor")).pk
    return path.format(branch=chain.branches[0].pk, staff=staff)


def _state(chain) -> tuple:
    with schema_context(chain.schema):
        return (
            list(ChainSettings.objects.values()),
            list(Branch.objects.order_by("pk").values()),
            Invitation.objects.count(),
            sorted(StaffMember.objects.values_list("pk", "roles", "job_title")),
        )


@pytest.mark.parametrize(("method", "path", "wrong", "fields", "missing"), TENANT_WRITES)
def test_bad_bodies_are_refused_with_field_errors(api, chain_a, method, path, wrong, fields, missing):
    owner = api(chain_a, "owner")
    path = _fill(path, chain_a)
    before = _state(chain_a)

    assert_error(owner.call(method, path, raw="{not json"), 400, "malformed_request")
    assert_error(owner.call(method, path, raw="[1, 2]"), 400)
    error = assert_error(owner.call(method, path, wrong), 400, "validation_error")
    assert fields <= set(error["fields"]), error
    if missing is not None:
        error = assert_error(owner.call(method, path, missing), 400, "validation_error")
        assert error["fields"]
    assert _state(chain_a) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/branches/999999/", None),
        ("PATCH", "/api/v1/branches/999999/", {"name": "x"}),
        ("GET", "/api/v1/staff/999999/", None),
        ("PATCH", "/api/v1/staff/999999/", {"job_title": "x"}),
        ("POST", "/api/v1/invitations/999999/revoke/", None),
        ("GET", "/api/v1/no-such-endpoint/", None),
        ("GET", "/api/v1/branches/abc/", None),
    ],
)
def test_unknown_ids_are_404(api, chain_a, method, path, body):
    assert_error(api(chain_a, "owner").call(method, path, body), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Atlantis/Capital"}, "timezone"),
        ({"phone": "call me"}, "phone"),
        ({"name": "   "}, "name"),
    ],
)
def test_invalid_branch_values(api, chain_a, body, field):
    before = _state(chain_a)
    error = assert_error(
        api(chain_a, "owner").call("POST", "/api/v1/branches/", {"name": "Fine", "timezone": "UTC", **body}),
        400,
        "validation_error",
    )
    assert field in error["fields"]
    assert _state(chain_a) == before


def test_duplicate_branch_name_is_a_conflict(api, chain_a):
    name = chain_a.branches[0].name.upper()
    assert_error(
        api(chain_a, "owner").call("POST", "/api/v1/branches/", {"name": name, "timezone": "UTC"}),
        409,
        "branch_name_taken",
    )


def test_unknown_branch_in_invitation(api, chain_a):
    error = assert_error(
        api(chain_a, "owner").call(
            "POST", "/api/v1/invitations/", {"email": "a@b.example", "roles": ["doctor"], "branch_ids": [424242]}
        ),
        400,
        "validation_error",
    )
    assert "branch_ids" in error["fields"]


def test_bad_filters_and_methods(api, chain_a):
    owner = api(chain_a, "owner")
    assert_error(owner.call("GET", "/api/v1/branches/?is_active=perhaps"), 400, "validation_error")
    assert_error(owner.call("GET", "/api/v1/staff/?role=wizard"), 400, "validation_error")
    assert_error(owner.call("GET", "/api/v1/branches/?page=99"), 404, "not_found")
    assert_error(owner.call("DELETE", "/api/v1/settings/"), 405, "method_not_allowed")


def test_platform_api_bad_input(api):
    operator = api(None, as_email="operator@platform.example")
    assert_error(operator.call("POST", "/api/v1/clinics/", raw="{"), 400, "malformed_request")
    error = assert_error(operator.call("POST", "/api/v1/clinics/", {"name": 3}), 400, "validation_error")
    assert {"slug", "owner_email", "timezone", "currency"} <= set(error["fields"])
    assert_error(operator.call("GET", "/api/v1/clinics/nope/"), 404, "not_found")
