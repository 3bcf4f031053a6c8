"""The permission matrix of a clinic chain: owners run the chain, branch managers only their branches.

Every row is asked of anonymous, a user of another chain, and each role; a refusal must leave the
chain exactly as it was."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from config.errors import PermissionDenied
from tenants.org import services
from tenants.org.models import Branch, ChainSettings, Invitation, StaffMember
from tests.helpers import Api, assert_error, sign_in

ROLES = ["owner", "branch_manager", "doctor", "receptionist", "billing"]
STAFF = ROLES
SUCCESS = {"GET": 200, "PATCH": 200, "POST": 201}  # every POST of the matrix creates something


def _actions(chain):
    own, other = chain.branches[0].pk, chain.branches[1].pk
    return {
        "view settings": ("GET", "/api/v1/settings/", None, STAFF),
        "change settings": ("PATCH", "/api/v1/settings/", {"name": "Renamed"}, ["owner"]),
        "list branches": ("GET", "/api/v1/branches/", None, STAFF),
        "add branch": ("POST", "/api/v1/branches/", {"name": "New Branch", "timezone": "Europe/London"}, ["owner"]),
        "edit own branch": (
            "PATCH",
            f"/api/v1/branches/{own}/",
            {"phone": "+442079460000"},
            ["owner", "branch_manager"],
        ),
        "edit other branch": ("PATCH", f"/api/v1/branches/{other}/", {"phone": "+442079460000"}, ["owner"]),
        "close a branch": ("PATCH", f"/api/v1/branches/{own}/", {"is_active": False}, ["owner"]),
        "list staff": ("GET", "/api/v1/staff/", None, ["owner", "branch_manager"]),
        "invite to own branch": (
            "POST",
            "/api/v1/invitations/",
            {"email": "new@example.com", "roles": ["receptionist"], "branch_ids": [own]},
            ["owner", "branch_manager"],
        ),
        "invite to other branch": (
            "POST",
            "/api/v1/invitations/",
            {"email": "new@example.com", "roles": ["receptionist"], "branch_ids": [other]},
            ["owner"],
        ),
        "invite a manager": (
            "POST",
            "/api/v1/invitations/",
            {"email": "new@example.com", "roles": ["branch_manager"], "branch_ids": [own]},
            ["owner"],
        ),
        "invite an owner": (
            "POST",
            "/api/v1/invitations/",
            {"email": "new@example.com", "roles": ["owner"]},
            ["owner"],
        ),
    }


ACTION_NAMES = list(_actions(type("C", (), {"branches": [Branch(pk=1), Branch(pk=2)]})()).keys())


def _snapshot(chain) -> tuple:
    with schema_context(chain.schema):
        return (
            ChainSettings.objects.values_list("name", flat=True).get(),
            sorted(Branch.objects.values_list("name", "phone", "is_active")),
            Invitation.objects.count(),
            sorted(StaffMember.objects.values_list("user__email", "roles", "is_active")),
        )


@pytest.mark.parametrize("action", ACTION_NAMES)
@pytest.mark.parametrize("who", [*ROLES, "anonymous", "other chain"])
def test_permission_matrix(api, chain_a, chain_b, action, who):
    method, path, body, allowed = _actions(chain_a)[action]
    if who == "anonymous":
        client = api(chain_a)
    elif who == "other chain":
        # the owner of chain B, with B's valid token, knocking at A
        client = Api(chain_a.host)
        client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {api(chain_b, 'owner').token}"
    else:
        client = api(chain_a, who)
    before = _snapshot(chain_a)

    response = client.call(method, path, body)

    if who in allowed:
        assert response.status_code == SUCCESS[method], (who, action, response.content)
        assert (_snapshot(chain_a) != before) is (method != "GET"), "a write changed nothing, or a read changed data"
    else:
        if who in ("anonymous", "other chain"):
            assert_error(response, 401)
        else:
            assert_error(response, 403, "permission_denied")
        assert _snapshot(chain_a) == before, "a refused request changed data"


def test_manager_cannot_change_an_owner_or_staff_of_other_branches(api, chain_a):
    manager = api(chain_a, "branch_manager")
    with schema_context(chain_a.schema):
        owner_staff = StaffMember.objects.get(user__email=chain_a.email("owner"))
        doctor = StaffMember.objects.get(user__email=chain_a.email("doctor"))
    before = _snapshot(chain_a)
    # the owner is not within a manager's view at all
    assert_error(manager.call("PATCH", f"/api/v1/staff/{owner_staff.pk}/", {"is_active": False}), 404)
    # a doctor of the manager's branch cannot be moved to a branch the manager does not run
    other = chain_a.branches[1].pk
    assert_error(
        manager.call("PATCH", f"/api/v1/staff/{doctor.pk}/", {"branch_ids": [other]}), 403, "permission_denied"
    )
    assert_error(manager.call("PATCH", f"/api/v1/staff/{doctor.pk}/", {"roles": ["owner"]}), 403, "permission_denied")
    assert _snapshot(chain_a) == before
    # but within their branch they may change the doctor's title
    response = manager.call("PATCH", f"/api/v1/staff/{doctor.pk}/", {"job_title": "GP"})
    assert response.status_code == 200
    assert response.json()["job_title"] == "GP"


def test_last_owner_cannot_be_removed(api, chain_a):
    owner = api(chain_a, "owner")
    with schema_context(chain_a.schema):
        me = StaffMember.objects.get(user__email=chain_a.email("owner"))
    assert_error(owner.call("PATCH", f"/api/v1/staff/{me.pk}/", {"roles": ["doctor"]}), 409, "last_owner")
    assert_error(owner.call("PATCH", f"/api/v1/staff/{me.pk}/", {"is_active": False}), 409, "last_owner")


def test_services_check_permissions_themselves(in_a):
    # a caller that skips the API (a task, a script, another module) is still refused
    receptionist = in_a.users["receptionist"]
    with pytest.raises(PermissionDenied):
        services.branch_create(actor=receptionist, name="Sneaky", timezone_name="UTC")
    with pytest.raises(PermissionDenied):
        services.chain_settings_update(actor=receptionist, name="Sneaky")
    with pytest.raises(PermissionDenied):
        services.staff_invite(
            actor=in_a.users["doctor"], email="x@example.com", roles=["doctor"], branch_ids=[in_a.branches[0].pk]
        )
    assert not Branch.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("receptionist", "/settings/", 403),
        ("branch_manager", "/settings/", 403),
        ("owner", "/settings/", 200),
        ("doctor", "/settings/staff/", 403),
        ("branch_manager", "/settings/staff/", 200),
        ("branch_manager", "/settings/branches/new/", 403),
        ("receptionist", "/settings/branches/", 200),
    ],
)
def test_pages_check_permissions(client, chain_a, role, path, status):
    with schema_context(chain_a.schema):
        sign_in(client, chain_a.users[role])
    assert client.get(path, HTTP_HOST=chain_a.host).status_code == status


def test_manager_page_for_other_branch_is_refused(client, chain_a):
    client.force_login(chain_a.users["branch_manager"])
    own, other = chain_a.branches[0].pk, chain_a.branches[1].pk
    assert client.get(f"/settings/branches/{own}/", HTTP_HOST=chain_a.host).status_code == 200
    response = client.post(
        f"/settings/branches/{other}/", {"name": "Taken over", "timezone": "UTC"}, HTTP_HOST=chain_a.host
    )
    assert response.status_code == 403
    with schema_context(chain_a.schema):
        assert not Branch.objects.filter(name="Taken over").exists()


def test_anonymous_pages_redirect_to_sign_in(client, chain_a):
    response = client.get("/settings/", HTTP_HOST=chain_a.host)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
