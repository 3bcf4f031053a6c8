# ruff: noqa: F811  (the fee tests' clinic fixture is named as a parameter)
"""A visit paid before it (a full online prepayment, a payment at the desk, one settled in part by a
credit note) can still be cancelled late at the patient's wish or marked missed: the calendar's
change stands, the prepayment is kept whole as the fee (the fee is the policy's or the prepayment,
whichever is more, and its line says the prepayment was kept), and the visit's invoice is no longer
sold (void, or credited for the rest)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from invoicing import services as billing
from invoicing.exceptions import InvoiceNotOpen
from invoicing.fees import FeeCharge, FeeKind, FeeStatus
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentMethod
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.payments import payment_add
from scheduling import services as sched
from scheduling.models import Appointment, Status
from tests.factories.invoicing import PRICE
from tests.factories.scheduling import MONDAY, book
from tests.invoicing.test_fees_deposit import LATE_FEE, clinic  # noqa: F401  (fees: 10.00 no-show, 30.00 late)

pytestmark = pytest.mark.django_db


def _prepaid(clinic, *, online: bool = True, amount: int = PRICE) -> tuple[Appointment, Invoice]:
    """A booked visit whose invoice, raised at booking, is paid ``amount`` (Stripe or the desk's cash)."""
    patient = clinic.patient()
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    invoice = raise_for_appointment(appointment, actor=None, issue=True, prepaid_by=patient)
    if online:
        payment_add(
            invoice, actor=None, method=PaymentMethod.STRIPE, amount_minor=amount, reference=f"pi_pre_{appointment.pk}"
        )
    else:
        billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=amount)
    invoice.refresh_from_db()
    return appointment, invoice


def _cancel_late(clinic, appointment: Appointment) -> None:
    sched.appointment_cancel(
        actor=clinic.receptionist,
        appointment=appointment,
        reason="Cannot come",
        patient_asked=True,
        now=appointment.span.lower - timedelta(hours=2),
    )


def _miss(clinic, appointment: Appointment) -> None:
    sched.appointment_mark_no_show(
        actor=clinic.receptionist, appointment=appointment, now=appointment.span.lower + timedelta(hours=1)
    )


def _kept_whole(appointment: Appointment, visit: Invoice, *, kind: str, policy_fee: str, paid: int = PRICE) -> None:
    """The prepayment is the fee, paid by it, its line saying so; the visit's invoice asks nothing."""
    charge = FeeCharge.objects.get(appointment=appointment, kind=kind)
    assert (charge.amount_minor, charge.deposit_kept_minor, charge.status) == (paid, paid, FeeStatus.SUCCEEDED)
    fee_invoice = Invoice.objects.get(pk=charge.invoice_id)
    assert fee_invoice.kind == InvoiceKind.FEE
    assert (fee_invoice.status, fee_invoice.total_minor, fee_invoice.paid_minor) == (InvoiceStatus.PAID, paid, paid)
    line = fee_invoice.lines.get().description
    assert "prepayment kept" in line
    assert policy_fee in line
    assert set(Payment.objects.filter(pk__in=visit.payments.values("pk")).values_list("invoice_id", flat=True)) <= {
        fee_invoice.pk
    }
    visit.refresh_from_db()
    assert visit.paid_minor == 0
    assert visit.due_minor == 0


@pytest.mark.parametrize("online", [True, False], ids=["paid_online", "paid_at_the_desk"])
def test_a_late_cancellation_of_a_visit_paid_in_full_stands_and_keeps_the_prepayment_as_the_fee(clinic, online):
    # given a visit paid in full before it (75.00) and a late-cancellation fee of 30.00
    appointment, visit = _prepaid(clinic, online=online)
    assert visit.status == InvoiceStatus.PAID
    # when the patient cancels two hours before it
    _cancel_late(clinic, appointment)
    # then the cancellation stands, the prepayment is the fee, and the visit's invoice is void
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.late_cancellation
    _kept_whole(appointment, visit, kind=FeeKind.LATE_CANCELLATION, policy_fee="30.00")
    assert visit.status == InvoiceStatus.VOID


@pytest.mark.parametrize("online", [True, False], ids=["paid_online", "paid_at_the_desk"])
def test_a_no_show_of_a_visit_paid_in_full_stands_and_keeps_the_prepayment_as_the_fee(clinic, online):
    # given a visit paid in full before it and a no-show fee of 10.00
    appointment, visit = _prepaid(clinic, online=online)
    # when the patient does not come
    _miss(clinic, appointment)
    # then the no-show stands, the prepayment is the fee, and the visit's invoice is void
    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW
    _kept_whole(appointment, visit, kind=FeeKind.NO_SHOW, policy_fee="10.00")
    assert visit.status == InvoiceStatus.VOID


