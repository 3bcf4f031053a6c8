"""A credit note whose freed money Stripe refuses to refund does not vanish from the books: the
refund stays counted as owed back, failed with Stripe's reason and what billing must do, and the
invoice's page says so."""

from __future__ import annotations

import pytest

from invoicing import services as billing
from invoicing.checkout.refunds import NOT_OWED_NOTE
from invoicing.fees import FeeRule
from invoicing.models import InvoiceStatus, Payment, PaymentMethod, Refund, RefundStatus
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn
from invoicing.services.payments import payment_add
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.scheduling import clinic_setup
from tests.fakes.stripe_server import FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a, stripe_fake: FakeStripe):
    from tests.factories.cards import connected

    clinic = priced(clinic_setup(in_a, doctors=1))
    connected(in_a, stripe_fake)
    fees.fee_policy_update(actor=in_a.users["owner"], no_show=FeeRuleIn(FeeRule.NONE), late_cancellation=FeeRuleIn())
    return clinic


def test_a_credit_notes_refund_refused_by_stripe_stays_owed_back_and_the_books_add_up(
    in_a, client, clinic, django_capture_on_commit_callbacks
):
    # given a visit paid 75.00 through Stripe, with a payment intent Stripe will refuse to refund
    invoice = completed_visit(clinic)
    payment_add(invoice, actor=None, method=PaymentMethod.STRIPE, amount_minor=PRICE, reference="pi_not_at_stripe")
    # when billing credits 30.00 with the refund of what it frees, and Stripe refuses that refund
    with django_capture_on_commit_callbacks(execute=True):
        note = billing.credit_note_issue(
            actor=in_a.users["billing"], invoice=invoice, amount_minor=3000, reason="Goodwill", refund_freed=True
        )
    # then the refund is failed, flagged for billing, and still counted as owed back
    refund = Refund.objects.get(credit_note=note)
    assert refund.status == RefundStatus.FAILED
    assert refund.failure_message.startswith(NOT_OWED_NOTE)
    invoice.refresh_from_db()
    assert invoice.credited_minor + invoice.refunded_minor == note.amount_minor
    assert Payment.objects.get(invoice=invoice).refunded_minor == 3000
    assert invoice.status == InvoiceStatus.PAID
    # and the invoice's page shows it with what billing must do
    from tests.frontend.test_billing_pages import _as

    _as(client, in_a, "billing")
    page = client.get(f"/billing/invoices/{invoice.pk}/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert "give it back from Stripe&#x27;s dashboard" in page.content.decode()


def test_a_plain_refund_refused_by_stripe_is_still_given_back_to_the_payment(
    in_a, clinic, django_capture_on_commit_callbacks
):
    # given a visit paid 75.00 through Stripe, Stripe refusing refunds of it
    invoice = completed_visit(clinic)
    payment = payment_add(
        invoice, actor=None, method=PaymentMethod.STRIPE, amount_minor=PRICE, reference="pi_not_at_stripe"
    )
    # when billing refunds 10.00 of it (no credit note: the invoice still asks for it) and Stripe refuses
    with django_capture_on_commit_callbacks(execute=True):
        billing.refund_record(actor=in_a.users["billing"], payment=payment, amount_minor=1000, reason="Goodwill")
    # then the money is refundable again, as before
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.refunded_minor, invoice.refunded_minor) == (0, 0)
    assert Refund.objects.get(payment=payment).status == RefundStatus.FAILED
