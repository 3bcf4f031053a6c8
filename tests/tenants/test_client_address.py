"""One client address for lock-out, rate limits and the access log; lock-out that a stranger cannot
turn against someone else; password spraying and portal-code abuse limited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context

from config.net import client_ip
from notifications import sms
from patients import portal
from patients import services as patients
from patients.models import PortalCode
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_record
from tests.factories import PASSWORD, user_with_roles
from tests.helpers import Api, assert_error


@pytest.fixture(autouse=True)
def _back_to_public():
    # Requests switch the connection to their chain's schema; later tests expect the public one.
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()


def _request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


# --- The one client address ------------------------------------------------------------------------


def test_without_trusted_proxies_a_forged_header_is_ignored(settings):
    settings.CLINICFLOW_TRUSTED_PROXIES = "0"
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_with_one_trusted_hop_the_address_our_proxy_saw_is_used(settings):
    settings.CLINICFLOW_TRUSTED_PROXIES = "1"
    # the client forged an entry; our proxy appended the address it really saw
    assert client_ip(_request("10.0.0.2", "198.51.100.1, 203.0.113.9")) == "203.0.113.9"
    assert client_ip(_request("10.0.0.2", "203.0.113.9")) == "203.0.113.9"
    assert client_ip(_request("10.0.0.2")) == "10.0.0.2"


def test_with_proxy_networks_only_our_proxies_may_speak_for_a_client(settings):
    settings.CLINICFLOW_TRUSTED_PROXIES = "10.0.0.0/8, 192.0.2.7"
    # through two of our proxies: the right-most address that is not ours
    assert client_ip(_request("10.0.0.2", "198.51.100.1, 203.0.113.9, 192.0.2.7")) == "203.0.113.9"
    # straight to the app, bypassing them: the header is the client's own word
    assert client_ip(_request("203.0.113.50", "10.9.9.9, 198.51.100.1")) == "203.0.113.50"
    # garbage is never taken for an address
    assert client_ip(_request("10.0.0.2", "not-an-address")) == "10.0.0.2"


@pytest.mark.parametrize(("trusted", "logged"), [("1", "203.0.113.9"), ("0", "10.0.0.2")])
def test_the_access_log_records_the_same_address(in_a, settings, trusted, logged):
    # given a request through a proxy, trusted or not
    settings.CLINICFLOW_TRUSTED_PROXIES = trusted
    request = _request("10.0.0.2", "198.51.100.1, 203.0.113.9")
    # when a read of a patient is logged
    rows = access_log_record(
        actor=in_a.users["doctor"],
        action="view",
        object_type="patient",
        object_ids=[1],
        patient_ids=[1],
        request=request,
    )
    # then the log holds the address client_ip gives
    assert AccessLog.objects.get(pk=rows[0]).ip_address == logged


# --- Lock-out ----------------------------------------------------------------------------------------


def _api_login(chain, email, password, ip):
    client = Client(HTTP_HOST=chain.host, REMOTE_ADDR=ip)
    return client.post("/api/v1/auth/login/", {"email": email, "password": password}, content_type="application/json")


def test_a_stranger_cannot_lock_a_person_out_from_elsewhere(chain_a, settings):
    email = chain_a.email("billing")
    # five wrong passwords for billing from address X
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _api_login(chain_a, email, "wrong-password", "198.51.100.66")
    assert_error(_api_login(chain_a, email, PASSWORD, "198.51.100.66"), 429, "login_locked")
    # the real person, from address Y, still signs in, on the API and on the page
    assert _api_login(chain_a, email, PASSWORD, "203.0.113.10").status_code == 200
    page = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="203.0.113.10")
    assert page.post("/accounts/login/", {"username": email, "password": PASSWORD}).status_code == 302


def test_a_forged_forwarded_header_does_not_escape_the_lock(chain_a, settings):
    settings.CLINICFLOW_TRUSTED_PROXIES = "0"
    email = chain_a.email("doctor")
    for n in range(settings.AXES_FAILURE_LIMIT):
        client = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="198.51.100.67", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        client.post("/api/v1/auth/login/", {"email": email, "password": "wrong"}, content_type="application/json")
    assert_error(_api_login(chain_a, email, PASSWORD, "198.51.100.67"), 429, "login_locked")


def test_password_spraying_from_one_address_is_locked(in_a, settings):
    # given many accounts, a few wrong tries at each from one address (page and API alike)
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    people = [
        user_with_roles(email=f"spray{n}@example.com", roles=["receptionist"], branches=in_a.branches[:1])
        for n in range(4)
    ]
    attacker = "198.51.100.77"
    page = Client(HTTP_HOST=in_a.host, REMOTE_ADDR=attacker)
    for person in people:
        page.post("/accounts/login/", {"username": person.email, "password": "Summer2026!"})
        _api_login(in_a, person.email, "Winter2026!", attacker)
    # then the address's budget is spent: even a right password from it is refused
    assert_error(_api_login(in_a, people[0].email, PASSWORD, attacker), 429, "login_locked")
    assert page.post("/accounts/login/", {"username": in_a.email("doctor"), "password": PASSWORD}).status_code == 429
    # while the same people sign in from their own addresses
    assert _api_login(in_a, people[0].email, PASSWORD, "203.0.113.11").status_code == 200


def test_the_lock_counts_behind_our_proxy_per_client(chain_a, settings):
    settings.CLINICFLOW_TRUSTED_PROXIES = "1"
    email = chain_a.email("branch_manager")

    def login(client_address, password):
        client = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=client_address)
        return client.post(
            "/api/v1/auth/login/", {"email": email, "password": password}, content_type="application/json"
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        login("198.51.100.70", "wrong")
    assert_error(login("198.51.100.70", PASSWORD), 429, "login_locked")
    # another client behind the same proxy is not locked out with the first
    assert login("203.0.113.12", PASSWORD).status_code == 200


# --- Portal codes -------------------------------------------------------------------------------------


@pytest.fixture
def pia(in_a, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    sms.outbox.clear()
    patient = patients.patient_create(
        actor=in_a.users["owner"], first_name="Pia", last_name="Portal", email="pia@example.com"
    )

    def ask(ip: str, identifier: str = "pia@example.com"):
        client = Client(HTTP_HOST=in_a.host, REMOTE_ADDR=ip)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/portal/sign-in/", {"identifier": identifier})
        return client, response

    return patient, ask


def _last_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_a_stranger_cannot_use_up_someone_elses_code_quota(pia, settings):
    _, ask = pia
    for _ in range(settings.PORTAL_CODES_PER_IDENTIFIER_PER_HOUR):
        ask("198.51.100.80")
    _, blocked = ask("198.51.100.80")
    assert b"Too many codes" in blocked.content  # the stranger's own quota is spent
    # the patient, from home, still gets a code and signs in with it
    client, response = ask("203.0.113.20")
    assert response.status_code == 302
    assert client.post("/portal/code/", {"code": _last_code()})["Location"] == "/portal/"


def test_codes_asked_for_by_a_stranger_do_not_make_the_patients_code_useless(pia):
    _, ask = pia
    client, _ = ask("203.0.113.21")
    mine = _last_code()
    ask("198.51.100.81")  # a stranger asks for a new code for the same person
    assert client.post("/portal/code/", {"code": mine})["Location"] == "/portal/"


def test_a_strangers_wrong_guesses_do_not_burn_the_patients_code(pia, settings):
    _, ask = pia
    client, _ = ask("203.0.113.22")
    mine = _last_code()
    wrong = "000000" if mine != "000000" else "111111"
    stranger, _ = ask("198.51.100.82")
    for _ in range(settings.PORTAL_CODE_ATTEMPTS + 2):
        assert b"not right" in stranger.post("/portal/code/", {"code": wrong}).content
    assert client.post("/portal/code/", {"code": mine})["Location"] == "/portal/"


def test_wrong_guesses_from_one_address_at_many_people_are_limited(in_a, settings):
    settings.PORTAL_WRONG_CODES_PER_ADDRESS_PER_HOUR = 3
    for n in range(3):
        with pytest.raises(portal.CodeInvalid):
            portal.code_verify(identifier=f"guess{n}@example.com", code="123456", ip="198.51.100.83")
    with pytest.raises(portal.TooManyTries):
        portal.code_verify(identifier="guess9@example.com", code="123456", ip="198.51.100.83")


def test_the_identifier_keeps_a_ceiling_across_addresses(pia, settings):
    _, ask = pia
    settings.PORTAL_CODES_PER_IDENTIFIER_CEILING_PER_HOUR = 4
    for n in range(4):
        assert ask(f"198.51.100.{90 + n}")[1].status_code == 302
    assert b"Too many codes" in ask("198.51.100.99")[1].content


def test_a_portal_code_of_chain_a_is_refused_at_chain_b(chain_a, chain_b):
    # given the same person (same e-mail) as a patient of both chains, and a code issued at A
    with schema_context(chain_a.schema):
        patients.patient_create(
            actor=chain_a.users["owner"], first_name="Sam", last_name="Two", email="sam@example.com"
        )
        sent = portal.code_request(identifier="sam@example.com", ip="203.0.113.30")
        a_hash = PortalCode.objects.get(patient=sent.patient).code_hash
    with schema_context(chain_b.schema):
        patients.patient_create(
            actor=chain_b.users["owner"], first_name="Sam", last_name="Two", email="sam@example.com"
        )
        portal.code_request(identifier="sam@example.com", ip="203.0.113.30")
        # even were B's pending code the very same digits, its hash is keyed with B
        assert PortalCode.objects.get(patient__email="sam@example.com").code_hash != a_hash
        PortalCode.objects.filter(patient__email="sam@example.com").update(code_hash=a_hash)  # a leaked hash
        with pytest.raises(portal.CodeInvalid):
            portal.code_verify(identifier="sam@example.com", code=sent.code, ip="203.0.113.30")


# --- Password reset ------------------------------------------------------------------------------------


def test_password_reset_mails_are_throttled_per_email_and_per_address(chain_a, settings):
    email = chain_a.email("doctor")
    for n in range(settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR):
        Client(HTTP_HOST=chain_a.host, REMOTE_ADDR=f"198.51.100.{n + 1}").post(
            "/accounts/password_reset/", {"email": email}
        )
    sent = len(mail.outbox)
    refused = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="203.0.113.40").post(
        "/accounts/password_reset/", {"email": email}
    )
    assert refused.status_code == 200
    assert b"Too many password resets" in refused.content
    assert len(mail.outbox) == sent  # refused: nothing sent
    # one address asking for many people is limited too
    spammer = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="198.51.100.200")
    for n in range(settings.PASSWORD_RESETS_PER_ADDRESS_PER_HOUR):
        spammer.post("/accounts/password_reset/", {"email": f"someone{n}@example.com"})
    assert (
        b"Too many password resets"
        in spammer.post("/accounts/password_reset/", {"email": chain_a.email("billing")}).content
    )


def test_a_password_reset_link_of_chain_a_is_refused_at_chain_b(client, chain_a, chain_b):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from tenants.accounts.models import User
    from tenants.accounts.tokens import password_reset_token

    # given users with the same id in both chains whose rows agree on everything the token signs
    with schema_context(chain_a.schema):
        a_user = User.objects.get(email=chain_a.email("doctor"))
        token = password_reset_token.make_token(a_user)
    with schema_context(chain_b.schema):
        User.objects.filter(pk=a_user.pk).update(
            password=a_user.password, last_login=a_user.last_login, email=a_user.email
        )
    link = f"/accounts/reset/{urlsafe_base64_encode(force_bytes(a_user.pk))}/{token}/"
    # the link still works at A, and is refused at B
    assert client.get(link, HTTP_HOST=chain_a.host).status_code == 302  # to the set-password form
    page = client.get(link, HTTP_HOST=chain_b.host, follow=True)
    assert b"Link not valid" in page.content
    with schema_context(chain_b.schema):
        assert User.objects.get(pk=a_user.pk).check_password(PASSWORD)  # refused: nothing changed


def test_api_sign_in_and_page_sign_in_share_the_budget(chain_a, settings):
    # the API login and the page login count failures of the same (e-mail, address) together
    email = chain_a.email("receptionist")
    page = Client(HTTP_HOST=chain_a.host, REMOTE_ADDR="198.51.100.120")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page.post("/accounts/login/", {"username": email, "password": "wrong"})
    assert_error(_api_login(chain_a, email, "wrong", "198.51.100.120"), 429, "login_locked")
    assert Api(chain_a.host, email).token  # from the test client's own address: fine
