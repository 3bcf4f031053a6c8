"""The ledger after refunds and credit notes (issue 12 walk 5 and 15): statuses that tell the whole
story, totals that add up line by line to the balance due, a paid invoice credited only with the
refund of what the credit frees, and money typed on a page parsed by the API's rule."""

from __future__ import annotations

import pytest

from config.fields import InputError, parse_amount
from invoicing import services as billing
from invoicing.exceptions import CreditFreesPayment, InvoiceNotOpen
from invoicing.models import InvoiceStatus, Refund
from invoicing.statement import statement
from tests.factories.invoicing import PRICE, completed_visit, ledger_state, priced
from tests.factories.scheduling import clinic_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    return priced(clinic_setup(in_a))


@pytest.fixture
def paid(in_a, clinic):
    """An invoice of 75.00 paid in full in cash."""
    invoice = completed_visit(clinic)
    billing.payment_record(actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=PRICE)
    invoice.refresh_from_db()
    return invoice


def _read(invoice):
    invoice.refresh_from_db()
    return statement(invoice, locale="en_GB")


def test_a_partial_refund_of_a_paid_invoice_reads_paid_with_the_refund_and_adds_up(in_a, paid):
    # when billing refunds 25.00 of the cash payment
    billing.refund_record(actor=in_a.users["billing"], payment=paid.payments.get(), amount_minor=2500, reason="Short")
    read = _read(paid)
    # then it is paid, with what was refunded said, and the lines add up to nothing owed
    assert paid.status == InvoiceStatus.PAID
    assert read.summary == "Paid · £25.00 refunded"
    assert [(line.label, line.amount_minor) for line in read.lines] == [
        ("Total", 7500),
        ("Refunded, no longer charged", -2500),
        ("Charged", 5000),
        ("Paid", -7500),
        ("Refunded to the patient", 2500),
        ("Balance due", 0),
    ]
    assert read.adds_up


def test_a_full_refund_reads_refunded(in_a, paid):
    billing.refund_record(actor=in_a.users["billing"], payment=paid.payments.get(), amount_minor=PRICE, reason="Gone")
    read = _read(paid)
    assert paid.status == InvoiceStatus.REFUNDED
    assert read.summary == "Refunded"
    assert read.adds_up
    assert read.balance_minor == 0


def test_refunding_all_of_a_part_payment_leaves_the_rest_owed_not_refunded(in_a, clinic):
    # given 75.00 invoiced and 30.00 paid
    invoice = completed_visit(clinic)
    payment = billing.payment_record(
        actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=3000
    )
    # when the 30.00 is refunded
    billing.refund_record(actor=in_a.users["billing"], payment=payment, amount_minor=3000, reason="Wrong card")
    read = _read(invoice)
    # then the 45.00 never paid is still owed: partly paid, not "refunded" with nothing owed
    assert invoice.status == InvoiceStatus.PARTLY_PAID
    assert invoice.due_minor == 4500
    assert read.summary == "Partly paid · £45.00 owed · £30.00 refunded"
    assert read.adds_up


def test_a_paid_invoice_is_credited_only_with_the_refund_of_what_the_credit_frees(in_a, paid):
    before = ledger_state(paid)
    # when billing credits 25.00 of a paid invoice without asking for the refund
    with pytest.raises(CreditFreesPayment):
        billing.credit_note_issue(actor=in_a.users["billing"], invoice=paid, amount_minor=2500, reason="Discount")
    # then nothing is written
    assert ledger_state(paid) == before
    # when it is asked for
    note = billing.credit_note_issue(
        actor=in_a.users["billing"], invoice=paid, amount_minor=2500, reason="Discount", refund_freed=True
    )
    # then a numbered credit note of 25.00 and a refund of 25.00 of the cash payment, tied to it
    refund = Refund.objects.get(payment__invoice=paid)
    assert (note.number.startswith("CN-"), note.amount_minor) == (True, 2500)
    assert (refund.amount_minor, refund.credit_note_id) == (2500, note.pk)
    read = _read(paid)
    assert paid.status == InvoiceStatus.PAID
    assert read.summary == "Paid · £25.00 refunded"
    assert (read.credit_notes_minor, read.refunds_alone_minor) == (2500, 0)
    assert [line.label for line in read.lines][1] == f"Credit notes ({note.number})"
    assert read.adds_up
    assert read.balance_minor == 0


def test_crediting_a_paid_invoice_in_full_with_the_refund_makes_it_refunded(in_a, paid):
    billing.credit_note_issue(
        actor=in_a.users["billing"], invoice=paid, amount_minor=PRICE, reason="Cancelled", refund_freed=True
    )
    read = _read(paid)
    assert paid.status == InvoiceStatus.REFUNDED
    assert read.adds_up
    assert read.balance_minor == 0
    # and a refunded invoice takes no more credit
    with pytest.raises(InvoiceNotOpen):
        billing.credit_note_issue(
            actor=in_a.users["billing"], invoice=paid, amount_minor=1, reason="More", refund_freed=True
        )


def test_a_credit_of_a_part_paid_invoice_lowers_the_debt_first_then_refunds_the_rest(in_a, clinic):
    # given 75.00 invoiced, 50.00 paid: 25.00 owed
    invoice = completed_visit(clinic)
    billing.payment_record(actor=in_a.users["receptionist"], invoice=invoice, method="cash", amount_minor=5000)
    # when 40.00 is credited with the refund of what it frees
    billing.credit_note_issue(
        actor=in_a.users["billing"], invoice=invoice, amount_minor=4000, reason="Goodwill", refund_freed=True
    )
    read = _read(invoice)
    # then the 25.00 owed is cleared and 15.00 refunded
    assert (invoice.status, invoice.credited_minor, invoice.refunded_minor) == (InvoiceStatus.PAID, 2500, 1500)
    assert read.adds_up
    assert read.balance_minor == 0


@pytest.mark.parametrize(("typed", "minor"), [("75", 7500), ("75.5", 7550), ("75.00", 7500), (" 0.01 ", 1)])
def test_money_typed_on_a_page_is_read_in_minor_units(typed, minor):
    assert parse_amount(typed, places=2) == minor


@pytest.mark.parametrize(
    "typed", ["1E1", "1_0", "\uff11\uff10", "1e-2", "-1", "0", "0.00", "75.001", "1,5", "", "\u0663"]
)
def test_money_the_api_refuses_the_page_refuses(typed):
    with pytest.raises(InputError):
        parse_amount(typed, places=2)


def test_a_currency_without_minor_units_takes_whole_amounts():
    assert parse_amount("1200", places=0) == 1200
    with pytest.raises(InputError):
        parse_amount("1200.5", places=0)
