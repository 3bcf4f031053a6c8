"""Who sees what of every reporting endpoint (/api/v1/reports/: figures, money, messages, load and the
appointments behind a figure, as JSON and as a file): anonymous, a patient, reception, a doctor (her
own only), billing (the money, no clinical detail), a branch manager (her branch), the owner (all)
and a user of another chain. Each is asserted on what the answer shows (rows and numbers), not only
its status; an answer naming patients writes access-log rows, a refusal writes none.

The data: two days at two branches (tests/reporting/report_world.py); the chain's branch manager,
billing and reception work at the first branch (the day clinic), the night clinic is the second."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.db.models import Q
from django_tenants.utils import schema_context

from invoicing.models import Invoice, InvoiceStatus
from notifications.models import Message
from patients.portal import portal_user_for
from scheduling.models import Appointment
from tenants.accounts.services import api_token_issue
from tenants.audit.models import AccessLog
from tests.helpers import Api, assert_error
from tests.reporting.report_world import ZONE, World, lived

pytestmark = pytest.mark.django_db

WHO = ["anonymous", "other chain", "patient", "receptionist", "billing", "doctor", "branch_manager", "owner"]
ENDPOINTS = ["figures", "money", "messages", "load", "appointments", "appointments.csv"]


@pytest.fixture
def world(in_a) -> World:
    return lived(in_a)


def _logged(chain) -> int:
    """The last access-log row of the chain (a request to another chain leaves the connection there)."""
    with schema_context(chain.schema):
        return AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _client(api, chain_a, chain_b, world: World, who: str) -> Api:
    if who == "anonymous":
        return api(chain_a)
    if who == "other chain":
        # the owner of chain B, with B's valid token, knocking at A
        client = Api(chain_a.host)
        client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {api(chain_b, 'owner').token}"
        return client
    if who == "patient":
        # a patient of the period signed in to the portal, with a token of their own account
        _, token = api_token_issue(user=portal_user_for(patient=world.visits["first_visit"].patient), client_name="t")
        client = Api(chain_a.host)
        client.client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
        return client
    if who == "doctor":
        # the day clinic's first doctor, who has visits and invoices in the period
        return api(chain_a, as_email=world.day_clinic.doctors[0].user.email)
    return api(chain_a, who)


def _in_period(world: World) -> Q:
    first = datetime.combine(world.day, time(0), tzinfo=ZONE)
    return Q(due_at__gte=first, due_at__lt=first + timedelta(days=2))


def _expected(world: World, who: str, endpoint: str) -> Any:
    """What each reader sees of the two days: None when refused."""
    b0, b1 = world.day_clinic.branch.pk, world.night.branch.pk
    d0 = world.day_clinic.doctors[0].pk
    branches = {"owner": {b0, b1}, "branch_manager": {b0}, "billing": {b0}, "doctor": {b0}}.get(who)
    reads_figures = who in ("owner", "branch_manager", "doctor")
    in_period = {
        n for n in world.visits if n not in ("night_out", "night_before")
    }  # the twelve bookings of the two days
    if endpoint == "money":
        if branches is None:
            return None
        issued = Invoice.objects.exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])
        if who == "doctor":
            issued = issued.filter(appointment__doctor_id=d0)
        return {b: sum(i.total_minor for i in issued if i.branch_id == b) for b in branches}
    if not reads_figures:
        return None
    visits = [world.visits[n] for n in in_period]
    if who == "branch_manager":
        visits = [a for a in visits if a.branch_id == b0]
    if who == "doctor":
        visits = [a for a in visits if a.doctor_id == d0]
    if endpoint == "figures":
        seen: dict[int, int] = {}
        for a in visits:
            seen[a.branch_id] = seen.get(a.branch_id, 0) + 1
        return seen
    if endpoint == "messages":
        if who == "doctor":
            return 0  # messages are the branch's, not one doctor's
        messages = Message.objects.filter(_in_period(world))
        return messages.count() if who == "owner" else messages.filter(branch_id=b0).count()
    if endpoint == "load":
        doctors = {d.pk for d in world.day_clinic.doctors} | {world.night.doctors[0].pk}
        return {"owner": doctors, "branch_manager": {d.pk for d in world.day_clinic.doctors}, "doctor": {d0}}[who]
    return {a.pk for a in visits}


def _seen(world: World, endpoint: str, response) -> Any:
    if endpoint == "appointments.csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        return {int(r["Appointment"]) for r in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))}
    body = response.json()
    if endpoint == "figures":
        return {r["key"]: r["bookings"] for r in body["rows"]}
    if endpoint == "money":
        return {r["key"]: r["invoiced_minor"] for r in body["rows"]}
    if endpoint == "messages":
        return sum(r["messages"] for r in body["rows"])
    if endpoint == "load":
        return {r["doctor_id"] for r in body["rows"]}
    return {r["id"] for r in body["results"]}


def _ask(client: Api, world: World, endpoint: str):
    period = {"from": world.day.isoformat(), "to": (world.day + timedelta(days=1)).isoformat()}
    report, _, fmt = endpoint.partition(".")
    params: dict[str, Any] = {**period, "group": "branch"} if report in ("figures", "money") else dict(period)
    if report == "appointments":
        params |= {"figure": "bookings", "page_size": 100}
    if fmt:
        params["format"] = fmt
    return client.client.get(f"/api/v1/reports/{report}/", params)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", WHO)
def test_each_reader_sees_what_they_may(api, chain_a, chain_b, world, who, endpoint):
    expected = _expected(world, who, endpoint.partition(".")[0])
    client = _client(api, chain_a, chain_b, world, who)
    logged = _logged(chain_a)
    # when the reader asks for the two days
    response = _ask(client, world, endpoint)
    # then they see exactly what their role reaches, or are refused with the app's error body
    if who in ("anonymous", "other chain"):
        assert_error(response, 401)
    elif expected is None:
        assert_error(response, 403, "permission_denied")
    else:
        assert response.status_code == 200, response.content[:300]
        assert _seen(world, endpoint, response) == expected
    # and the patients an answer names are in the access log; a refusal logs nothing
    with schema_context(chain_a.schema):
        added = list(AccessLog.objects.filter(pk__gt=logged))
        if endpoint.startswith("appointments") and expected is not None and who not in ("anonymous", "other chain"):
            assert {int(r.object_id) for r in added} == expected
            assert {r.action for r in added} == ({"export"} if endpoint.endswith("csv") else {"list"})
            assert {r.patient_id for r in added} == set(
                Appointment.objects.filter(pk__in=expected).values_list("patient_id", flat=True)
            )
        else:
            assert added == []


def test_a_doctor_asking_for_a_colleague_is_refused_and_sees_nothing(api, chain_a, world):
    colleague = world.day_clinic.doctors[1].pk
    doctor = api(chain_a, as_email=world.day_clinic.doctors[0].user.email)
    logged = _logged(chain_a)
    period = {"from": world.day.isoformat(), "to": (world.day + timedelta(days=1)).isoformat()}
    for report, extra in (
        ("figures", {}),
        ("money", {}),
        ("load", {}),
        ("appointments", {"figure": "bookings"}),
        ("appointments", {"figure": "bookings", "format": "csv"}),
    ):
        response = doctor.client.get(f"/api/v1/reports/{report}/", {**period, **extra, "doctor": colleague})
        error = assert_error(response, 403, "report_doctor_not_in_reach")
        assert str(colleague) not in error["message"]
    assert _logged(chain_a) == logged


def test_a_manager_asking_for_another_branch_is_refused(api, chain_a, world):
    manager = api(chain_a, "branch_manager")
    billing = api(chain_a, "billing")
    logged = _logged(chain_a)
    period = {"from": world.day.isoformat(), "to": (world.day + timedelta(days=1)).isoformat()}
    other = {"branch": [world.day_clinic.branch.pk, world.night.branch.pk]}
    for client, report, extra in (
        (manager, "figures", {}),
        (manager, "money", {}),
        (manager, "messages", {}),
        (manager, "load", {}),
        (manager, "appointments", {"figure": "no_shows", "format": "xlsx"}),
        (billing, "money", {"format": "csv"}),
    ):
        response = client.client.get(f"/api/v1/reports/{report}/", {**period, **extra, **other})
        assert_error(response, 403, "report_branch_not_in_reach")
    assert _logged(chain_a) == logged
    # her own branch by name is hers
    own = manager.client.get("/api/v1/reports/figures/", {**period, "branch": world.day_clinic.branch.pk})
    assert own.json()["rows"][0]["bookings"] == 10


def test_a_manager_asking_for_a_doctor_of_another_branch_only_is_refused(api, chain_a, world):
    manager = api(chain_a, "branch_manager")
    logged = _logged(chain_a)
    period = {"from": world.day.isoformat(), "to": (world.day + timedelta(days=1)).isoformat()}
    # the night clinic's doctor neither works at the manager's branch nor saw anyone there
    elsewhere = world.night.doctors[0].pk
    for report, extra in (("figures", {}), ("appointments", {"figure": "bookings"})):
        response = manager.client.get(f"/api/v1/reports/{report}/", {**period, **extra, "doctor": elsewhere})
        assert_error(response, 403, "report_doctor_not_in_reach")
    assert _logged(chain_a) == logged
    # a doctor of her own branch is hers to narrow to
    own = manager.client.get("/api/v1/reports/figures/", {**period, "doctor": world.day_clinic.doctors[0].pk})
    assert own.status_code == 200
    assert own.json()["rows"][0]["bookings"] > 0


def test_billing_sees_money_without_clinical_detail(api, chain_a, world):
    billing = api(chain_a, "billing")
    period = {"from": world.day.isoformat(), "to": (world.day + timedelta(days=1)).isoformat()}
    money = billing.client.get("/api/v1/reports/money/", {**period, "group": "doctor"}).json()
    # the money of her branch's visits, by doctor, with nothing of the visits themselves
    assert {r["key"] for r in money["rows"]} == {world.day_clinic.doctors[0].pk}
    assert set(money["rows"][0]) == {
        "key",
        "label",
        "currency",
        "invoices",
        "invoiced_minor",
        "credited_minor",
        "payments",
        "collected_minor",
        "refunds",
        "refunded_minor",
        "net_collected_minor",
    }
    for report in ("figures", "load", "messages"):
        assert_error(billing.client.get(f"/api/v1/reports/{report}/", period), 403, "permission_denied")
