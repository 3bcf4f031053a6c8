"""Who sees which rows of the work lists, over every work-list endpoint and page.

Two branches of chain A, each with its doctor, patients seen there, follow-ups, an invoice still owed
and a package with sessions left. Each reader (anonymous, a patient, reception, a doctor, billing, the
manager of the other branch, the branch's manager, the owner, and a user of chain B) asks every list,
its counts, its CSV and its page: what each is answered is exactly the rows they may see, a refusal
writes nothing (not even an access-log row), and every answer or file naming patients is in the log."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_tenants.utils import schema_context

from invoicing.models import Invoice
from packages import services as pkg
from packages.models import PackagePurchase
from patients.models import FollowUp, Patient
from patients.portal import portal_user_for
from patients.services import care_team_assign
from reporting import worklists as wl
from tenants.audit.models import AccessLog
from tenants.org.models import Role
from tests.factories import Chain, user_with_roles
from tests.factories.invoicing import priced
from tests.factories.packages import product, sold
from tests.factories.scheduling import MONDAY, Clinic, clinic_setup
from tests.helpers import Api, assert_error, sign_in
from tests.reporting.test_worklists import TODAY, follow_up, now_at, paid_visit, visit

pytestmark = pytest.mark.django_db

READERS = [
    "anonymous",
    "patient",
    "receptionist",
    "doctor",
    "billing",
    "other_manager",
    "branch_manager",
    "owner",
    "other_chain",
]
API = "/api/v1/reports"


@dataclass
class World:
    chain: Chain
    here: Clinic
    there: Clinic
    users: dict[str, Any]
    follow_ups: dict[str, FollowUp]
    invoices: dict[str, Invoice]
    packages: dict[str, PackagePurchase]
    patients: dict[str, Patient] = field(default_factory=dict)


def _world(chain: Chain) -> World:
    """Branch 1 ("here": reception, billing and the manager work there) and branch 2 ("there")."""
    here = priced(clinic_setup(chain, doctors=1))
    there = priced(clinic_setup(chain, branch=chain.branches[1], doctors=1))
    owner = chain.users["owner"]
    mine, owing, theirs = here.patient("Harriet"), here.patient("Hugo"), there.patient("Theo")
    # Harriet was seen here and paid; her doctor and a colleague from the other branch each want her back
    paid_visit(here, mine)
    care_team_assign(actor=owner, patient=mine, doctor=there.doctors[0])
    here_fu = follow_up(here, mine, due=MONDAY + timedelta(days=7))
    colleague_fu = follow_up(here, mine, due=TODAY + timedelta(days=3), doctor=there.doctors[0])
    # Hugo was seen here and still owes; Theo was seen there, owes, and is to come back
    owing_invoice = visit(here, owing, hour=11)
    there_invoice = visit(there, theirs, desk=owner)
    there_fu = follow_up(there, theirs, due=TODAY + timedelta(days=1))
    # a package with sessions left at each branch
    with time_machine.travel(now_at(here), tick=False):
        here_pkg = sold(here, mine, of=product(here, validity_days=20))
        there_pkg = pkg.package_sell(
            actor=owner, product=product(there, validity_days=90), patient=theirs, branch=there.branch
        )
    other_manager = user_with_roles(
        email="manager.two@alpha.example", roles=[Role.BRANCH_MANAGER], branches=[there.branch]
    )
    users = {
        "receptionist": chain.users["receptionist"],
        "billing": chain.users["billing"],
        "branch_manager": chain.users["branch_manager"],
        "owner": owner,
        "doctor": here.doctors[0].user,
        "other_manager": other_manager,
        "patient": portal_user_for(patient=mine),
    }
    return World(
        chain=chain,
        here=here,
        there=there,
        users=users,
        follow_ups={"here": here_fu, "colleague": colleague_fu, "there": there_fu},
        # each sale's invoice is owed too
        invoices={
            "here": owing_invoice,
            "there": there_invoice,
            "here_package": Invoice.objects.get(package_sale__purchase=here_pkg),
            "there_package": Invoice.objects.get(package_sale__purchase=there_pkg),
        },
        packages={"here": here_pkg, "there": there_pkg},
        patients={"Harriet": mine, "Hugo": owing, "Theo": theirs},
    )


# What each reader sees of each list (the keys of World's rows); None: refused.
SEES: dict[str, dict[str, set[str] | None]] = {
    "call-backs": {
        "owner": {"here", "colleague", "there"},
        "branch_manager": {"here", "colleague"},
        "other_manager": {"there"},
        "receptionist": {"here", "colleague"},
        "doctor": {"here", "colleague"},  # hers, and her patient's with a colleague
        "billing": None,
        "patient": None,
    },
    "receivables": {
        "owner": {"here", "there", "here_package", "there_package"},
        "branch_manager": {"here", "here_package"},
        "other_manager": {"there", "there_package"},
        "billing": {"here", "here_package"},
        "receptionist": None,
        "doctor": None,
        "patient": None,
    },
    "packages": {
        "owner": {"here", "there"},
        "branch_manager": {"here"},
        "other_manager": {"there"},
        "billing": {"here"},
        "receptionist": None,
        "doctor": None,
        "patient": None,
    },
}
# Each list's summary endpoint (counts or totals).
SUMMARY = {"call-backs": "call-backs/counts/", "receivables": "receivables/aging/", "packages": "packages/products/"}
# Who each list's rows are (the patients the page and the file name).
PATIENT_OF = {
    "call-backs": {"here": "Harriet", "colleague": "Harriet", "there": "Theo"},
    "receivables": {"here": "Hugo", "there": "Theo", "here_package": "Harriet", "there_package": "Theo"},
    "packages": {"here": "Harriet", "there": "Theo"},
}


def _ids(w: World, name: str, keys: set[str]) -> set[int]:
    records = {"call-backs": w.follow_ups, "receivables": w.invoices, "packages": w.packages}[name]
    return {records[k].pk for k in keys}


def _row_id(name: str, row: dict[str, Any]) -> int:
    return int(row[{"call-backs": "follow_up", "receivables": "invoice", "packages": "purchase"}[name]])


def _api(w: World, who: str, chain_b: Chain) -> Any:
    if who == "anonymous":
        return Api(w.chain.host)
    if who == "other_chain":
        client = Api(w.chain.host)
        client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {Api(chain_b.host, chain_b.email('owner')).token}"
        return client
    if who == "patient":  # a patient signs in to the portal with a code: a session, no token
        client = Api(w.chain.host)
        with schema_context(w.chain.schema):
            client.client.force_login(w.users["patient"])
        return client
    return Api(w.chain.host, w.users[who].email)


def _page_client(w: World, who: str, chain_b: Chain) -> Client:
    client = Client(HTTP_HOST=w.chain.host)
    if who == "other_chain":
        with schema_context(chain_b.schema):
            sign_in(client, chain_b.users["owner"])  # a session of chain B: unknown at chain A
    elif who == "patient":
        with schema_context(w.chain.schema):
            client.force_login(w.users["patient"])
    elif who != "anonymous":
        with schema_context(w.chain.schema):
            sign_in(client, w.users[who])
    return client


def _log(w: World) -> list[tuple[str, str, int | None]]:
    with schema_context(w.chain.schema):
        return list(AccessLog.objects.order_by("id").values_list("action", "object_type", "patient_id"))


def _expected(w: World, name: str, who: str) -> set[int] | None:
    if who in ("anonymous", "other_chain"):
        return None
    keys = SEES[name][who]
    return None if keys is None else _ids(w, name, keys)


@pytest.fixture
def world(in_a: Chain) -> World:
    return _world(in_a)


@pytest.mark.parametrize("who", READERS)
def test_every_work_list_endpoint_answers_each_reader_with_exactly_their_rows(world, chain_b, who):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _api(w, who, chain_b)
        for name in SEES:
            expected = _expected(w, name, who)
            before = _log(w)
            # when the reader asks for the list, its summary and its file
            listed = client.call("GET", f"{API}/{name}/")
            summary = client.call("GET", f"{API}/{SUMMARY[name]}")
            exported = client.call("GET", f"{API}/{name}/?format=csv")
            after = _log(w)
            if expected is None:
                # then a refusal: 401 for nobody (or another chain's key), 403 for a reader without the list
                status = 401 if who in ("anonymous", "other_chain") else 403
                for response in (listed, summary, exported):
                    assert_error(response, status)
                assert after == before, f"{who} was refused {name} but something was written"
                continue
            # then the list has exactly the rows this reader may see
            assert listed.status_code == 200, (who, name, listed.content[:300])
            body = listed.json()
            assert {_row_id(name, r) for r in body["results"]} == expected, (who, name)
            assert body["count"] == len(expected)
            # and the file names the same patients, and no other
            assert exported.status_code == 200
            assert exported["Content-Type"].startswith("text/csv")
            lines = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
            names = {PATIENT_OF[name][k] for k in SEES[name][who] or ()}
            assert {line["Patient"].split()[0] for line in lines} == names
            assert len(lines) == len(expected)
            # and the answer and the file are in the access log, each row under its patient
            new = after[len(before) :]
            shown = {p.pk for n, p in w.patients.items() if n in names}
            assert {p for action, _, p in new if action == "list"} == shown
            assert {p for action, _, p in new if action == "export"} == shown
            assert summary.status_code == 200
        # and what each reader reads of a follow-up's reason
        if who in ("receptionist",):
            rows = client.call("GET", f"{API}/call-backs/").json()["results"]
            assert all(r["reason"].startswith("Follow-up with") and not r["reason_shown"] for r in rows)
            assert not any("Review" in r["reason"] for r in rows)
        if who in ("owner", "branch_manager", "doctor"):
            rows = client.call("GET", f"{API}/call-backs/").json()["results"]
            assert all(r["reason"].startswith("Review") and r["reason_shown"] for r in rows)


def test_billing_reads_no_follow_up_and_no_clinical_detail(world, chain_b):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        billing = _api(w, "billing", chain_b)
        texts = [billing.call("GET", f"{API}/{path}").content for path in ("receivables/", "packages/")]
        assert_error(billing.call("GET", f"{API}/call-backs/counts/"), 403)
    assert not any(b"Review" in text for text in texts)


@pytest.mark.parametrize(
    ("who", "name", "branch"),
    [
        ("branch_manager", "receivables", "there"),
        ("branch_manager", "call-backs", "there"),
        ("other_manager", "packages", "here"),
        ("billing", "receivables", "there"),
        ("receptionist", "call-backs", "there"),
    ],
)
def test_asking_for_another_branch_is_refused_and_writes_nothing(world, chain_b, who, name, branch):
    w = world
    branch_id = (w.here if branch == "here" else w.there).branch.pk
    with time_machine.travel(now_at(w.here), tick=True):
        client = _api(w, who, chain_b)
        before = _log(w)
        for path in (f"{name}/", SUMMARY[name], f"{name}/?format=csv&"):
            sep = "" if path.endswith("&") else "?"
            response = client.call("GET", f"{API}/{path}{sep}branch={branch_id}")
            assert_error(response, 403, "report_branch_not_in_reach")
        assert _log(w) == before


def test_a_doctor_asking_for_another_doctors_follow_ups_is_refused(world, chain_b):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _api(w, "doctor", chain_b)
        before = _log(w)
        response = client.call("GET", f"{API}/call-backs/?doctor={w.there.doctors[0].pk}")
        assert_error(response, 403, "report_doctor_not_in_reach")
        assert _log(w) == before


def test_a_doctor_narrows_the_call_back_page_to_her_own_and_may_not_ask_for_a_colleagues(world, chain_b):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _page_client(w, "doctor", chain_b)
        page = client.get("/reports/call-backs/")
        # she may narrow the list to herself, as the API lets her
        assert page.status_code == 200
        assert re.search(r'<select name="doctor"', page.content.decode())
        before = _log(w)
        # and a colleague's follow-ups are refused on the page as in the API, nothing read
        other = client.get(f"/reports/call-backs/?doctor={w.there.doctors[0].pk}")
        assert other.status_code == 400
        assert "Theo" not in other.content.decode()
        assert _log(w) == before


@pytest.mark.parametrize("bad", ["bucket=soon", "branch=x", "branch=0", "doctor=-1", "format=pdf", "page=999"])
def test_bad_input_is_a_4xx_with_a_code_and_writes_nothing(world, chain_b, bad):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _api(w, "owner", chain_b)
        before = _log(w)
        response = client.call("GET", f"{API}/call-backs/?{bad}")
        assert_error(response, 404 if bad.startswith("page") else 400)
        assert _log(w) == before


PAGES = {"call-backs": "/reports/call-backs/", "receivables": "/reports/receivables/", "packages": "/reports/packages/"}


@pytest.mark.parametrize("who", READERS)
def test_every_work_list_page_shows_each_reader_exactly_their_rows(world, chain_b, who):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _page_client(w, who, chain_b)
        for name, path in PAGES.items():
            expected = _expected(w, name, who)
            before = _log(w)
            page = client.get(path)
            download = client.get(f"{path}?format=csv")
            after = _log(w)
            if who in ("anonymous", "other_chain"):
                # then the sign-in page, and nothing read
                assert page.status_code == 302
                assert "/accounts/login/" in page["Location"]
                assert after == before
                continue
            if expected is None:
                assert page.status_code == download.status_code == 403, (who, name)
                assert after == before
                continue
            assert page.status_code == 200, (who, name)
            html = page.content.decode()
            names = {PATIENT_OF[name][k] for k in SEES[name][who] or ()}
            for patient_name in ("Harriet", "Hugo", "Theo"):
                assert (patient_name in html) is (patient_name in names), (who, name, patient_name)
            assert download.status_code == 200
            assert download["Content-Disposition"].startswith('attachment; filename="')
            new = after[len(before) :]
            shown = {p.pk for n, p in w.patients.items() if n in names}
            assert {p for action, _, p in new if action == "list"} == shown
            assert {p for action, _, p in new if action == "export"} == shown
            if name == "call-backs":
                # reception reads who the follow-up is with; the others its reason
                assert ("Review" in html) is (who != "receptionist")


def test_a_page_asked_for_a_branch_the_reader_does_not_see_reads_nothing(world, chain_b):
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _page_client(w, "branch_manager", chain_b)
        before = _log(w)
        response = client.get(f"/reports/receivables/?branch={w.there.branch.pk}")
        assert response.status_code == 400
        assert "Theo" not in response.content.decode()
        assert _log(w) == before


def test_an_export_longer_than_one_file_holds_is_refused_and_writes_nothing(world, chain_b, monkeypatch):
    # given files of at most two rows, and three follow-ups the owner sees
    monkeypatch.setattr(wl, "EXPORT_MAX_ROWS", 2)
    w = world
    with time_machine.travel(now_at(w.here), tick=True):
        client = _api(w, "owner", chain_b)
        before = _log(w)
        # when the owner asks for all of them as a file
        response = client.call("GET", f"{API}/call-backs/?format=csv")
        # then it is refused, naming the format, and nothing was read
        error = assert_error(response, 400, "validation_error")
        assert "format" in error["fields"]
        assert _log(w) == before
        # and one branch's fit
        assert client.call("GET", f"{API}/call-backs/?format=csv&branch={w.here.branch.pk}").status_code == 200
