"""Fees pages: the owners' fee policy form (errors beside their fields), the fees list billing works
from (failed first, retry and waive), and the patient's card on file (shown, removed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from invoicing.fees import FeeCharge, FeePolicy, FeeRule, FeeStatus
from invoicing.models import InvoiceStatus
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn, fee_charge_run
from scheduling import services as sched
from tests.factories import Chain
from tests.factories.cards import card_saved, connected
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

SETTINGS = "/settings/fees/"
LIST = "/billing/fees/"


@pytest.fixture
def clinic(in_a: Chain, stripe_fake: FakeStripe):
    clinic = priced(clinic_setup(in_a, doctors=1))
    connected(in_a, stripe_fake)
    fees.fee_policy_update(
        actor=in_a.users["owner"],
        no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500),
        late_cancellation=FeeRuleIn(FeeRule.NONE),
    )
    return clinic


def _failed_fee(clinic, stripe_fake: FakeStripe) -> FeeCharge:
    patient = clinic.patient("Dora")
    card_saved(patient, stripe_fake, "pm_card_chargeDeclined")
    start = clinic.at(MONDAY, 10)
    appointment = book(clinic, start, patient=patient)
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=appointment, now=start + timedelta(hours=1))
    return fee_charge_run(fee_charge_id=FeeCharge.objects.get(appointment=appointment).pk)


def test_the_owner_sets_a_percentage_late_fee_and_a_wrong_amount_is_said_beside_its_field(
    clinic, in_a: Chain, client: Any
):
    # given the owner on the fees page
    sign_in(client, in_a.users["owner"])
    page = client.get(SETTINGS, HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b"<h1>No-show and late-cancellation fees</h1>" in page.content
    assert b"24 hours" in page.content  # the chain's cancellation window, named
    # when she asks a fixed fee of nothing, then the error is beside the amount and nothing changed
    bad = client.post(
        SETTINGS, {"no_show_rule": "fixed", "no_show_amount": "0", "late_cancel_rule": "none"}, HTTP_HOST=in_a.host
    )
    assert bad.status_code == 200
    assert b'id="id_no_show_amount_error"' in bad.content
    assert FeePolicy.objects.get().no_show_amount_minor == 2500
    # when she sets 30 % for late cancellations and 40.00 for no-shows
    sent = client.post(
        SETTINGS,
        {
            "no_show_rule": "fixed",
            "no_show_amount": "40.00",
            "late_cancel_rule": "percent",
            "late_cancel_percent": "30",
        },
        HTTP_HOST=in_a.host,
        follow=True,
    )
    # then the policy holds them in minor units and basis points
    assert b"Fee policy saved." in sent.content
    policy = FeePolicy.objects.get()
    assert (policy.no_show_amount_minor, policy.late_cancel_rule, policy.late_cancel_percent_bp) == (
        4000,
        FeeRule.PERCENT,
        3000,
    )


def test_billing_sees_failed_fees_first_and_retries_one_after_a_new_card(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe
):
    # given a failed no-show fee
    failed = _failed_fee(clinic, stripe_fake)
    # when billing opens the fees list
    sign_in(client, in_a.users["billing"])
    page = client.get(LIST, HTTP_HOST=in_a.host)
    # then the failure is shown in words with Stripe's message, with retry and waive
    assert page.status_code == 200
    assert b"Charge failed" in page.content
    assert b"Your card was declined." in page.content
    assert b">Retry</button>" in page.content
    # when the patient has a new card and billing presses Retry
    card_saved(failed.patient, stripe_fake, "pm_card_visa")
    done = client.post(f"/billing/fees/{failed.pk}/retry/", HTTP_HOST=in_a.host, follow=True)
    # then the fee is pending again (the task charges it after commit)
    assert b"being charged again" in done.content
    failed.refresh_from_db()
    assert failed.status == FeeStatus.PENDING


def test_reception_reads_fees_but_cannot_waive_and_a_doctor_is_refused(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe
):
    # given a failed fee
    failed = _failed_fee(clinic, stripe_fake)
    # when reception opens the list and tries to waive
    sign_in(client, in_a.users["receptionist"])
    page = client.get(LIST, HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b">Waive</button>" not in page.content
    client.post(f"/billing/fees/{failed.pk}/waive/", {"reason": "Kind"}, HTTP_HOST=in_a.host)
    # then nothing changed
    failed.refresh_from_db()
    assert failed.status == FeeStatus.FAILED
    assert failed.invoice.status == InvoiceStatus.ISSUED
    # and a doctor may not see the list
    client.logout()
    sign_in(client, in_a.users["doctor"])
    assert client.get(LIST, HTTP_HOST=in_a.host).status_code == 403


def test_the_owner_waives_a_fee_with_a_reason(clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe):
    failed = _failed_fee(clinic, stripe_fake)
    sign_in(client, in_a.users["owner"])
    done = client.post(f"/billing/fees/{failed.pk}/waive/", {"reason": "In hospital"}, HTTP_HOST=in_a.host, follow=True)
    assert b"waived" in done.content
    failed.refresh_from_db()
    assert failed.status == FeeStatus.WAIVED
    assert failed.waived_reason == "In hospital"


def test_the_card_on_file_is_shown_and_removed(clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe):
    # given a patient with a visa on file
    patient = clinic.patient("Carla")
    card = card_saved(patient, stripe_fake, "pm_card_visa")
    sign_in(client, in_a.users["receptionist"])
    page = client.get(f"/patients/{patient.pk}/card/", HTTP_HOST=in_a.host)
    # then brand, last four and expiry show, never more
    assert page.status_code == 200
    assert b"Visa ending 4242" in page.content
    assert card.expiry.encode() in page.content
    # when reception removes it
    gone = client.post(f"/patients/{patient.pk}/card/", {"reason": "Patient asked"}, HTTP_HOST=in_a.host, follow=True)
    # then the page says there is none
    assert b"No card on file" in gone.content
    card.refresh_from_db()
    assert card.removed_at is not None
