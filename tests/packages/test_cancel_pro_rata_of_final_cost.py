"""Cancelling a package pro rata gives back the unused sessions' share of what the package finally
cost (its price less earlier credit notes and refunds), rounded down: never more."""

from __future__ import annotations

import pytest

from invoicing import services as billing
from invoicing.package_ledger import GiveBack, package_cancel, package_cancel_quote, sale_invoice
from tests.factories.invoicing import priced
from tests.factories.packages import PACKAGE_PRICE, sold
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.packages.test_sessions import _seen_and_completed

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    return priced(clinic_setup(in_a, doctors=1))


def _paid_package_one_used(clinic, *, earlier) -> tuple:
    """A 3-session package sold for 300.00 and paid in cash, ``earlier`` giving part back, one session used."""
    patient = clinic.patient()
    purchase = sold(clinic, patient, sessions=3)
    invoice = sale_invoice(purchase=purchase)
    payment = billing.payment_record(
        actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=PACKAGE_PRICE
    )
    earlier(invoice, payment)
    _seen_and_completed(clinic, book(clinic, clinic.at(MONDAY, 10), patient=patient))
    purchase.refresh_from_db()
    assert purchase.used == 1
    return purchase, invoice


def _credited(in_a):
    def earlier(invoice, _payment) -> None:
        billing.credit_note_issue(
            actor=in_a.users["billing"], invoice=invoice, amount_minor=10000, reason="Goodwill", refund_freed=True
        )

    return earlier


def _refunded(in_a):
    def earlier(_invoice, payment) -> None:
        billing.refund_record(actor=in_a.users["billing"], payment=payment, amount_minor=10000, reason="Goodwill")

    return earlier


@pytest.mark.parametrize("how", [_credited, _refunded], ids=["after_a_credit_note", "after_a_plain_refund"])
def test_a_pro_rata_cancel_gives_back_the_unused_share_of_what_the_package_finally_cost(in_a, clinic, how):
    # given a package of 3 for 300.00, paid, 100.00 of it given back earlier, and one session used
    purchase, invoice = _paid_package_one_used(clinic, earlier=how(in_a))
    # when billing cancels it pro rata
    quote = package_cancel_quote(purchase=purchase)
    done = package_cancel(
        actor=in_a.users["billing"], purchase=purchase, reason="Moving away", give_back=GiveBack.PRO_RATA
    )
    # then two thirds of the 200.00 it finally cost are given back (rounded down), the used third kept
    share = (PACKAGE_PRICE - 10000) * 2 // 3
    back = sum(r.amount_minor for r in done.refunds) + (done.credit_note.amount_minor if done.credit_note else 0)
    assert quote.value_minor == back == share
    invoice.refresh_from_db()
    assert invoice.paid_minor - invoice.refunded_minor == PACKAGE_PRICE - 10000 - share
