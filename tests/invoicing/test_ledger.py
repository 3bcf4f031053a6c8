"""The ledger's services: a completed visit raises its invoice once, payments and refunds move its
status, credit notes instead of edits, voiding only without payments; permissions refuse and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config import events
from config.errors import PermissionDenied, ValidationFailed
from config.events import publish, subscribe
from invoicing import services as billing
from invoicing.events import InvoiceIssued, PaymentRecorded, RefundRecorded
from invoicing.exceptions import (
    AlreadyInvoiced,
    InvoiceHasPayments,
    InvoiceNotOpen,
    NotInvoiceable,
    Overpayment,
    PaymentMethodNotRecordable,
    RefundExceedsPaid,
)
from invoicing.models import Invoice, InvoiceStatus, Payment
from invoicing.selectors import aged_receivables, invoice_list_open, patient_balance
from invoicing.services.amounts import line_amounts, tax_of
from scheduling.events import AppointmentCompleted
from scheduling.models import Appointment
from tenants.org.selectors import chain_settings_get
from tests.factories.invoicing import PRICE, completed_visit, priced
from tests.factories.scheduling import MONDAY, clinic_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    return priced(clinic_setup(in_a))


@pytest.fixture
def heard():
    seen: list[object] = []
    for kind in (InvoiceIssued, PaymentRecorded, RefundRecorded):
        subscribe(kind, seen.append)
    yield seen
    for handlers in events._subscribers.values():
        if seen.append in handlers:
            handlers.remove(seen.append)


def test_tax_is_rounded_half_up_in_minor_units():
    assert tax_of(1, 5000) == 1  # half a penny rounds up
    assert tax_of(3, 1000) == 0
    assert line_amounts(quantity=3, unit_price_minor=999, discount_minor=97, tax_rate_bp=2000).total_minor == (
        2997 - 97 + 580
    )


def test_a_completed_visit_raises_its_issued_invoice_once(clinic, heard):
    # given the chain's default tax of 20%
    billing.tax_rate_create(actor=clinic.owner, name="VAT", rate_bp=2000, is_default=True)
    # when a visit is completed
    invoice = completed_visit(clinic)
    # then its invoice is issued with the next number, the branch's price and the tax
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.number.startswith("INV-")
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (PRICE, PRICE // 5, PRICE * 6 // 5)
    assert invoice.lines.get().description == clinic.service.name
    assert invoice.currency == chain_settings_get().currency
    assert invoice.due_at - invoice.issued_at == timedelta(days=14)
    assert invoice.history.count() >= 1
    assert any(isinstance(e, InvoiceIssued) and e.invoice_id == invoice.pk for e in heard)
    # when the completion's event is replayed, or billing raises it by hand
    publish(AppointmentCompleted(invoice.appointment_id, None))
    with pytest.raises(AlreadyInvoiced):
        billing.invoice_raise_for_appointment(
            actor=clinic.owner, appointment=Appointment.objects.get(pk=invoice.appointment_id)
        )
    # then there is still one invoice and one number used
    assert Invoice.objects.filter(appointment_id=invoice.appointment_id).count() == 1


def test_partial_payments_then_paid_and_overpayment_refused(clinic, heard):
    # given an issued invoice
    invoice = completed_visit(clinic)
    # when reception takes part in cash
    billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=2500)
    invoice.refresh_from_db()
    # then it is partly paid
    assert (invoice.status, invoice.paid_minor, invoice.due_minor) == (InvoiceStatus.PARTLY_PAID, 2500, PRICE - 2500)
    # when more than the rest is offered: refused, nothing written
    with pytest.raises(Overpayment):
        billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="card_terminal", amount_minor=PRICE)
    assert Payment.objects.filter(invoice=invoice).count() == 1
    # when the rest is paid by card terminal
    billing.payment_record(
        actor=clinic.receptionist, invoice=invoice, method="card_terminal", amount_minor=PRICE - 2500, reference="T-1"
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.due_minor) == (InvoiceStatus.PAID, 0)
    # then a paid invoice takes no more
    with pytest.raises(InvoiceNotOpen):
        billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=1)
    assert sum(isinstance(e, PaymentRecorded) for e in heard) == 2


def test_bad_payments_are_refused(clinic):
    invoice = completed_visit(clinic)
    with pytest.raises(PaymentMethodNotRecordable):
        billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="stripe", amount_minor=100)
    with pytest.raises(ValidationFailed):
        billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=0)
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_refunds_need_a_reason_never_exceed_what_was_paid_and_end_refunded(clinic, heard):
    # given a paid invoice
    invoice = completed_visit(clinic)
    payment = billing.payment_record(actor=clinic.receptionist, invoice=invoice, method="cash", amount_minor=PRICE)
    billing_user = clinic.chain.users["billing"]
    # when refunded without a reason, by reception, or for more than paid: refused
    with pytest.raises(ValidationFailed):
        billing.refund_record(actor=billing_user, payment=payment, amount_minor=100, reason="  ")
    with pytest.raises(PermissionDenied):
        billing.refund_record(actor=clinic.receptionist, payment=payment, amount_minor=100, reason="Goodwill")
    with pytest.raises(RefundExceedsPaid):
        billing.refund_record(actor=billing_user, payment=payment, amount_minor=PRICE + 1, reason="Goodwill")
    invoice.refresh_from_db()
    assert (invoice.refunded_minor, invoice.status) == (0, InvoiceStatus.PAID)
    # when part is refunded, then the rest
    billing.refund_record(actor=billing_user, payment=payment, amount_minor=1000, reason="Goodwill")
    invoice.refresh_from_db()
    assert (invoice.refunded_minor, invoice.status) == (1000, InvoiceStatus.PAID)
    billing.refund_record(actor=billing_user, payment=payment, amount_minor=PRICE - 1000, reason="Service not given")
    invoice.refresh_from_db()
    # then it is refunded, and nothing more can be
    assert (invoice.refunded_minor, invoice.status) == (PRICE, InvoiceStatus.REFUNDED)
    with pytest.raises(RefundExceedsPaid):
        billing.refund_record(actor=billing_user, payment=payment, amount_minor=1, reason="Again")
    assert sum(isinstance(e, RefundRecorded) for e in heard) == 2


def test_credit_notes_lower_what_is_owed_with_their_own_numbers(clinic):
    # given an issued invoice
    invoice = completed_visit(clinic)
    owner = clinic.owner
    # when part is credited, then the rest
    first = billing.credit_note_issue(actor=owner, invoice=invoice, amount_minor=500, reason="Discount agreed")
    invoice.refresh_from_db()
    assert (invoice.due_minor, invoice.status, invoice.total_minor) == (PRICE - 500, InvoiceStatus.ISSUED, PRICE)
    with pytest.raises(Overpayment):
        billing.credit_note_issue(actor=owner, invoice=invoice, amount_minor=PRICE, reason="Too much")
    second = billing.credit_note_issue(actor=owner, invoice=invoice, amount_minor=PRICE - 500, reason="Waived")
    invoice.refresh_from_db()
    # then the numbers follow each other and the invoice is settled
    assert first.number.startswith("CN-")
    assert int(second.number.split("-")[1]) == int(first.number.split("-")[1]) + 1
    assert (invoice.due_minor, invoice.status) == (0, InvoiceStatus.PAID)


def test_void_only_without_payments(clinic):
    paid = completed_visit(clinic)
    billing.payment_record(actor=clinic.receptionist, invoice=paid, method="cash", amount_minor=100)
    with pytest.raises(InvoiceHasPayments):
        billing.invoice_void(actor=clinic.owner, invoice=paid, reason="Mistake")
    unpaid = completed_visit(clinic, hour=11)
    with pytest.raises(PermissionDenied):
        billing.invoice_void(actor=clinic.receptionist, invoice=unpaid, reason="Mistake")
    voided = billing.invoice_void(actor=clinic.owner, invoice=unpaid, reason="Mistake")
    assert (voided.status, voided.number) == (InvoiceStatus.VOID, unpaid.number)
    with pytest.raises(InvoiceNotOpen):
        billing.payment_record(actor=clinic.receptionist, invoice=voided, method="cash", amount_minor=100)


def test_doctors_neither_see_nor_take_payments(clinic):
    invoice = completed_visit(clinic)
    doctor = clinic.doctors[0].user
    with pytest.raises(PermissionDenied):
        billing.payment_record(actor=doctor, invoice=invoice, method="cash", amount_minor=100)
    invoice.refresh_from_db()
    assert invoice.paid_minor == 0
    assert not doctor.has_perm("invoicing.view_invoice", invoice)


def test_balance_open_invoices_and_aged_receivables(clinic):
    # given one patient with two visits a day apart, one partly paid
    first = completed_visit(clinic)
    patient = first.patient
    second = completed_visit(clinic, patient=patient, day=MONDAY + timedelta(days=1))
    billing.payment_record(actor=clinic.receptionist, invoice=first, method="cash", amount_minor=1500)
    owner = clinic.owner
    # then the balance is what is left of both
    [balance] = patient_balance(actor=owner, patient_id=patient.pk)
    assert (balance.owed_minor, balance.open_invoices) == (2 * PRICE - 1500, 2)
    assert {i.pk for i in invoice_list_open(actor=owner, branch_id=clinic.branch.pk)} >= {first.pk, second.pk}
    # when read 45 days after the first fell due
    now = first.due_at + timedelta(days=45)
    [row] = [r for r in aged_receivables(actor=owner, now=now) if r.patient_id == patient.pk]
    # then the first is 31-60 days old, the second too (a day younger)
    assert row.buckets == {"current": 0, "1_30": 0, "31_60": 2 * PRICE - 1500, "61_90": 0, "over_90": 0}
    assert row.past_due_minor == row.total_minor
    # and read before either fell due, both are current
    [row] = [r for r in aged_receivables(actor=owner, now=first.issued_at) if r.patient_id == patient.pk]
    assert (row.buckets["current"], row.past_due_minor) == (2 * PRICE - 1500, 0)
    later = aged_receivables(actor=owner, now=first.due_at + timedelta(days=91))
    [row] = [r for r in later if r.patient_id == patient.pk]
    assert row.buckets["over_90"] == PRICE - 1500
    assert row.buckets["61_90"] == PRICE


def test_receivables_are_for_billing_only(clinic):
    assert clinic.chain.users["billing"].has_perm("invoicing.view_receivables")
    assert not clinic.receptionist.has_perm("invoicing.view_receivables")


def test_only_a_completed_visit_is_invoiced(clinic):
    from tests.factories.scheduling import book

    booked = book(clinic, clinic.at(MONDAY, 15))
    with pytest.raises(NotInvoiceable):
        billing.invoice_raise_for_appointment(actor=clinic.owner, appointment=booked)
    assert not Invoice.objects.filter(appointment_id=booked.pk).exists()


def test_a_merged_record_s_invoices_are_the_kept_record_s(clinic):
    from patients.services import patient_merge

    # given two records of one person, the second owing for a visit
    kept = clinic.patient()
    invoice = completed_visit(clinic)
    # when the second is merged into the first
    patient_merge(actor=clinic.owner, keep=kept, merge=invoice.patient)
    # then the kept record owes it
    [balance] = patient_balance(actor=clinic.owner, patient_id=kept.pk)
    assert balance.owed_minor == PRICE
    assert Invoice.objects.get(pk=invoice.pk).patient_id == kept.pk


@pytest.mark.parametrize(
    "change",
    [
        {"paid_minor": PRICE + 1},  # more paid than asked
        {"refunded_minor": 1},  # refunded more than paid
        {"credited_minor": PRICE, "paid_minor": 1},  # credited and paid past the total
        {"total_minor": PRICE + 1},  # the total does not add up
        {"discount_minor": -1, "total_minor": PRICE + 1},  # a negative amount
        {"status": InvoiceStatus.ISSUED, "number": None},  # issued without a number
    ],
)
def test_the_database_refuses_amounts_that_cannot_be(clinic, change):
    from django.db import IntegrityError, transaction

    invoice = completed_visit(clinic)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(**change)
    fresh = Invoice.objects.get(pk=invoice.pk)
    assert (fresh.paid_minor, fresh.total_minor, fresh.number) == (0, PRICE, invoice.number)


def test_an_issue_that_fails_after_taking_its_number_gives_it_back(clinic):
    from invoicing.models import Counter

    # given a draft, and something subscribed to issued invoices that fails
    draft = billing.invoice_draft_create(
        actor=clinic.owner,
        patient=clinic.patient(),
        branch=clinic.branch,
        lines=[billing.LineIn(description="Report", unit_price_minor=1200)],
    )
    before = Counter.objects.get(name="invoice").next_value

    def fails(event: InvoiceIssued) -> None:
        raise RuntimeError("a subscriber failed")

    subscribe(InvoiceIssued, fails)
    try:
        # when it is issued
        with pytest.raises(RuntimeError):
            billing.invoice_issue(actor=clinic.owner, invoice=draft)
    finally:
        events._subscribers[InvoiceIssued].remove(fails)
    # then nothing changed: still a draft, and the number is the next issue's
    assert Invoice.objects.get(pk=draft.pk).number is None
    assert Counter.objects.get(name="invoice").next_value == before
    issued = billing.invoice_issue(actor=clinic.owner, invoice=draft)
    assert issued.number == f"INV-{before:06d}"
