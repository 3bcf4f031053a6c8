"""Security headers: a Content-Security-Policy with no inline script or style on every page, no-store on
everything private (signed-in pages, API, FHIR, downloads, their errors too), and production settings
that pass Django's deployment check."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory

from patients import services as patients
from tests.factories.scheduling import MONDAY, book, clinic_setup

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "frontend" / "templates"
FHIR = "application/fhir+json"


# --- Content-Security-Policy ---------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


class _InlineCode(HTMLParser):
    """Collects what the policy would refuse: inline <script>/<style>, on* handlers, style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> block")
        self.found += [f"{name}= on <{tag}>" for name in names if name == "style" or name.startswith(("on", "hx-on"))]


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def desk(in_a, client):
    clinic = clinic_setup(in_a, doctors=2, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55)))
    clinic.receptionist.staff.branches.add(clinic.branch)
    booked = book(
        clinic, clinic.at(MONDAY, 10), actor=clinic.owner, patient=clinic.patient("Greta"), doctor=clinic.doctors[1]
    )
    return clinic, booked


def test_every_page_carries_a_policy_without_inline_script_or_style(desk, client):
    # given a desk with an appointment on its grid, and a signed-in receptionist
    clinic, booked = desk
    host = clinic.chain.host
    public = ["/accounts/login/", "/book/", "/portal/sign-in/", "/api/v1/docs/"]
    desk_page = f"/desk/{clinic.branch.pk}/?day={MONDAY}"
    # when each page is fetched
    pages = {path: client.get(path, HTTP_HOST=host) for path in public}
    client.force_login(clinic.receptionist)
    pages[desk_page] = client.get(desk_page, HTTP_HOST=host)
    pages["appointment panel"] = client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host)
    pages["book feed"] = client.get(f"/desk/{clinic.branch.pk}/feed/?day={MONDAY}", HTTP_HOST=host)
    pages["unknown page"] = client.get("/no-such-page/", HTTP_HOST=host)
    # then each has the policy, which allows scripts and styles from the site's own files only
    for name, response in pages.items():
        assert response.status_code == (404 if name == "unknown page" else 200), name
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"], name
        assert policy["style-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        # and the markup, the panel the book opens included, has nothing the policy refuses
        assert _inline_code(response.content.decode()) == [], name
    # the book's appointments come as data for its script, and the panel names the patient
    assert pages["book feed"]["Content-Type"].startswith("application/json")
    assert str(booked.pk) in {str(e.get("id")) for e in pages["book feed"].json()["events"]}
    assert "Greta" in pages["appointment panel"].content.decode()


def test_the_api_docs_load_their_init_script_from_a_file(client, chain_a):
    # given the Swagger page of a chain's API
    page = client.get("/api/v1/docs/", HTTP_HOST=chain_a.host).content.decode()
    # when the scripts it loads are listed
    sources = re.findall(r'<script src="([^"]+)"', page)
    # then the init script is one of them, served as JavaScript, and no script is inline
    init = next(src for src in sources if "script" in src.split("?", 1)[-1])
    script = client.get(init.replace("&amp;", "&"), HTTP_HOST=chain_a.host)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert _inline_code(page) == []


def test_no_template_holds_inline_script_handlers_or_style():
    # given every template of the pages
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20
    # when each is searched for what the policy refuses (Django comments aside)
    found = {}
    for path in templates:
        text = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.DOTALL)
        hits = [
            *re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text),
            *re.findall(r"<style\b", text),
            *re.findall(r"\sstyle\s*=", text),
            *re.findall(r"\son[a-z]+\s*=", text),
            *re.findall(r"\s(?:data-)?hx-on", text),
        ]
        if hits:
            found[str(path.relative_to(TEMPLATES))] = hits
    # then there is none
    assert found == {}


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(client, chain_a):
    # given the page frame every page extends
    html = client.get("/accounts/login/", HTTP_HOST=chain_a.host).content.decode()
    # when htmx's configuration is read from it
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1))
    # then htmx adds no <style>, runs no eval or swapped-in script, sets no style attribute, caches no page
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert "style" not in config["attributesToSettle"]
    assert config["historyCacheSize"] == 0


# --- Cache-Control: no-store ---------------------------------------------------------------------------


def _assert_no_store(response, name: str) -> None:
    assert "no-store" in response.get("Cache-Control", ""), (name, response.status_code, response.get("Cache-Control"))
    assert response.get("Pragma") == "no-cache", name


def _ics_link(client, host: str, clinic, capture) -> str:
    """Book online as a visitor; the manage link's calendar file."""

    def post(path: str, data: dict[str, object]):
        with capture(execute=True):  # the code goes out by mail once the hold commits
            return client.post(path, data, HTTP_HOST=host)

    page = client.get(f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1", HTTP_HOST=host)
    doctor, start = re.search(
        r'name="doctor" value="(\d+)"><input type="hidden" name="start" value="([^"]+)"', page.content.decode()
    ).groups()
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})
    post("/book/details/", {"first_name": "Ida", "last_name": "Ics", "contact": "ida@example.com"})
    done = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})
    assert done.status_code == 302, done.content[:500]
    return done["Location"] + "calendar.ics"


