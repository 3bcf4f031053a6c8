"""A visit that will not happen is no longer sold, and a deposit paid toward it is kept toward its
fee: a late cancellation or a no-show moves the deposit's payment to the fee's invoice and charges
only the rest to the card; a deposit that covers the fee is the fee; a timely cancellation and the
clinic's own carry no fee and leave nothing owing on the visit (the deposit stays paid on it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invoicing.exceptions import FeeNotWaivable
from invoicing.fee_selectors import fee_outcome
from invoicing.fees import FeeCharge, FeeKind, FeeRule, FeeStatus
from invoicing.models import CreditNote, Invoice, InvoiceStatus, Payment, PaymentMethod
from invoicing.services import fees
from invoicing.services.fees import FeeRuleIn, fee_charge_run, fee_charge_waive
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.payments import payment_add
from scheduling import services as sched
from tests.factories.cards import card_saved, connected
from tests.factories.invoicing import PRICE, priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe

pytestmark = pytest.mark.django_db

DEPOSIT = 2000
LATE_FEE = 3000


@pytest.fixture
def clinic(in_a, stripe_fake: FakeStripe):
    clinic = priced(clinic_setup(in_a, doctors=1))
    connected(in_a, stripe_fake)
    fees.fee_policy_update(
        actor=in_a.users["owner"],
        no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=1000),
        late_cancellation=FeeRuleIn(FeeRule.FIXED, amount_minor=LATE_FEE),
    )
    return clinic


def booked_with_deposit(clinic, *, card_of: FakeStripe | None = None, deposit: int = DEPOSIT):
    """A visit on Monday at 10 whose invoice was raised at booking and a deposit paid online."""
    patient = clinic.patient()
    if card_of is not None:
        card_saved(patient, card_of, "pm_card_visa")
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    invoice = raise_for_appointment(appointment, actor=None, issue=True, prepaid_by=patient)
    reference = f"pi_dep_{appointment.pk}"
    payment_add(invoice, actor=None, method=PaymentMethod.STRIPE, amount_minor=deposit, reference=reference)
    return appointment, invoice


def cancel(clinic, appointment, *, hours_before: int, patient_asked: bool = False):
    return sched.appointment_cancel(
        actor=clinic.receptionist,
        appointment=appointment,
        reason="Cannot come",
        patient_asked=patient_asked,
        now=appointment.span.lower - timedelta(hours=hours_before),
    )


def test_a_late_cancellation_keeps_the_deposit_toward_the_fee_and_charges_only_the_rest(clinic, stripe_fake):
    # given a visit with a 20.00 deposit paid, a card on file and a 30.00 late-cancellation fee
    appointment, visit = booked_with_deposit(clinic, card_of=stripe_fake)
    deposit_payment = Payment.objects.get(invoice=visit)
    # when the patient phones two hours before to cancel
    cancel(clinic, appointment, hours_before=2, patient_asked=True)
    # then the visit's invoice is void: nothing of it is owed
    visit.refresh_from_db()
    assert visit.status == InvoiceStatus.VOID
    assert visit.due_minor == 0
    assert visit.paid_minor == 0
    # and the deposit's payment pays the fee's invoice, whose 10.00 rest is what the card is charged
    charge = FeeCharge.objects.get(appointment=appointment, kind=FeeKind.LATE_CANCELLATION)
    assert (charge.amount_minor, charge.deposit_kept_minor, charge.status) == (LATE_FEE, DEPOSIT, FeeStatus.PENDING)
    deposit_payment.refresh_from_db()
    assert deposit_payment.invoice_id == charge.invoice_id
    assert charge.invoice.paid_minor == DEPOSIT
    assert charge.invoice.due_minor == LATE_FEE - DEPOSIT
    done = fee_charge_run(fee_charge_id=charge.pk)
    [sent] = stripe_fake.calls("POST", "/v1/payment_intents")
    assert done.status == FeeStatus.SUCCEEDED
    assert stripe_fake.get(sent[2], "payment_intent", done.payment_intent_id)["amount"] == LATE_FEE - DEPOSIT
    done.invoice.refresh_from_db()
    assert done.invoice.status == InvoiceStatus.PAID
    assert done.invoice.paid_minor == LATE_FEE
    # and the desk is told the outcome
    assert fee_outcome(appointment_id=appointment.pk) == (
        "Late cancellation fee £30.00: the deposit of £20.00 kept toward it, £10.00 charged to Visa ending 4242."
    )


def test_a_deposit_that_covers_the_fee_is_kept_as_the_fee_and_nothing_is_charged(clinic, stripe_fake, in_a):
    # given a 10.00 no-show fee and a visit with a 20.00 deposit paid
    appointment, visit = booked_with_deposit(clinic, card_of=stripe_fake)
    # when the patient does not come
    sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=appointment, now=appointment.span.lower + timedelta(hours=1)
    )
    # then the deposit is the fee, charged already: nothing goes to Stripe, nothing is owed
    charge = FeeCharge.objects.get(appointment=appointment)
    assert (charge.amount_minor, charge.deposit_kept_minor, charge.status) == (DEPOSIT, DEPOSIT, FeeStatus.SUCCEEDED)
    assert charge.invoice.status == InvoiceStatus.PAID
    fee_charge_run(fee_charge_id=charge.pk)
    assert not stripe_fake.calls("POST", "/v1/payment_intents")
    visit.refresh_from_db()
    assert visit.status == InvoiceStatus.VOID
    assert fee_outcome(appointment_id=appointment.pk) == "Deposit £20.00 kept as the no-show fee."
    # and waiving it is refused (it is paid: a refund gives it back)
    with pytest.raises(FeeNotWaivable):
        fee_charge_waive(actor=in_a.users["owner"], fee_charge=charge, reason="Goodwill")


def test_a_timely_cancellation_carries_no_fee_and_credits_what_the_visit_still_asked(clinic):
    # given a visit with a 20.00 deposit paid
    appointment, visit = booked_with_deposit(clinic)
    # when the patient cancels three days ahead
    cancel(clinic, appointment, hours_before=72, patient_asked=True)
    # then no fee, and the visit's invoice no longer asks for the rest: credited, the deposit still paid on it
    assert not FeeCharge.objects.exists()
    visit.refresh_from_db()
    assert visit.status == InvoiceStatus.PAID
    assert visit.due_minor == 0
    assert visit.paid_minor == DEPOSIT
    assert CreditNote.objects.get(invoice=visit).amount_minor == PRICE - DEPOSIT
    assert fee_outcome(appointment_id=appointment.pk) == (
        f"No fee. The deposit of £20.00 stays paid on invoice {visit.number}: refund it from the invoice if the "
        "clinic wishes."
    )


def test_the_clinics_own_late_cancellation_carries_no_fee_and_voids_an_unpaid_visit_invoice(clinic):
    # given a visit whose invoice was raised at booking, nothing paid yet
    appointment = book(clinic, clinic.at(MONDAY, 11), patient=clinic.patient())
    visit = raise_for_appointment(appointment, actor=None, issue=True, prepaid_by=appointment.patient)
    # when the clinic cancels an hour before
    cancel(clinic, appointment, hours_before=1)
    # then no fee, and the invoice is void
    assert not FeeCharge.objects.exists()
    visit.refresh_from_db()
    assert visit.status == InvoiceStatus.VOID
    assert fee_outcome(appointment_id=appointment.pk) == "No fee."


def test_waiving_a_fee_the_deposit_paid_part_of_credits_the_rest_and_clears_its_error(clinic, in_a):
    # given a late-cancellation fee the deposit paid 20.00 of, the patient with no card (10.00 waiting at the desk)
    appointment, _ = booked_with_deposit(clinic)
    cancel(clinic, appointment, hours_before=2, patient_asked=True)
    charge = FeeCharge.objects.get(appointment=appointment)
    assert charge.status == FeeStatus.NO_CARD
    FeeCharge.objects.filter(pk=charge.pk).update(last_error="The chain's Stripe account is not connected.")
    # when billing waives it
    waived = fee_charge_waive(actor=in_a.users["billing"], fee_charge=charge, reason="Goodwill")
    # then nothing more is owed, the deposit stays paid on the fee's invoice, and no stale error remains
    invoice = Invoice.objects.get(pk=charge.invoice_id)
    assert invoice.due_minor == 0
    assert invoice.paid_minor == DEPOSIT
    assert waived.status == FeeStatus.WAIVED
    assert waived.last_error == ""


def test_a_retry_is_refused_while_the_chains_stripe_account_is_not_connected(clinic, stripe_fake, in_a):
    # given a declined fee and then the chain's Stripe account disconnected
    from invoicing.connect.exceptions import StripeNotConnected
    from tenants.models import StripeConnection

    patient = clinic.patient()
    card_saved(patient, stripe_fake, "pm_card_chargeDeclined")
    appointment = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=appointment, now=appointment.span.lower + timedelta(hours=1)
    )
    failed = fee_charge_run(fee_charge_id=FeeCharge.objects.get(appointment=appointment).pk)
    assert failed.status == FeeStatus.FAILED
    assert failed.last_error_by_stripe
    StripeConnection.objects.update(charges_enabled=False)
    # when billing retries, then it is refused and nothing changed
    with pytest.raises(StripeNotConnected):
        fees.fee_charge_retry(actor=in_a.users["billing"], fee_charge=failed)
    failed.refresh_from_db()
    assert failed.status == FeeStatus.FAILED
    assert failed.attempts == 1
