"""Real concurrent connections issuing invoices and paying them: numbers stay gap-free and unique,
a rolled-back issue gives its number back, and racing payments never overpay.

Each client is a thread with its own PostgreSQL connection; the data is committed first in chain
B's schema (tests/helpers.committed) and removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from invoicing import services as billing
from invoicing.models import Counter, CreditNote, Invoice, InvoiceLine, InvoiceStatus, Payment, Refund
from invoicing.services.numbering import Sequence, next_number
from scheduling.models import CalendarEntry
from tests.conftest import WORLD
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import committed, race

pytestmark = pytest.mark.django_db

CLIENTS = 16


@pytest.fixture(scope="module")
def ledger_clinic(django_db_setup, django_db_blocker) -> Clinic:
    chain = WORLD["b"]
    with django_db_blocker.unblock(), committed(), schema_context(chain.schema):
        return priced(clinic_setup(chain, branch=chain.branches[0], doctors=1))


@pytest.fixture
def shared(ledger_clinic: Clinic) -> Iterator[Clinic]:
    yield ledger_clinic
    with committed(), schema_context(ledger_clinic.chain.schema):
        Refund.objects.all().delete()
        Payment.objects.all().delete()
        CreditNote.objects.all().delete()
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        CalendarEntry.objects.filter(doctor__in=ledger_clinic.doctors).delete()


def _counter() -> int:
    return Counter.objects.get(name=Sequence.INVOICE).next_value


def test_invoices_issued_at_once_take_consecutive_numbers(shared):
    # given sixteen drafts and the counter where it is
    with committed(), schema_context(shared.chain.schema):
        patient = shared.patient()
        line = billing.LineIn(description="Dressing", unit_price_minor=PRICE)
        drafts = [
            billing.invoice_draft_create(actor=shared.owner, patient=patient, branch=shared.branch, lines=[line])
            for _ in range(CLIENTS)
        ]
        first = _counter()
    # when sixteen clients issue them at the same moment
    outcomes = race(
        CLIENTS, lambda i: billing.invoice_issue(actor=shared.owner, invoice=drafts[i]), shared.chain.schema
    )
    # then each got a number, and the numbers follow each other with no gap and no repeat
    assert outcomes == ["ok"] * CLIENTS
    with committed(), schema_context(shared.chain.schema):
        numbers = sorted(
            int(n.removeprefix("INV-"))
            for n in Invoice.objects.filter(pk__in=[d.pk for d in drafts]).values_list("number", flat=True)
        )
        assert numbers == list(range(first, first + CLIENTS))
        assert _counter() == first + CLIENTS


def test_one_draft_issued_by_many_at_once_is_numbered_once(shared):
    # given one draft
    with committed(), schema_context(shared.chain.schema):
        line = billing.LineIn(description="Dressing", unit_price_minor=PRICE)
        draft = billing.invoice_draft_create(
            actor=shared.owner, patient=shared.patient(), branch=shared.branch, lines=[line]
        )
        first = _counter()
    # when eight clients issue it at once
    outcomes = race(8, lambda i: billing.invoice_issue(actor=shared.owner, invoice=draft), shared.chain.schema)
    # then one issues it and the rest are told it is not a draft; one number is used
    assert sorted(outcomes) == ["invoice_not_open"] * 7 + ["ok"]
    with committed(), schema_context(shared.chain.schema):
        draft.refresh_from_db()
        assert draft.number == f"INV-{first:06d}"
        assert _counter() == first + 1


def _issue_that_fails(expected: str) -> None:
    with transaction.atomic():
        assert next_number(Sequence.INVOICE) == expected
        raise RuntimeError("the issue failed after taking its number")


def test_a_rolled_back_issue_leaves_no_gap(shared):
    with committed(), schema_context(shared.chain.schema):
        # given the counter where it is
        before = _counter()
        # when a number is taken by an issue that then fails
        with pytest.raises(RuntimeError):
            _issue_that_fails(f"INV-{before:06d}")
        # then the next issue takes that same number
        invoice = completed_visit(shared, hour=11)
        assert invoice.number == f"INV-{before:06d}"


def test_two_payments_racing_to_overpay_one_wins(shared):
    # given an issued invoice
    with committed(), schema_context(shared.chain.schema):
        invoice = completed_visit(shared, hour=12)
    # when two clients each pay two thirds of it at once
    part = PRICE * 2 // 3
    outcomes = race(
        2,
        lambda i: billing.payment_record(actor=shared.receptionist, invoice=invoice, method="cash", amount_minor=part),
        shared.chain.schema,
    )
    # then one is recorded and the other refused as an overpayment
    assert sorted(outcomes) == ["ok", "overpayment"]
    with committed(), schema_context(shared.chain.schema):
        invoice.refresh_from_db()
        assert (invoice.paid_minor, invoice.status) == (part, InvoiceStatus.PARTLY_PAID)
        assert Payment.objects.filter(invoice=invoice).count() == 1


def test_refunds_racing_past_the_payment_one_wins(shared):
    # given a paid invoice
    with committed(), schema_context(shared.chain.schema):
        invoice = completed_visit(shared, hour=13)
        payment = billing.payment_record(actor=shared.receptionist, invoice=invoice, method="cash", amount_minor=PRICE)
    # when two billing clerks refund two thirds each at once
    part = PRICE * 2 // 3
    outcomes = race(
        2,
        lambda i: billing.refund_record(actor=shared.owner, payment=payment, amount_minor=part, reason="Goodwill"),
        shared.chain.schema,
    )
    # then one refund is recorded
    assert sorted(outcomes) == ["ok", "refund_exceeds_paid"]
    with committed(), schema_context(shared.chain.schema):
        assert Refund.objects.filter(payment=payment).count() == 1