def test_private_responses_are_never_stored(desk, api, client, django_capture_on_commit_callbacks):
    # given a chain with a patient who signs in to the portal, staff with API tokens and a visitor's booking
    cache.clear()
    clinic, booked = desk
    chain, host = clinic.chain, clinic.chain.host
    patient = patients.patient_create(
        actor=clinic.owner, first_name="Pia", last_name="Portal", email="pia.headers@example.com"
    )
    ics = _ics_link(client, host, clinic, django_capture_on_commit_callbacks)
    receptionist, doctor, anonymous = api(chain, "receptionist"), api(chain, "doctor"), api(chain)
    # when each private URL is fetched, successes and errors alike
    responses = {
        "API as staff": receptionist.call("GET", "/api/v1/me/"),
        "API list": receptionist.call("GET", "/api/v1/scheduling/services/"),
        "API refusal": anonymous.call("GET", "/api/v1/me/"),
        "API not found": receptionist.call("GET", "/api/v1/patients/99999999/"),
        "attachment download not found": doctor.call("GET", "/api/v1/attachments/99999999/download/"),
        "API docs": anonymous.call("GET", "/api/v1/docs/"),
        "FHIR read": receptionist.client.get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT=FHIR),
        "FHIR metadata": anonymous.client.get("/fhir/R4/metadata", HTTP_ACCEPT=FHIR),
        "FHIR refusal": anonymous.client.get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT=FHIR),
        "calendar file of a booking": client.get(ics, HTTP_HOST=host),
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/sign-in/", {"identifier": patient.email}, HTTP_HOST=host)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert client.post("/portal/code/", {"code": code}, HTTP_HOST=host)["Location"] == "/portal/"
    responses["portal home"] = client.get("/portal/", HTTP_HOST=host)
    responses["portal profile"] = client.get("/portal/details/", HTTP_HOST=host)
    client.force_login(clinic.receptionist)
    responses |= {
        "home as staff": client.get("/", HTTP_HOST=host),
        "desk": client.get(f"/desk/{clinic.branch.pk}/?day={MONDAY}", HTTP_HOST=host),
        "book feed": client.get(f"/desk/{clinic.branch.pk}/feed/?day={MONDAY}", HTTP_HOST=host),
        "appointment panel": client.get(f"/desk/appointments/{booked.pk}/panel/", HTTP_HOST=host),
        "patient search": client.get("/patients/?q=Greta", HTTP_HOST=host),
        "page not found as staff": client.get("/no-such-page/", HTTP_HOST=host),
        "refused page as staff": client.get("/settings/staff/", HTTP_HOST=host),
    }
    # then none of them may be kept by a browser or a proxy
    assert responses["calendar file of a booking"]["Content-Type"].startswith("text/calendar")
    assert responses["portal home"].status_code == 200
    assert responses["desk"].status_code == 200
    assert responses["page not found as staff"].status_code == 404
    assert responses["refused page as staff"].status_code == 403
    assert booked.patient.last_name.encode() in responses["book feed"].content  # the book's data names a patient
    assert booked.patient.last_name.encode() in responses["appointment panel"].content
    for name, response in responses.items():
        _assert_no_store(response, name)


def test_public_files_keep_their_caching():
    from config.middleware import NoStoreMiddleware

    # given a response that is neither private nor a download: a static file to an anonymous visitor
    request = RequestFactory().get("/static/frontend/app.css")
    static = HttpResponse("body {}", content_type="text/css")
    static["Cache-Control"] = "max-age=31536000, public, immutable"
    # when it passes the middleware
    response = NoStoreMiddleware(lambda _request: static)(request)
    # then its caching is left alone
    assert response["Cache-Control"] == "max-age=31536000, public, immutable"
    assert not response.has_header("Pragma")


# --- Production settings -------------------------------------------------------------------------------


def _production(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLINICFLOW_"))}
    environ |= {"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)}
    return subprocess.run(  # noqa: S603 -- this interpreter, with code written in this module
        [sys.executable, "-c", code], cwd=ROOT, env=environ | env, capture_output=True, text=True, check=False
    )


SETTINGS_DUMP = """
import json, django
django.setup()
from django.conf import settings as s
names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "X_FRAME_OPTIONS",
         "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY", "DEBUG"]
print(json.dumps({n: getattr(s, n) for n in names}))
"""


def test_production_settings_force_https_and_strict_headers():
    # given the production settings with only a secret key set
    # when they are loaded
    result = _production(SETTINGS_DUMP)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    # then https is enforced for a year on every subdomain, cookies are secure, headers strict
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "DEBUG": False,
    }
    # and a deployment whose proxy redirects to https itself can switch Django's redirect off
    switched = _production(SETTINGS_DUMP, DJANGO_SECURE_SSL_REDIRECT="0")
    assert json.loads(switched.stdout)["SECURE_SSL_REDIRECT"] is False


def test_production_passes_the_deployment_check_and_refuses_the_default_key():
    # given the production settings
    # when Django's deployment check runs, failing on any warning
    check = _production(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    # then it finds nothing
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no issues" in check.stdout
    # and the settings refuse to load without a real secret key
    insecure = _production(SETTINGS_DUMP, DJANGO_SECRET_KEY="insecure-development-key-change-me")
    assert insecure.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in insecure.stderr


def test_https_redirect_and_hsts_apply_in_production_mode(client, chain_a, settings):
    # given the production security settings on a request that arrived over plain http
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # when a page is asked for over http, then over https behind the proxy
    plain = client.get("/accounts/login/", HTTP_HOST=chain_a.host)
    secure = client.get("/accounts/login/", HTTP_HOST=chain_a.host, HTTP_X_FORWARDED_PROTO="https")
    # then http is sent to https, and https answers with HSTS covering every chain's subdomain
    assert plain.status_code == 301
    assert plain["Location"] == f"https://{chain_a.host}/accounts/login/"
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
