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
from tenants.models import StripeConnection
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
    gone = client.post(
        f"/patients/{patient.pk}/card/", {"reason": "Patient asked", "confirm": "1"}, HTTP_HOST=in_a.host, follow=True
    )
    # then the page says there is none
    assert b"No card on file" in gone.content
    card.refresh_from_db()
    assert card.removed_at is not None


def test_the_fees_list_says_whose_words_an_error_is_and_offers_retry_only_where_it_can_work(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe
):
    # given a declined fee (Stripe's words) and a fee the patient has no card for
    declined = _failed_fee(clinic, stripe_fake)
    patient = clinic.patient("Ezra")
    start = clinic.at(MONDAY, 11)
    sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=book(clinic, start, patient=patient), now=start + timedelta(hours=1)
    )
    no_card = FeeCharge.objects.get(patient=patient)
    # when billing opens the list
    sign_in(client, in_a.users["billing"])
    html = client.get(LIST, HTTP_HOST=in_a.host).content.decode()
    # then Stripe's decline is Stripe's, the no-card fee says why it cannot be retried instead of a Retry
    assert "Stripe said: Your card was declined." in html
    assert f'aria-label="Retry the fee of {declined.patient}"' in html
    assert f'aria-label="Retry the fee of {patient}"' not in html
    assert "Cannot be retried: no card on file." in html
    # and patients and invoice numbers are links, the number kept on one line, the policy linked
    assert f'<a href="/patients/{patient.pk}/">{patient}</a>' in html
    number = no_card.invoice.number
    assert f'<td class="nowrap"><a href="/billing/invoices/{no_card.invoice_id}/">{number}</a></td>' in html
    assert '<a href="/settings/fees/">The fee policy</a>' in html
    # when the chain's Stripe account is not connected, an app message is not Stripe's and retry is not offered
    FeeCharge.objects.filter(pk=declined.pk).update(
        last_error="The chain's Stripe account is not connected.", last_error_by_stripe=False
    )
    StripeConnection.objects.update(charges_enabled=False)
    html = client.get(LIST, HTTP_HOST=in_a.host).content.decode()
    assert "Not charged: The chain&#x27;s Stripe account is not connected." in html
    assert "Stripe said" not in html
    assert ">Retry</button>" not in html
    assert "Cannot be retried: the clinic&#x27;s Stripe account is not connected." in html


def test_a_waived_fee_shows_no_stale_error(clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe):
    # given a declined fee
    failed = _failed_fee(clinic, stripe_fake)
    # when the owner waives it
    sign_in(client, in_a.users["owner"])
    client.post(f"/billing/fees/{failed.pk}/waive/", {"reason": "In hospital"}, HTTP_HOST=in_a.host)
    # then its row says waived, not the old decline
    html = client.get(LIST, HTTP_HOST=in_a.host).content.decode()
    assert "Waived: In hospital" in html
    assert "Your card was declined." not in html
    failed.refresh_from_db()
    assert failed.last_error == ""


def test_removing_a_card_asks_first_and_a_post_without_the_answer_changes_nothing(
    clinic, in_a: Chain, client: Any, stripe_fake: FakeStripe
):
    # given a patient with a visa on file, and reception on the card page
    patient = clinic.patient("Carla")
    card = card_saved(patient, stripe_fake, "pm_card_visa")
    sign_in(client, in_a.users["receptionist"])
    url = f"/patients/{patient.pk}/card/"
    page = client.get(url, HTTP_HOST=in_a.host).content.decode()
    assert f'href="{url}?remove=1">Remove card…</a>' in page
    assert "Yes, remove the card" not in page
    # when reception asks to remove it (a POST without the answer, as an old form would send)
    asked = client.post(url, {"reason": "Patient asked"}, HTTP_HOST=in_a.host).content.decode()
    # then the page asks, and the card is still on file
    assert "Remove Visa ending 4242?" in asked
    assert "Yes, remove the card" in asked
    card.refresh_from_db()
    assert card.removed_at is None
    # when reception confirms, then it is removed
    gone = client.post(url, {"reason": "Patient asked", "confirm": "1"}, HTTP_HOST=in_a.host, follow=True)
    assert b"No card on file" in gone.content
    card.refresh_from_db()
    assert card.removed_at is not None


def test_the_policy_form_shows_the_field_of_the_chosen_rule_and_names_the_currency_by_its_code(
    clinic, in_a: Chain, client: Any
):
    sign_in(client, in_a.users["owner"])
    html = client.get(SETTINGS, HTTP_HOST=in_a.host).content.decode()
    # each amount and percentage names the rule it is for (fees.js hides the others; without it all show)
    assert 'data-choice="no_show"' in html
    assert 'data-choice-for="no_show:fixed"' in html
    assert 'data-choice-for="late_cancel:percent"' in html
    assert '<script src="/static/frontend/fees.js" defer></script>' in html
    # and the currency is named one way, by its code
    assert "No-show fee: amount in GBP" in html
    assert "chain&#x27;s currency" not in html


def test_billing_reads_the_fee_policy_but_only_owners_change_it(clinic, in_a: Chain, client: Any):
    # given billing on the fee policy page
    before = list(FeePolicy.objects.values())
    sign_in(client, in_a.users["billing"])
    page = client.get(SETTINGS, HTTP_HOST=in_a.host)
    # then the policy reads in words, with no form to save
    html = page.content.decode()
    assert page.status_code == 200
    assert "<dt>No-show fee</dt><dd>£25.00</dd>" in html
    assert "Save fee policy" not in html
    # when billing posts a change anyway, then it is refused and nothing changed
    refused = client.post(SETTINGS, {"no_show_rule": "none", "late_cancel_rule": "none"}, HTTP_HOST=in_a.host)
    assert refused.status_code == 403
    assert list(FeePolicy.objects.values()) == before


def test_the_fees_list_gives_each_visits_time_on_its_branchs_clock(clinic, in_a: Chain, client: Any):
    from zoneinfo import ZoneInfo

    from django.template.defaultfilters import date as date_filter
    from django.utils.timezone import localtime

    from tenants.org.models import Branch

    # given a missed visit's fee at a branch whose clock is nine hours ahead of UTC all year
    patient = clinic.patient("Ezra")
    start = clinic.at(MONDAY, 11)
    missed = sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=book(clinic, start, patient=patient), now=start + timedelta(hours=1)
    )
    Branch.objects.filter(pk=missed.branch_id).update(timezone="Asia/Tokyo")
    # when billing opens the fees list
    sign_in(client, in_a.users["billing"])
    html = client.get(LIST, HTTP_HOST=in_a.host).content.decode()
    # then the visit's time reads as on the branch's wall clock, not in UTC
    on_the_wall = date_filter(localtime(missed.span.lower, ZoneInfo("Asia/Tokyo")), "SHORT_DATETIME_FORMAT")
    in_utc = date_filter(localtime(missed.span.lower, ZoneInfo("UTC")), "SHORT_DATETIME_FORMAT")
    assert on_the_wall != in_utc
    assert on_the_wall in html
    assert in_utc not in html
