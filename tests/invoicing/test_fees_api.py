"""The fees API: the policy (owners change it, billing reads it, bad input refused beside its field),
a late cancellation the patient asked for through the scheduling API raises the fee, the fees list
and waive (billing yes, reception no, doctors nothing), the card on file read and removed."""

from __future__ import annotations

import pytest
import time_machine
from django_tenants.utils import schema_context

from invoicing.fees import FeeCharge, FeePolicy, FeeRule, FeeStatus
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn
from tenants.audit.models import AccessLog
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

BASE = "/api/v1/invoicing"


@pytest.fixture
def clinic(chain_a):
    with schema_context(chain_a.schema):
        clinic = priced(clinic_setup(chain_a, doctors=1))
        fees.fee_policy_update(
            actor=chain_a.users["owner"],
            no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500),
            late_cancellation=FeeRuleIn(FeeRule.PERCENT, percent_bp=2000),
        )
        return clinic


def _policy(chain):
    with schema_context(chain.schema):
        p = FeePolicy.objects.get()
        return (p.no_show_rule, p.no_show_amount_minor, p.late_cancel_rule, p.late_cancel_percent_bp)


def test_the_owner_sets_the_policy_billing_reads_it_and_may_not_change_it(clinic, chain_a, api):
    body = {
        "no_show_rule": "fixed",
        "no_show_amount_minor": 3000,
        "late_cancel_rule": "percent",
        "late_cancel_percent_bp": 5000,
    }
    # when the owner puts a policy
    put = api(chain_a, "owner").call("PUT", f"{BASE}/fee-policy/", body)
    # then it is the chain's, and billing reads it
    assert put.status_code == 200, put.content
    read = api(chain_a, "billing").call("GET", f"{BASE}/fee-policy/")
    assert read.json()["no_show_amount_minor"] == 3000
    # when billing tries to change it, or the owner sends a fixed fee of nothing, then nothing changes
    assert_error(api(chain_a, "billing").call("PUT", f"{BASE}/fee-policy/", {**body, "no_show_amount_minor": 1}), 403)
    refused = assert_error(
        api(chain_a, "owner").call("PUT", f"{BASE}/fee-policy/", {**body, "no_show_amount_minor": 0}), 400
    )
    assert "no_show_amount_minor" in refused["fields"]
    assert _policy(chain_a) == ("fixed", 3000, "percent", 5000)
    # and a doctor may not read it
    assert_error(api(chain_a, "doctor").call("GET", f"{BASE}/fee-policy/"), 403)


def test_a_late_cancellation_the_patient_asked_for_raises_the_fee_and_billing_waives_it(clinic, chain_a, api):
    # given a visit at 10:00, and it is 08:00 (inside the 24-hour window)
    with schema_context(chain_a.schema):
        appointment = book(clinic, clinic.at(MONDAY, 10))
    desk = api(chain_a, "receptionist")
    with time_machine.travel(clinic.at(MONDAY, 8), tick=False):
        # when reception records the patient's call to cancel
        answer = desk.call(
            "POST",
            f"/api/v1/appointments/{appointment.pk}/cancel/",
            {"reason": "Patient phoned", "patient_asked": True},
        )
    assert answer.status_code == 200, answer.content
    # then a fee of 20 % of the price is listed for billing and reception, logged as a read
    listed = api(chain_a, "billing").call("GET", f"{BASE}/fees/")
    assert listed.status_code == 200
    [fee] = listed.json()["results"]
    assert (fee["kind"], fee["amount_minor"], fee["status"]) == ("late_cancellation", PRICE // 5, "no_card")
    assert desk.call("GET", f"{BASE}/fees/").status_code == 200
    with schema_context(chain_a.schema):
        assert AccessLog.objects.filter(object_type="fee", object_id=str(fee["id"]), action="list").exists()
    # when reception tries to waive it and a doctor to list fees, then they are refused, nothing changes
    assert_error(desk.call("POST", f"{BASE}/fees/{fee['id']}/waive/", {"reason": "Kind"}), 403)
    assert_error(api(chain_a, "doctor").call("GET", f"{BASE}/fees/"), 403)
    with schema_context(chain_a.schema):
        assert FeeCharge.objects.get(pk=fee["id"]).status == FeeStatus.NO_CARD
    # when billing retries without a card, then it is told why; when billing waives, it is waived
    assert_error(api(chain_a, "billing").call("POST", f"{BASE}/fees/{fee['id']}/retry/"), 409, "no_card_on_file")
    waived = api(chain_a, "billing").call("POST", f"{BASE}/fees/{fee['id']}/waive/", {"reason": "Family emergency"})
    assert waived.status_code == 200, waived.content
    assert waived.json()["status"] == "waived"
    assert_error(
        api(chain_a, "billing").call("POST", f"{BASE}/fees/{fee['id']}/waive/", {"reason": "x"}),
        409,
        "fee_not_waivable",
    )


def test_the_clinics_own_cancellation_through_the_api_carries_no_fee(clinic, chain_a, api):
    with schema_context(chain_a.schema):
        appointment = book(clinic, clinic.at(MONDAY, 10))
    with time_machine.travel(clinic.at(MONDAY, 8), tick=False):
        answer = api(chain_a, "receptionist").call(
            "POST", f"/api/v1/appointments/{appointment.pk}/cancel/", {"reason": "Doctor ill"}
        )
    assert answer.status_code == 200
    assert answer.json()["late_cancellation"] is True
    with schema_context(chain_a.schema):
        assert not FeeCharge.objects.exists()


def test_no_card_on_file_reads_null_and_removing_it_is_refused(clinic, chain_a, api):
    with schema_context(chain_a.schema):
        patient = clinic.patient()
    desk = api(chain_a, "receptionist")
    read = desk.call("GET", f"{BASE}/patients/{patient.pk}/card/")
    assert read.status_code == 200
    assert read.json() == {"card": None}
    assert_error(desk.call("DELETE", f"{BASE}/patients/{patient.pk}/card/"), 409, "no_card_on_file")
    assert_error(api(chain_a, "doctor").call("GET", f"{BASE}/patients/{patient.pk}/card/"), 403)