@pytest.mark.parametrize("miss", [False, True], ids=["late_cancel", "no_show"])
def test_a_visit_paid_in_part_and_credited_for_the_rest_keeps_the_payment_and_credits_the_visit(in_a, clinic, miss):
    # given a visit paid 50.00 at the desk, the other 25.00 taken off by a credit note (paid, settled)
    appointment, visit = _prepaid(clinic, online=False, amount=5000)
    billing.credit_note_issue(actor=in_a.users["billing"], invoice=visit, amount_minor=PRICE - 5000, reason="Goodwill")
    visit.refresh_from_db()
    assert visit.status == InvoiceStatus.PAID
    # when the patient cancels late, or does not come
    (_miss if miss else _cancel_late)(clinic, appointment)
    # then it stands; the 50.00 is the fee, and the visit's invoice is credited in full (no void over a credit note)
    kind = FeeKind.NO_SHOW if miss else FeeKind.LATE_CANCELLATION
    _kept_whole(appointment, visit, kind=kind, policy_fee="10.00" if miss else "30.00", paid=5000)
    assert visit.status == InvoiceStatus.PAID
    assert visit.credited_minor == PRICE
    assert sum(visit.credit_notes.values_list("amount_minor", flat=True)) == PRICE


def test_a_deposit_below_the_fee_line_names_no_prepayment_kept(clinic):
    # given a visit with a 10.00 deposit paid online, below the late-cancellation fee
    appointment, _visit = _prepaid(clinic, amount=1000)
    # when the patient cancels late
    _cancel_late(clinic, appointment)
    # then the fee is the policy's and its line is the plain fee's
    charge = FeeCharge.objects.get(appointment=appointment)
    assert (charge.amount_minor, charge.deposit_kept_minor) == (LATE_FEE, 1000)
    assert "prepayment kept" not in Invoice.objects.get(pk=charge.invoice_id).lines.get().description


def test_the_patients_booking_link_cancels_a_prepaid_visit_in_time_and_its_money_stays_paid(clinic):
    # given a visit paid in full online, well before the cancellation window
    appointment, visit = _prepaid(clinic)
    token = sched.manage_link_issue(appointment=appointment)
    # when the patient cancels it from the booking link
    sched.manage_link_cancel(token=token, now=appointment.span.lower - timedelta(days=3))
    # then it is cancelled without a fee; the invoice keeps the money, for the policy or billing to refund
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert not FeeCharge.objects.filter(appointment=appointment).exists()
    visit.refresh_from_db()
    assert (visit.status, visit.paid_minor) == (InvoiceStatus.PAID, PRICE)


@pytest.mark.parametrize(
    ("path", "body", "shift"),
    [
        ("cancel", {"reason": "Cannot come", "patient_asked": True}, timedelta(hours=-2)),
        ("no-show", None, timedelta(hours=1)),
    ],
    ids=["late_cancel", "no_show"],
)
def test_the_api_cancels_late_or_marks_missed_a_prepaid_visit(clinic, chain_a, api, path, body, shift):
    # given a visit paid in full online
    appointment, _visit = _prepaid(clinic)
    # when the desk cancels it at the patient's wish two hours before, or marks it missed, through the API
    with time_machine.travel(appointment.span.lower + shift, tick=False):
        answer = api(chain_a, "receptionist").call("POST", f"/api/v1/appointments/{appointment.pk}/{path}/", body)
    # then it succeeds and the prepayment is the fee
    assert answer.status_code == 200, answer.content[:300]
    assert FeeCharge.objects.get(appointment=appointment).deposit_kept_minor == PRICE


def test_a_ledger_refusal_in_a_fee_never_turns_a_cancellation_into_an_error(clinic, monkeypatch):
    # given a visit whose fee the ledger would refuse (any money reason)
    appointment, visit = _prepaid(clinic)

    def refused(**_kwargs: object) -> None:
        raise InvoiceNotOpen("refused")

    monkeypatch.setattr("invoicing.fee_subscribers.fee_raise", refused)
    # when the patient cancels late
    _cancel_late(clinic, appointment)
    # then the cancellation stands; the money is left as it was, for billing
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    visit.refresh_from_db()
    assert (visit.status, visit.paid_minor) == (InvoiceStatus.PAID, PRICE)
    assert not FeeCharge.objects.filter(appointment=appointment).exists()
