"""What patients are told when something changes: a moved or cancelled appointment (in the leave
hook's words when the doctor's leave made it necessary, with the new time or the link to book
again), a missed one, a receipt for a payment and a notice of a fee charged (not both for one fee)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from invoicing.fees import FeeCharge, FeeRule
from invoicing.models import InvoiceStatus, PaymentMethod
from invoicing.services import fees, invoice_issue, payment_record
from invoicing.services.fees import FeeRuleIn, fee_charge_run
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.placeholders import placeholders
from patients.services import patient_merge
from scheduling import services as sched
from scheduling.leave_plan import LeaveAction
from tests.factories.cards import card_saved, connected
from tests.factories.invoicing import completed_visit, priced
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.fakes.stripe_server import FakeStripe
from tests.notifications.sent_world import kinds, messaging, reachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[24 * 60], quiet=(time(21), time(8)))
    return clinic_setup(in_a, doctors=2)


def _sent(appointment_id: int, kind: str) -> None:
    """As if the dispatcher had sent these already."""
    Message.objects.filter(appointment_id=appointment_id, kind=kind).update(
        status=MessageStatus.SENT, sent_at=timezone.now()
    )


def test_a_moved_appointment_is_told_with_its_new_time(clinic):
    # given a confirmed booking whose confirmation went out
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    _sent(appointment.pk, Kind.CONFIRMATION)
    # when reception moves it to 14:00
    moved = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=clinic.at(MONDAY, 14)
    )
    # then the patient is told on both channels, and the message names the new time on the branch's clock
    notices = Message.objects.filter(appointment_id=moved.pk, kind=Kind.RESCHEDULED)
    assert sorted(notices.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.SMS]
    assert placeholders(notices[0]).values["time"] in {"2:00\u202fPM", "2:00 PM", "14:00"}


def test_a_move_before_the_confirmation_went_out_is_told_by_the_confirmation(clinic):
    # given a booking whose confirmation is still waiting
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    # when it is moved at once
    sched.appointment_reschedule(actor=clinic.receptionist, appointment=appointment, start=clinic.at(MONDAY, 14))
    # then no separate notice is written: the confirmation, composed when sent, names 14:00
    assert {k for k, _ in kinds(appointment.pk)} == {Kind.CONFIRMATION}


def test_the_leave_hook_tells_the_patients_why_and_what_now(clinic):
    # given two patients booked with the first doctor on Monday morning
    doctor, other = clinic.doctors
    kept = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic), doctor=doctor)
    dropped = book(clinic, clinic.at(MONDAY, 11), patient=reachable(clinic), doctor=doctor)
    for appointment in (kept, dropped):
        _sent(appointment.pk, Kind.CONFIRMATION)
    # when the manager records her leave, moving one patient to the other doctor and cancelling the other
    sched.leave_create_resolving(
        actor=clinic.owner,
        doctor=doctor,
        start=clinic.at(MONDAY, 9),
        end=clinic.at(MONDAY, 13),
        reason="Conference",
        decisions={
            kept.pk: sched.LeaveDecision(LeaveAction.MOVE_TO_DOCTOR, doctor=other),
            dropped.pk: sched.LeaveDecision(LeaveAction.CANCEL, reason="The doctor is away"),
        },
    )
    # then the moved patient hears the leave's words with the new doctor, still at 10:00, and a manage link
    moved = Message.objects.get(appointment_id=kept.pk, kind=Kind.LEAVE_MOVED, channel=Channel.EMAIL)
    values = placeholders(moved).values
    assert values["doctor"] == other.user.get_full_name()
    assert "/book/manage/" in values["manage_link"]
    # and the cancelled one is told, with the link to book again; no plain notices beside them
    cancelled = Message.objects.get(appointment_id=dropped.pk, kind=Kind.LEAVE_CANCELLED, channel=Channel.EMAIL)
    assert placeholders(cancelled).values["link"].endswith("/book/")
    assert not Message.objects.filter(
        appointment_id__in=[kept.pk, dropped.pk], kind__in=[Kind.RESCHEDULED, Kind.CANCELLED]
    ).exists()
    # and the cancellation e-mail takes the appointment off the patient's calendar
    [(_, ics, _)] = placeholders(cancelled).attachments
    assert "METHOD:CANCEL" in ics


def test_a_missed_appointment_is_told_once(clinic):
    # given a booked appointment
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    _sent(appointment.pk, Kind.CONFIRMATION)
    # when reception marks the patient as not come
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=appointment, now=clinic.at(MONDAY, 10, 30))
    # then a missed-appointment notice is written on each channel, with the link to book again
    notices = Message.objects.filter(appointment_id=appointment.pk, kind=Kind.NO_SHOW)
    assert notices.count() == 2
    assert placeholders(notices[0]).values["link"].endswith("/book/")


def test_a_payment_gets_a_receipt_with_the_amount_in_the_chains_currency(clinic):
    # given a completed visit's invoice for a patient with an e-mail address
    patient = reachable(clinic)
    invoice = completed_visit(priced(clinic), patient=patient)
    if invoice.status == InvoiceStatus.DRAFT:
        invoice = invoice_issue(actor=clinic.owner, invoice=invoice)
    # when reception takes £75.00 in cash
    payment = payment_record(actor=clinic.receptionist, invoice=invoice, method=PaymentMethod.CASH, amount_minor=7500)
    # then a receipt is e-mailed (one channel: e-mail first), written in the chain's currency
    receipt = Message.objects.get(kind=Kind.RECEIPT, patient=patient)
    assert (receipt.channel, receipt.recipient, receipt.key) == (
        Channel.EMAIL,
        patient.email,
        f"receipt:{payment.pk}:email",
    )
    assert placeholders(receipt).values["amount"] == "£75.00"


@pytest.fixture
def fee_clinic(in_a, stripe_fake: FakeStripe):
    messaging(offsets=[24 * 60], quiet=(time(21), time(8)))
    clinic = priced(clinic_setup(in_a, doctors=1))
    connected(in_a, stripe_fake)
    fees.fee_policy_update(
        actor=in_a.users["owner"],
        no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500),
        late_cancellation=FeeRuleIn(FeeRule.PERCENT, percent_bp=5000),
    )
    return clinic


def test_a_fee_charged_is_told_once_and_not_as_a_receipt(fee_clinic, stripe_fake):
    # given a patient with a card on file who missed a visit
    clinic = fee_clinic
    patient = reachable(clinic)
    card_saved(patient, stripe_fake, "pm_card_visa")
    start = clinic.at(MONDAY, 10)
    appointment = book(clinic, start, patient=patient)
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=appointment, now=start + timedelta(hours=1))
    charge = FeeCharge.objects.get(appointment=appointment)
    # when the fee is charged (and the task runs twice)
    fee_charge_run(fee_charge_id=charge.pk)
    fee_charge_run(fee_charge_id=charge.pk)
    # then one fee notice is written, naming £25.00; the fee's payment sends no receipt of its own
    notice = Message.objects.get(kind=Kind.FEE_NOTICE, patient=patient)
    assert notice.channel == Channel.EMAIL
    assert placeholders(notice).values["amount"] == "£25.00"
    assert not Message.objects.filter(kind=Kind.RECEIPT, patient=patient).exists()


def test_a_merged_records_messages_move_with_its_appointments(clinic):
    # given a duplicate record with a booking and its messages
    kept, duplicate = reachable(clinic), reachable(clinic)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=duplicate)
    written = set(Message.objects.filter(appointment_id=appointment.pk).values_list("pk", flat=True))
    # when the duplicate is merged into the kept record
    patient_merge(actor=clinic.owner, keep=kept, merge=duplicate)
    # then its messages are the kept record's (its chart lists them)
    assert set(Message.objects.filter(patient=kept).values_list("pk", flat=True)) == written
