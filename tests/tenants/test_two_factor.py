"""Staff sign-in fit for health data: TOTP two-factor (required for owners, per chain for other
roles), recovery codes, sessions that end, and nothing of it usable at another chain."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context

from tenants.accounts import services
from tenants.org import services as org
from tenants.org.models import ChainSettings
from tests.factories import PASSWORD
from tests.helpers import assert_error, second_factor_code, sign_in


@pytest.fixture(autouse=True)
def _back_to_public():
    # Requests switch the connection to their chain's schema; later tests expect the public one.
    yield
    connection.set_schema_to_public()


def _code(device: TOTPDevice, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at
    return f"{totp.token():06d}"


def _device(user) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    services.recovery_codes_regenerate(user=user)
    return device


def _password_step(client: Client, chain, role: str, **extra):
    return client.post(
        "/accounts/login/", {"username": chain.email(role), "password": PASSWORD, **extra}, HTTP_HOST=chain.host
    )


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()


def test_an_owner_without_an_authenticator_is_sent_to_set_one_up_before_anything_else(client, in_a):
    # given an owner signed in with the password only
    assert _password_step(client, in_a, "owner").status_code == 302
    # then every page leads to the set-up, and the API does not accept the session
    for path in ("/", "/settings/", "/patients/"):
        response = client.get(path, HTTP_HOST=in_a.host)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/two-factor/setup/")
    assert_error(client.get("/api/v1/branches/", HTTP_HOST=in_a.host), 401, "not_authenticated")


def test_set_up_confirms_a_code_then_shows_ten_recovery_codes_once(client, in_a):
    owner = in_a.users["owner"]
    client.force_login(owner)
    page = client.get("/accounts/two-factor/setup/?next=/settings/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"<svg" in page.content
    # nothing inline for the coming Content-Security-Policy: no script body, no on* handler
    assert not re.search(rb"<script(?![^>]*\bsrc=)|\son[a-z]+=", page.content)
    key = client.session["_two_factor_setup_key"]
    device = TOTPDevice(key=key)
    # a wrong code saves nothing
    wrong = client.post("/accounts/two-factor/setup/", {"code": "000000"}, HTTP_HOST=in_a.host)
    assert wrong.status_code == 200
    assert b"not right" in wrong.content
    assert not TOTPDevice.objects.filter(user=owner).exists()
    # the right one turns it on and shows the recovery codes, once
    done = client.post(
        "/accounts/two-factor/setup/", {"code": _code(device), "next": "/settings/"}, HTTP_HOST=in_a.host
    )
    assert done.status_code == 302
    codes_page = client.get(done["Location"], HTTP_HOST=in_a.host)
    codes = StaticToken.objects.filter(device__user=owner).values_list("token", flat=True)
    assert len(codes) == 10
    for code in codes:
        assert code.encode() in codes_page.content
    assert client.get("/accounts/two-factor/codes/", HTTP_HOST=in_a.host).status_code == 302  # not again
    # and this session is verified: the settings page opens
    assert client.get("/settings/", HTTP_HOST=in_a.host).status_code == 200


def test_page_sign_in_takes_the_password_then_the_code(client, in_a):
    device = _device(in_a.users["owner"])
    # the password step alone signs nobody in
    step = _password_step(client, in_a, "owner", next="/settings/")
    assert step["Location"].startswith("/accounts/two-factor/verify/")
    assert "_auth_user_id" not in client.session
    assert client.get("/settings/", HTTP_HOST=in_a.host).status_code == 302
    # a wrong code neither
    wrong = client.post("/accounts/two-factor/verify/", {"code": "000000"}, HTTP_HOST=in_a.host)
    assert b"not right" in wrong.content
    assert "_auth_user_id" not in client.session
    # the app's code does
    with time_machine.travel(time.time() + 60):  # django-otp slows a device down after a wrong code
        done = client.post(
            "/accounts/two-factor/verify/", {"code": _code(device), "next": "/settings/"}, HTTP_HOST=in_a.host
        )
        assert done["Location"] == "/settings/"
        assert client.get("/settings/", HTTP_HOST=in_a.host).status_code == 200


def test_a_recovery_code_signs_in_once(client, in_a):
    owner = in_a.users["owner"]
    _device(owner)
    code = StaticToken.objects.filter(device__user=owner).first().token
    _password_step(client, in_a, "owner")
    done = client.post("/accounts/two-factor/recovery/", {"code": code.upper()}, HTTP_HOST=in_a.host)
    assert done.status_code == 302
    assert client.get("/", HTTP_HOST=in_a.host).status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()
    # used up: a second sign-in with it fails
    other = Client()
    _password_step(other, in_a, "owner")
    again = other.post("/accounts/two-factor/recovery/", {"code": code}, HTTP_HOST=in_a.host)
    assert again.status_code == 200
    assert "_auth_user_id" not in other.session


def test_new_recovery_codes_replace_the_old_and_removal_takes_the_password(client, in_a):
    owner = in_a.users["owner"]
    sign_in(client, owner)
    services.recovery_codes_regenerate(user=owner)
    old = set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))
    assert client.post("/accounts/two-factor/codes/new/", HTTP_HOST=in_a.host).status_code == 302
    new = set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))
    assert len(new) == 10
    assert not (old & new)
    # removal: the wrong password changes nothing
    refused = client.post("/accounts/two-factor/remove/", {"password": "wrong-password"}, HTTP_HOST=in_a.host)
    assert b"not your current password" in refused.content
    assert TOTPDevice.objects.filter(user=owner).exists()
    removed = client.post("/accounts/two-factor/remove/", {"password": PASSWORD}, HTTP_HOST=in_a.host)
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(user=owner).exists()
    assert not StaticToken.objects.filter(device__user=owner).exists()
    # an owner must have it: straight back to the set-up
    assert client.get("/", HTTP_HOST=in_a.host)["Location"].startswith("/accounts/two-factor/setup/")


def test_the_chain_chooses_which_other_roles_must_use_two_factor(client, in_a):
    # given a receptionist and a doctor, signed in with passwords only: no set-up asked
    receptionist, doctor = Client(), Client()
    receptionist.force_login(in_a.users["receptionist"])
    doctor.force_login(in_a.users["doctor"])
    assert receptionist.get("/", HTTP_HOST=in_a.host).status_code == 200
    # when the owner requires it for receptionists on the settings page
    sign_in(client, in_a.users["owner"])
    chain = ChainSettings.objects.get(pk=1)
    form = {
        "name": chain.name,
        "default_timezone": chain.default_timezone,
        "currency": chain.currency,
        "locale": chain.locale,
        "two_factor_roles": ["receptionist"],
    }
    assert client.post("/settings/", form, HTTP_HOST=in_a.host).status_code == 302
    assert ChainSettings.objects.get(pk=1).two_factor_roles == ["receptionist"]
    # then the receptionist is sent to set it up, the doctor is not
    assert receptionist.get("/", HTTP_HOST=in_a.host)["Location"].startswith("/accounts/two-factor/setup/")
    assert doctor.get("/", HTTP_HOST=in_a.host).status_code == 200


def test_only_the_owner_may_choose_and_owners_cannot_be_exempted(in_a):
    from config.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        org.chain_settings_update(actor=in_a.users["receptionist"], two_factor_roles=[])
    assert ChainSettings.objects.get(pk=1).two_factor_roles == []
    org.chain_settings_update(actor=in_a.users["owner"], two_factor_roles=["owner", "doctor"])
    assert ChainSettings.objects.get(pk=1).two_factor_roles == ["doctor"]


def test_the_api_login_asks_for_the_code(api, in_a):
    owner = in_a.users["owner"]
    client = api(in_a)
    body = {"email": owner.email, "password": PASSWORD}
    # an owner without an authenticator gets no token: set it up first
    assert_error(client.call("POST", "/api/v1/auth/login/", body), 401, "otp_required")
    device = _device(owner)
    assert_error(client.call("POST", "/api/v1/auth/login/", body), 401, "otp_required")
    assert_error(client.call("POST", "/api/v1/auth/login/", {**body, "otp": "123456"}), 401, "otp_invalid")
    from tenants.accounts.models import ApiToken

    assert not ApiToken.objects.filter(user=owner).exists()  # refused: no token written
    with time_machine.travel(time.time() + 60):
        ok = client.call("POST", "/api/v1/auth/login/", {**body, "otp": _code(device)})
        assert ok.status_code == 200
        # the same code cannot be used twice
        assert_error(client.call("POST", "/api/v1/auth/login/", {**body, "otp": _code(device)}), 401, "otp_invalid")


def test_wrong_codes_count_towards_the_lock_out(api, in_a, settings):
    owner = in_a.users["owner"]
    _device(owner)
    client = api(in_a)
    body = {"email": owner.email, "password": PASSWORD, "otp": "nope-nope"}
    with time_machine.travel(time.time(), tick=False) as clock:
        for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            assert_error(client.call("POST", "/api/v1/auth/login/", body), 401, "otp_invalid")
            clock.shift(2**attempt)  # past the device's pause after a wrong code
        assert_error(client.call("POST", "/api/v1/auth/login/", body), 429, "login_locked")
    # now even a right recovery code is refused, on the API and on the page
    code = StaticToken.objects.filter(device__user=owner).first().token
    assert_error(client.call("POST", "/api/v1/auth/login/", {**body, "otp": code}), 429, "login_locked")
    page = Client()
    assert _password_step(page, in_a, "owner").status_code == 429


def test_the_page_code_step_locks_after_repeated_wrong_codes(client, in_a, settings):
    _device(in_a.users["owner"])
    _password_step(client, in_a, "owner")
    with time_machine.travel(time.time(), tick=False) as clock:
        for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            client.post("/accounts/two-factor/recovery/", {"code": "wrongcode"}, HTTP_HOST=in_a.host)
            clock.shift(2**attempt)
        locked = client.post("/accounts/two-factor/recovery/", {"code": "wrongcode"}, HTTP_HOST=in_a.host)
        assert locked.status_code == 429
        clock.shift(60)
        code = StaticToken.objects.filter(device__user=in_a.users["owner"]).first().token
        again = client.post("/accounts/two-factor/recovery/", {"code": code}, HTTP_HOST=in_a.host)
        assert again.status_code == 429
        assert "_auth_user_id" not in client.session


def test_a_code_sent_in_the_pause_after_a_wrong_one_is_not_tried_nor_counted(client, api, in_a):
    owner = in_a.users["owner"]
    device = _device(owner)
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        _password_step(client, in_a, "owner")
        assert (
            b"not right" in client.post("/accounts/two-factor/verify/", {"code": "000000"}, HTTP_HOST=in_a.host).content
        )
        # the right code at once: django-otp's pause refuses it untried; the page says how long to wait
        soon = client.post("/accounts/two-factor/verify/", {"code": _code(device, start)}, HTTP_HOST=in_a.host)
        assert soon.status_code == 200
        assert b"Wait 1 second" in soon.content
        assert "_auth_user_id" not in client.session
        # the API says the same with its own code, and neither try counted as a failed sign-in
        body = {"email": owner.email, "password": PASSWORD, "otp": _code(device, start)}
        assert_error(api(in_a).call("POST", "/api/v1/auth/login/", body), 429, "otp_too_soon")
        assert (
            AccessAttempt.objects.filter(username=owner.email).values_list("failures_since_start", flat=True).first()
            == 1
        )
        clock.shift(2)
        done = client.post("/accounts/two-factor/verify/", {"code": _code(device, start + 2)}, HTTP_HOST=in_a.host)
        assert done.status_code == 302
        assert client.session["_auth_user_id"] == str(owner.pk)


def test_an_authenticator_and_recovery_codes_of_chain_a_are_refused_at_chain_b(api, chain_a, chain_b):
    # given owners with the same user id in both chains, each with an authenticator
    with schema_context(chain_a.schema):
        owner_a = chain_a.users["owner"]
        device_a = _device(owner_a)
        recovery_a = StaticToken.objects.filter(device__user=owner_a).first().token
    with schema_context(chain_b.schema):
        owner_b = chain_b.users["owner"]
        assert owner_b.pk == owner_a.pk
        _device(owner_b)
    # when A's codes are replayed at B's sign-in for B's owner
    client = api(chain_b)
    body = {"email": owner_b.email, "password": PASSWORD}
    assert_error(client.call("POST", "/api/v1/auth/login/", {**body, "otp": _code(device_a)}), 401, "otp_invalid")
    assert_error(client.call("POST", "/api/v1/auth/login/", {**body, "otp": recovery_a}), 401, "otp_invalid")
    # and A's verified session cookie is nothing at B
    page = Client()
    with schema_context(chain_a.schema):
        sign_in(page, owner_a)
    assert page.get("/", HTTP_HOST=chain_a.host).status_code == 200
    replay = Client()
    replay.cookies["sessionid"] = page.cookies["sessionid"].value
    assert replay.get("/", HTTP_HOST=chain_b.host)["Location"].startswith("/accounts/login/")


# --- Sessions ---------------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_timeout(client, in_a, settings):
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, in_a.users["receptionist"])
        assert client.get("/", HTTP_HOST=in_a.host).status_code == 200
        clock.shift(settings.SESSION_IDLE_TIMEOUT - timedelta(minutes=1))
        assert client.get("/", HTTP_HOST=in_a.host).status_code == 200  # activity: the clock restarts
        clock.shift(settings.SESSION_IDLE_TIMEOUT - timedelta(minutes=1))
        assert client.get("/", HTTP_HOST=in_a.host).status_code == 200
        clock.shift(settings.SESSION_IDLE_TIMEOUT + timedelta(seconds=1))
        ended = client.get("/patients/", HTTP_HOST=in_a.host)
        assert ended["Location"] == "/accounts/login/?next=%2Fpatients%2F"
        assert "_auth_user_id" not in client.session
        # the sign-in page says why
        assert b"Your session ended" in client.get(ended["Location"], HTTP_HOST=in_a.host).content


def test_an_ended_session_sends_a_live_fragment_to_sign_in_not_into_the_page(client, in_a, settings):
    desk = f"/desk/{in_a.branches[0].pk}/"
    hx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://{in_a.host}{desk}?day=2026-11-23"}
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, in_a.users["receptionist"])
        clock.shift(settings.SESSION_IDLE_TIMEOUT + timedelta(seconds=1))
        # the grid's refresh after the idle limit: the whole window goes to sign in, back to the page
        ended = client.get(f"{desk}?day=2026-11-23", HTTP_HOST=in_a.host, **hx)
        assert ended.status_code == 204
        assert ended["HX-Redirect"] == f"/accounts/login/?next=%2Fdesk%2F{in_a.branches[0].pk}%2F%3Fday%3D2026-11-23"
    # and a fragment asked for with no session at all does the same, never swapping in the sign-in form
    anonymous = Client().get(f"{desk}?day=2026-11-23", HTTP_HOST=in_a.host, **hx)
    assert anonymous.status_code == 204
    assert anonymous["HX-Redirect"].startswith("/accounts/login/?next=%2Fdesk%2F")


def test_the_sign_in_page_names_the_chain_and_staff_reach_their_two_factor_settings(client, in_a):
    name = ChainSettings.objects.get(pk=1).name
    assert f"Sign in to {name}".encode() in client.get("/accounts/login/", HTTP_HOST=in_a.host).content
    sign_in(client, in_a.users["receptionist"])
    home = client.get("/", HTTP_HOST=in_a.host).content.decode()
    assert 'href="/accounts/two-factor/"' in home


def test_the_desk_refresh_is_not_activity(client, in_a, settings):
    desk = f"/desk/{in_a.branches[0].pk}/"
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, in_a.users["receptionist"])
        client.get("/", HTTP_HOST=in_a.host)
        for _ in range(3):  # the book polls its feed on and on while nobody is at the desk
            clock.shift(settings.SESSION_IDLE_TIMEOUT / 4)
            poll = client.get(f"{desk}feed/", HTTP_HOST=in_a.host, HTTP_X_CLINICFLOW_BACKGROUND="1")
            assert poll.status_code == 200
        clock.shift(settings.SESSION_IDLE_TIMEOUT / 4 + timedelta(seconds=1))
        # the idle time ran from the last real request, not from the last refresh
        assert client.get(desk, HTTP_HOST=in_a.host)["Location"].startswith("/accounts/login/")
        assert "_auth_user_id" not in client.session


def test_a_session_ends_after_its_absolute_lifetime_however_busy(client, in_a, settings):
    start = time.time()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, in_a.users["receptionist"])
        elapsed = timedelta()
        while elapsed < settings.SESSION_ABSOLUTE_LIFETIME - timedelta(minutes=20):
            clock.shift(timedelta(minutes=20))
            elapsed += timedelta(minutes=20)
            assert client.get("/", HTTP_HOST=in_a.host).status_code == 200
            # the cookie never outlives the lifetime left
            assert client.session.get_expiry_age() <= (settings.SESSION_ABSOLUTE_LIFETIME - elapsed).total_seconds()
        clock.shift(timedelta(minutes=21))
        assert client.get("/", HTTP_HOST=in_a.host).status_code == 302


def test_second_factor_helper_gives_codes_only_where_due(in_a):
    assert second_factor_code(in_a.users["receptionist"]) is None
    assert second_factor_code(in_a.users["owner"])
