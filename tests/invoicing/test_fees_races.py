"""Fee charges under real concurrency: workers running the charge task for one fee at the same
moment, each on its own connection, send one PaymentIntent to Stripe and record one payment.

The data is committed in chain B's schema (tests/helpers.committed) and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from invoicing.cards import SavedCard, StripeCustomer
from invoicing.fees import FeeCharge, FeeRule, FeeStatus
from invoicing.models import Invoice, InvoiceLine, Payment
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn, fee_charge_run
from scheduling import services as sched
from scheduling.models import CalendarEntry
from tenants.models import StripeConnection
from tests.conftest import WORLD
from tests.factories.cards import card_saved, connected
from tests.factories.invoicing import priced
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db

WORKERS = 4


@pytest.fixture(scope="module")
def fee_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return priced(clinic_setup(chain, branch=chain.branches[0], doctors=1))


@pytest.fixture
def shared(fee_clinic: Clinic, stripe_fake: FakeStripe) -> Iterator[Clinic]:
    with committed(), schema_context(fee_clinic.chain.schema):
        connected(fee_clinic.chain, stripe_fake)
        fees.fee_policy_update(
            actor=fee_clinic.owner,
            no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500),
            late_cancellation=FeeRuleIn(),
        )
    yield fee_clinic
    with committed(), schema_context(fee_clinic.chain.schema):
        Payment.objects.filter(invoice__fee_charge__isnull=False).delete()
        fee_invoices = list(FeeCharge.objects.values_list("invoice_id", flat=True))
        FeeCharge.objects.all().delete()
        InvoiceLine.objects.filter(invoice_id__in=fee_invoices).delete()
        Invoice.objects.filter(pk__in=fee_invoices).delete()
        SavedCard.objects.all().delete()
        StripeCustomer.objects.all().delete()
        CalendarEntry.objects.filter(doctor__in=fee_clinic.doctors).delete()
        StripeConnection.objects.filter(clinic=fee_clinic.chain.clinic).delete()


def test_workers_charging_one_fee_at_once_make_one_payment_intent(shared: Clinic, stripe_fake: FakeStripe):
    # given a pending no-show fee of a patient with a card on file, committed
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()
        card_saved(patient, stripe_fake)
        start = shared.at(MONDAY, 10)
        appointment = book(shared, start, patient=patient)
        sched.appointment_mark_no_show(
            actor=shared.receptionist, appointment=appointment, now=start + timedelta(hours=1)
        )
        charge = FeeCharge.objects.get(appointment_id=appointment.pk)
        assert charge.status == FeeStatus.PENDING
    # when four workers run its task at the same moment
    outcomes = race(WORKERS, lambda _: fee_charge_run(fee_charge_id=charge.pk), shared.chain.schema)
    # then each finished, one PaymentIntent reached Stripe and one payment paid the fee
    assert outcomes == ["ok"] * WORKERS
    assert len(stripe_fake.calls("POST", "/v1/payment_intents")) == 1
    with committed(), schema_context(shared.chain.schema):
        charge.refresh_from_db()
        assert charge.status == FeeStatus.SUCCEEDED
        assert charge.attempts == 1
        assert Payment.objects.filter(invoice_id=charge.invoice_id).count() == 1
