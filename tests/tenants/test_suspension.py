from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tenants.models import Clinic
from tenants.org.models import Branch
from tests.factories import PASSWORD
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_suspended_chain_refuses_api_and_pages_and_keeps_its_data(api, chain_a, client):
    owner = api(chain_a, "owner")
    operator = api(None, as_email="operator@platform.example")
    with schema_context(chain_a.schema):
        branches_before = Branch.objects.count()

    # when the operator suspends chain A
    response = operator.call("POST", f"/api/v1/clinics/{chain_a.clinic.slug}/suspend/", {"reason": "Unpaid invoices"})
    assert response.status_code == 200
    assert response.json()["status"] == "suspended"

    # then its API, its pages and its sign-in refuse with a clear code
    assert_error(owner.call("GET", "/api/v1/branches/"), 403, "clinic_suspended")
    assert_error(
        api(chain_a).call("POST", "/api/v1/auth/login/", {"email": chain_a.email("owner"), "password": PASSWORD}),
        403,
        "clinic_suspended",
    )
    page = client.get("/accounts/login/", HTTP_HOST=chain_a.host)
    assert page.status_code == 403
    assert b"suspended" in page.content
    assert_error(
        operator.call("POST", f"/api/v1/clinics/{chain_a.clinic.slug}/suspend/", {"reason": "again"}),
        409,
        "clinic_state_conflict",
    )

    # and when reactivated, everything is as it was
    assert operator.call("POST", f"/api/v1/clinics/{chain_a.clinic.slug}/reactivate/").json()["status"] == "active"
    assert owner.call("GET", "/api/v1/branches/").json()["count"] == branches_before
    assert Clinic.objects.get(pk=chain_a.clinic.pk).status_reason == ""


def test_suspension_needs_a_reason(api, chain_a):
    operator = api(None, as_email="operator@platform.example")
    error = assert_error(
        operator.call("POST", f"/api/v1/clinics/{chain_a.clinic.slug}/suspend/", {}), 400, "validation_error"
    )
    assert "reason" in error["fields"]
    assert_error(operator.call("POST", "/api/v1/clinics/no-such-chain/suspend/", {"reason": "x"}), 404, "not_found")
