from __future__ import annotations

import re

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.org import services
from tenants.org.models import Invitation, StaffMember
from tests.factories import PASSWORD
from tests.helpers import Api, assert_error, second_factor_code, sign_in


def _token(text: str) -> str:
    return re.search(r"/invite/([^/\s]+)/", text).group(1)


def test_invitation_is_mailed_and_accepted_once(api, chain_a, django_capture_on_commit_callbacks):
    owner = api(chain_a, "owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.call(
            "POST",
            "/api/v1/invitations/",
            {"email": "Nina@Example.com", "roles": ["receptionist"], "branch_ids": [chain_a.branches[1].pk]},
        )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina@example.com"]
    token = _token(mail.outbox[0].body)
    assert "http://alpha.localhost:8000/invite/" in mail.outbox[0].body

    anonymous = api(chain_a)
    body = {"token": token, "first_name": "Nina", "last_name": "Reyes", "password": PASSWORD}
    assert anonymous.call("POST", "/api/v1/invitations/accept/", body).status_code == 201
    assert_error(anonymous.call("POST", "/api/v1/invitations/accept/", body), 409, "invitation_not_pending")
    assert Api(chain_a.host, "nina@example.com").token
    with schema_context(chain_a.schema):
        staff = StaffMember.objects.get(user__email="nina@example.com")
        assert staff.roles == ["receptionist"]
        assert list(staff.branches.values_list("pk", flat=True)) == [chain_a.branches[1].pk]


def test_bad_or_weak_acceptance_creates_nobody(api, in_a):
    _, link = services.staff_invite(actor=in_a.users["owner"], email="weak@example.com", roles=["doctor"])
    token = link.rstrip("/").rsplit("/", 1)[-1]
    anonymous = api(in_a)
    error = assert_error(
        anonymous.call(
            "POST",
            "/api/v1/invitations/accept/",
            {"token": token, "first_name": "W", "last_name": "K", "password": "123"},
        ),
        400,
        "validation_error",
    )
    assert "password" in error["fields"]
    assert_error(
        anonymous.call(
            "POST",
            "/api/v1/invitations/accept/",
            {"token": "forged", "first_name": "W", "last_name": "K", "password": PASSWORD},
        ),
        404,
        "invitation_invalid",
    )
    with schema_context(in_a.schema):
        assert not User.objects.filter(email="weak@example.com").exists()


def test_reinviting_revokes_the_old_link_and_existing_users_cannot_be_invited(in_a):
    owner = in_a.users["owner"]
    first, _ = services.staff_invite(actor=owner, email="twice@example.com", roles=["doctor"])
    second, _ = services.staff_invite(actor=owner, email="twice@example.com", roles=["billing"])
    first.refresh_from_db()
    assert (first.status, second.status) == (Invitation.Status.REVOKED, Invitation.Status.PENDING)
    from tenants.org.exceptions import EmailInUse

    with pytest.raises(EmailInUse):
        services.staff_invite(actor=owner, email=in_a.email("doctor").upper(), roles=["doctor"])


def test_expired_invitation_cannot_be_used(api, in_a):
    from django.utils import timezone

    invitation, link = services.staff_invite(actor=in_a.users["owner"], email="late@example.com", roles=["doctor"])
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    token = link.rstrip("/").rsplit("/", 1)[-1]
    body = {"token": token, "first_name": "L", "last_name": "Ate", "password": PASSWORD}
    assert_error(api(in_a).call("POST", "/api/v1/invitations/accept/", body), 409, "invitation_not_pending")
    assert services.invitations_expire() == 1
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.EXPIRED


def test_login_locks_after_repeated_failures(api, chain_a, settings):
    client = api(chain_a)
    email = chain_a.email("billing")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert_error(
            client.call("POST", "/api/v1/auth/login/", {"email": email, "password": "wrong-password"}),
            400,
            "invalid_credentials",
        )
    assert_error(
        client.call("POST", "/api/v1/auth/login/", {"email": email, "password": "wrong-password"}), 429, "login_locked"
    )
    # now even the right password is refused, and the page login shows the lock too
    assert_error(
        client.call("POST", "/api/v1/auth/login/", {"email": email, "password": PASSWORD}), 429, "login_locked"
    )
    page = client.client.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert page.status_code == 429
    assert b"Too many failed sign-in attempts" in page.content
    # the lock is per chain: chain B, on the same address, still signs its users in
    assert Api("bravo.localhost", "billing@bravo.example").token


def test_password_reset_by_email(client, chain_a):
    response = client.post("/accounts/password_reset/", {"email": chain_a.email("doctor")}, HTTP_HOST=chain_a.host)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://alpha\.localhost(?::\d+)?(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    page = client.get(link, HTTP_HOST=chain_a.host, follow=True)
    new = "Another-Strong-Pass-9"
    done = client.post(page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, HTTP_HOST=chain_a.host)
    assert done.status_code == 302
    with schema_context(chain_a.schema):
        assert User.objects.get(email=chain_a.email("doctor")).check_password(new)


def test_page_sign_in_and_out(client, chain_a):
    # given an owner with a recovery code of their authenticator
    with schema_context(chain_a.schema):
        code = second_factor_code(chain_a.users["owner"])
    response = client.post(
        "/accounts/login/", {"username": chain_a.email("owner"), "password": PASSWORD}, HTTP_HOST=chain_a.host
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/verify/")
    response = client.post("/accounts/two-factor/recovery/", {"code": code}, HTTP_HOST=chain_a.host)
    assert response["Location"] == "/"
    home = client.get("/", HTTP_HOST=chain_a.host)
    assert b"Chain settings" in home.content
    assert b"Staff" in home.content
    client.post("/accounts/logout/", HTTP_HOST=chain_a.host)
    assert client.get("/", HTTP_HOST=chain_a.host).status_code == 302


def test_navigation_follows_role(client, chain_a):
    with schema_context(chain_a.schema):
        client.force_login(chain_a.users["receptionist"])
    home = client.get("/", HTTP_HOST=chain_a.host).content
    assert b">Front desk<" in home
    assert b">Patients<" in home
    assert b">Settings<" not in home  # no set-up page is hers
    assert b"Chain settings" not in home
    assert b">Staff<" not in home


def test_navigation_marks_the_deepest_current_entry(client, chain_a):
    with schema_context(chain_a.schema):
        sign_in(client, chain_a.users["owner"])
    page = client.get("/settings/staff/", HTTP_HOST=chain_a.host).content.decode()
    assert '<a href="/settings/staff/" aria-current="page">Staff</a>' in page
    # the settings sub-navigation marks Staff, not Chain settings, whose address /settings/staff/ starts with
    assert '<a href="/settings/" aria-current="page">Chain settings</a>' not in page
