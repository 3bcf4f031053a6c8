"""Two reconciliations of one period at once, on real connections: they share the period's run and
store one set of balance transactions and mismatches. The data is committed in chain B's schema
(tests/helpers.committed) and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from invoicing.models import (
    BalanceTransaction,
    CreditNote,
    Invoice,
    InvoiceLine,
    Mismatch,
    Payment,
    Payout,
    ReconciliationRun,
    Refund,
    RunStatus,
)
from invoicing.reconciliation.services import reconciliation_run
from scheduling.models import CalendarEntry
from tenants.models import StripeConnection
from tests.conftest import WORLD
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import Clinic, clinic_setup
from tests.fakes.stripe_server import FakeStripe
from tests.helpers import committed, race
from tests.invoicing.reconcile import around_now, charge, connect_chain, stripe_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(django_db_setup, django_db_blocker, stripe_fake: FakeStripe) -> Iterator[tuple[Clinic, str]]:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        clinic = priced(clinic_setup(chain, branch=chain.branches[0], doctors=1))
        account = connect_chain(chain, stripe_fake)
    yield clinic, account
    with committed(), schema_context(chain.schema):
        Mismatch.history.model.objects.all().delete()
        Mismatch.objects.all().delete()
        BalanceTransaction.objects.all().delete()
        Payout.objects.all().delete()
        ReconciliationRun.objects.all().delete()
        Refund.objects.all().delete()
        Payment.objects.all().delete()
        CreditNote.objects.all().delete()
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        CalendarEntry.objects.filter(doctor__in=clinic.doctors).delete()
        StripeConnection.objects.filter(account_id=account).delete()


def test_two_runs_of_one_period_at_once_store_one_set(shared):
    clinic, account = shared
    # given payments at Stripe, four recorded here and 250 not, and one recorded here that Stripe lacks
    with committed(), schema_context(clinic.chain.schema):
        for hour in range(9, 13):
            stripe_payment(clinic, intent=charge(account, PRICE), amount_minor=PRICE, hour=hour)
        unknown = [charge(account, 1000 + n) for n in range(250)]
        stripe_payment(clinic, intent="pi_only_here", amount_minor=PRICE, hour=14)
    start, end = around_now()
    # when two reconciliations of the period run at the same moment
    outcomes = race(2, lambda i: reconciliation_run(period_start=start, period_end=end), clinic.chain.schema)
    # then both finish, and one run, one row per balance transaction and one mismatch per thing are stored
    assert outcomes == ["ok", "ok"]
    with committed(), schema_context(clinic.chain.schema):
        run = ReconciliationRun.objects.get()
        assert run.status == RunStatus.COMPLETE
        assert BalanceTransaction.objects.count() == 4 + len(unknown)
        assert Mismatch.objects.filter(found_in=run).count() == len(unknown) + 1
        assert Mismatch.objects.filter(kind="missing_here").count() == len(unknown)
        assert Mismatch.objects.filter(kind="missing_at_stripe").count() == 1
