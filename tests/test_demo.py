"""`make demo` loads a working chain, and loading it again changes nothing."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django_otp.oath import TOTP
from django_tenants.utils import schema_context

from frontend.demo import DEMO_PASSWORD, load
from frontend.demo_history import DISCOUNT_AGREED
from patients.models import ClinicalNote
from scheduling.models import Appointment, Leave, Service
from tenants.db import owner_connection
from tenants.models import Clinic
from tests.helpers import Api


@pytest.fixture(autouse=True)
def demo_chain_dropped(django_db_blocker: Any) -> Iterator[None]:
    """The demo chain's schema is made on the owner's own connection, so it outlives the test's
    rolled-back transaction while its owner account does not: drop it after each test, so the next
    load starts from nothing as `make demo` on a fresh machine does."""
    yield
    with django_db_blocker.unblock(), owner_connection():
        for clinic in Clinic.objects.filter(slug="northwind"):
            clinic.delete(force_drop=True)


def _counts() -> tuple[int, int, int, int]:
    with schema_context("northwind"):
        # the leave to try (the history's holidays and sick days are its own)
        leave = Leave.objects.filter(notes="Conference").count()
        return Service.objects.count(), Appointment.objects.count(), leave, ClinicalNote.objects.count()


def test_demo_loads_once_and_its_logins_work(db):
    printed: list[str] = []
    load(out=printed.append)
    first = _counts()
    assert first[0] == 4
    assert first[1] > 50
    assert first[2] == 1
    assert first[3] == 4  # three signed notes and a draft
    load(out=printed.append)
    assert _counts() == first
    with schema_context("northwind"):
        # the demo doctor reads her patients' notes through real care (her chain assigned her)
        from patients.models import Patient
        from tenants.accounts.models import User

        okafor = User.objects.get(email="dr.okafor@northwind.localhost")
        assert okafor.has_perm("patients.view_clinical", Patient.objects.get(last_name="Hart"))
        # the rest of the record and its history: a scanned consent form, an appointment reception
        # moved, and a duplicate record to merge
        from patients.models import ConsentForm

        consent = ConsentForm.objects.get(patient__last_name="Hart")
        assert consent.attachment is not None
        assert consent.attachment.patient_id == consent.patient_id
        reception_user = User.objects.get(email="reception@northwind.localhost")
        assert Appointment.history.filter(history_type="~", history_user=reception_user).exists()
        assert Patient.objects.filter(last_name="Bennett", merged_into__isnull=True).count() == 2
    with schema_context("northwind"):
        # what a clinic shapes after set-up: a per-branch price, a room out of use, a weekly series
        from scheduling.models import Branch, Room, Series, ServicePrice
        from scheduling.selectors import service_price

        physio = Service.objects.get(name="Physiotherapy session")
        islington, camden = Branch.objects.get(name="Islington"), Branch.objects.get(name="Camden")
        assert ServicePrice.objects.count() == 1
        assert service_price(service=physio, branch=islington) != service_price(service=physio, branch=camden)
        assert Room.objects.filter(branch=camden, is_active=False).count() == 1
        assert Series.objects.filter(entries__patient__last_name="Morgan").distinct().count() == 1
    with schema_context("northwind"):
        # leave over bookings to try: Dr Okafor's next Monday to Wednesday at Camden, as its manager
        from datetime import datetime, time, timedelta
        from zoneinfo import ZoneInfo

        from scheduling.leave_plan import leave_proposal
        from tenants.org.models import StaffMember

        london = ZoneInfo("Europe/London")
        today = datetime.now(london).date()
        monday = today + timedelta(days=7 - today.weekday())
        proposal = leave_proposal(
            actor=User.objects.get(email="manager@northwind.localhost"),
            doctor=StaffMember.objects.get(user__email="dr.okafor@northwind.localhost"),
            start=datetime.combine(monday, time(8), tzinfo=london),
            end=datetime.combine(monday + timedelta(days=2), time(18), tzinfo=london),
        )
        assert proposal.items
        assert proposal.hidden == 0
        # as the printed hint says: Dr Olivia Grant is offered for every general consultation on those mornings
        mornings = [
            i
            for i in proposal.items
            if i.appointment.service.name == "General consultation"
            and i.appointment.span.lower.astimezone(london).hour < 11
        ]
        assert mornings
        assert all(any(o.name == "Olivia Grant" for o in i.free_doctors) for i in mornings)
    with schema_context("northwind"):
        # booking by day: Islington's vaccinations have a full Thursday, and the picker points past it
        from scheduling.free_days import day_picker

        full = Appointment.objects.filter(notes="Demo: a full day").first()
        assert full is not None
        thursday = full.span.lower.astimezone(london).date()
        picker = day_picker(service=full.service, branch=full.branch, day=thursday, step=10, online=True)
        assert picker.times == []
        assert picker.next_free is not None
        assert any(d.free for d in picker.days)
    with schema_context("northwind"):
        # the ledger: weeks of invoiced visits, paid in cash and by card terminal, one in part, one
        # refund, one credit note, and some still owed
        from invoicing.models import CreditNote, Invoice, InvoiceProfile, Payment, Refund

        assert Invoice.objects.filter(number__isnull=False).count() >= 10
        assert {"cash", "card_terminal"} <= set(Payment.objects.values_list("method", flat=True))
        assert Invoice.objects.filter(status="partly_paid").exists()
        assert Invoice.objects.filter(status="issued").exists()
        assert Refund.objects.filter(credit_note__isnull=True, reason="Visit cut short").count() == 1
        # one on an open invoice, one on a paid one with its refund (the history's are discounts of its own)
        assert CreditNote.objects.exclude(reason=DISCOUNT_AGREED).count() == 2
        assert Refund.objects.filter(credit_note__isnull=False).exists()
        assert InvoiceProfile.objects.get().tax_number
        # a month of them on the billing desk, seen by billing staff and reception: some past due, and
        # the invoices dated on their visit's day
        from datetime import timedelta

        from django.utils import timezone

        from invoicing.desk import DeskFilters, billing_desk
        from tenants.accounts.models import User

        clerk = User.objects.get(email="billing@northwind.localhost")
        desk = billing_desk(actor=clerk, filters=DeskFilters())
        assert desk.invoices
        assert desk.receivables
        assert billing_desk(actor=clerk, filters=DeskFilters(overdue=True)).invoices
        assert billing_desk(
            actor=User.objects.get(email="reception@northwind.localhost"), filters=DeskFilters()
        ).invoices
        oldest = Invoice.objects.filter(number__isnull=False).order_by("issued_at").first()
        assert oldest.issued_at < timezone.now() - timedelta(days=28)
    with schema_context("northwind"):
        # fees: the policy, a no-show fee charged to the card on file (paid through Stripe), one declined
        from invoicing.fees import FeeCharge, FeePolicy

        assert FeePolicy.objects.get().no_show_amount_minor == 2500
        charged, declined = FeeCharge.objects.exclude(patient__last_name="Ito").order_by("pk")
        assert (charged.status, charged.invoice.status) == ("succeeded", "paid")
        assert (declined.status, declined.last_error) == ("failed", "Your card was declined.")
        # ... to real patients, never the duplicate "Olly Bennett" registered at the desk to be merged
        for fee in (charged, declined):
            assert fee.appointment.patient.merged_into_id is None
            assert (fee.appointment.patient.first_name, fee.appointment.patient.last_name) != ("Olly", "Bennett")
    with schema_context("northwind"):
        # no-shows: George Ito missed two visits (the sweep marked them, the fee applied): flagged, with
        # a visit coming; the chain asks a deposit online of patients with 2 or more no-shows
        from invoicing.checkout.policy import online_payment_policy_get
        from scheduling.no_shows import no_show_record

        george = Patient.objects.get(first_name="George", last_name="Ito")
        assert no_show_record(patient_id=george.pk).flagged
        assert Appointment.objects.filter(patient=george, status="booked", span__startswith__gt=timezone.now()).exists()
        assert FeeCharge.objects.filter(patient=george, kind="no_show").count() == 2
        assert online_payment_policy_get().no_show_deposit_after == 2
        # ... and he waits for an afternoon: a freed time is offered to him (his page asks that deposit)
        from scheduling.models import WaitlistOffer

        assert WaitlistOffer.objects.filter(entry__patient=george, status="open").exists()
    with schema_context("northwind"):
        # patients' texts back: one confirmed with C, one cancelled with X, one question answered
        from notifications.models import InboundMessage

        outcomes = set(InboundMessage.objects.values_list("outcome", flat=True))
        assert {"confirmed", "cancelled", "answered"} <= outcomes
        cancelled = InboundMessage.objects.get(outcome="cancelled")
        assert cancelled.appointment is not None
        assert cancelled.appointment.status == "cancelled"
    with schema_context("northwind"):
        # session packages in use: Isla Morgan's Physio 10 with sessions used and one booked ahead; a course expired
        from packages.models import PackagePurchase

        isla = PackagePurchase.objects.get(patient__last_name="Morgan")
        assert (isla.used, isla.reserved, isla.status) == (3, 1, "active")
        noah = PackagePurchase.objects.filter(patient__last_name="Fletcher")  # the history's patients have their own
        assert noah.filter(status="expired").count() == 1
        # each sale invoiced on its own day; the expired course was paid, so it does not sit owed in "Current"
        from invoicing.package_ledger import sale_invoice

        for purchase in PackagePurchase.objects.all():
            invoice = sale_invoice(purchase=purchase)
            assert invoice is not None
            assert abs(invoice.issued_at - purchase.sold_at) < timedelta(minutes=1)
        expired = noah.get(status="expired")
        assert sale_invoice(purchase=expired).status == "paid"
    with schema_context("northwind"):
        # two years of history behind the dashboards, with their figures (loaded once: the counts above)
        from reporting.models import DoctorDay

        two_years_ago = timezone.now() - timedelta(days=700)
        assert Appointment.objects.filter(span__startswith__lt=two_years_ago).exists()
        assert DoctorDay.objects.filter(day__lt=two_years_ago.date(), booked_minutes__gt=0).exists()
    with schema_context("northwind"):
        # reconciliation: a payout holding the Stripe payments the demo made (the fee charged to a card,
        # the online deposit), and exactly one mismatch, a payment at Stripe missing here, to act on
        from invoicing.models import Mismatch, Payment, Payout, ReconciliationRun
        from invoicing.reconciliation.selectors import reconciliation_overview

        payout = Payout.objects.get()
        contained = {t.payment.reference for t in payout.transactions.filter(payment__isnull=False)}
        stripe_paid = set(Payment.objects.filter(method="stripe").values_list("reference", flat=True))
        assert contained == stripe_paid
        assert "pi_demo_deposit" in contained
        assert any(ref.startswith("pi_demo_fee_") for ref in contained)
        assert payout.amount_minor == sum(t.net_minor for t in payout.transactions.exclude(type="payout"))
        mismatch = Mismatch.objects.get()
        assert (mismatch.kind, mismatch.is_open) == ("missing_here", True)
        run = ReconciliationRun.objects.get()
        assert run.demo
        assert (run.payouts, run.mismatches, run.matched) == (1, 1, len(stripe_paid))
        # and it can be recorded against an open invoice of the consultation's price
        row = reconciliation_overview(actor=User.objects.get(email="billing@northwind.localhost")).rows[0]
        assert row.recordable
        assert row.txn.description
        assert row.candidates
        assert row.candidates[0].owing == mismatch.stripe_amount_minor
    text = "\n".join(printed)
    assert "/settings/leave/: Dr Chidi Okafor" in text
    assert "No Stripe is reached in the demo" in text
    assert "/reports/" in text
    # the printed booking link shows the deposit paid online (the demo's paid checkout)
    link = re.search(r"Booking link\s+\S+?(/book/manage/\S+/)", text).group(1)
    from django.conf import settings
    from django.test import Client

    booking = Client().get(link, HTTP_HOST=f"northwind.{settings.BASE_DOMAIN}").content.decode()
    assert "Deposit paid" in booking
    assert re.search(r"Deposit paid</span>\s*£20\.00 paid", booking)
    assert "owner@northwind.localhost" in text
    assert DEMO_PASSWORD in text
    reception = Api("northwind.localhost")
    response = reception.call(
        "POST", "/api/v1/auth/login/", {"email": "reception@northwind.localhost", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200
    # the owner signs in with the printed authenticator key, as a newcomer's app would
    secret = re.search(r"authenticator\s+app[^:]*: ([A-Z2-7 ]+)", text).group(1).replace(" ", "")
    code = f"{TOTP(base64.b32decode(secret)).token():06d}"
    owner = reception.call(
        "POST",
        "/api/v1/auth/login/",
        {"email": "owner@northwind.localhost", "password": DEMO_PASSWORD, "otp": code},
    )
    assert owner.status_code == 200, owner.content


def test_the_demo_loaded_in_quiet_hours_leaves_no_backlog_of_old_messages(db):
    # given it is 03:00 in London, inside the demo chain's quiet hours (21:00 to 08:00)
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    import time_machine
    from django.utils import timezone

    from notifications.models import Kind, Message, MessageStatus, MessagingSettings
    from notifications.services import resend_blocked
    from scheduling.models import Status

    london = ZoneInfo("Europe/London")
    night = datetime.combine(datetime.now(london).date() + timedelta(days=1), time(3), tzinfo=london)
    with time_machine.travel(night, tick=True):
        # when the demo is loaded
        load(out=lambda _line: None)

        with schema_context("northwind"):
            now = timezone.now()
            quiet = MessagingSettings.objects.get(pk=1)
            pending = Message.objects.filter(status=MessageStatus.PENDING)
            # then its quiet hours are as they were (the loader only set them aside for its past)
            assert (quiet.quiet_hours_start, quiet.quiet_hours_end) == (time(21), time(8))
            # and the history's confirmations, receipts, notices and answers went when they happened:
            # nothing is left to go at once when quiet hours end
            # (the waitlist's offers are live: they wait for quiet hours to end, as the desk says)
            history = pending.exclude(kind=Kind.WAITLIST_OFFER)
            assert not history.filter(due_at__lte=now).exists(), list(history.filter(due_at__lte=now).values("kind"))
            assert set(history.values_list("kind", flat=True)) <= {Kind.REMINDER}
            assert not history.filter(appointment__span__startswith__lte=now).exists()
            sent = Message.objects.filter(kind=Kind.CONFIRMATION, status=MessageStatus.SENT)
            assert sent.exists()
            assert all(m.sent_at <= now and abs(m.sent_at - m.due_at) < timedelta(minutes=5) for m in sent)
            # and the history's confirmations were sent when their bookings were made, also those of
            # visits that are over by now: none reads "Not sent"
            assert not Message.objects.filter(kind=Kind.CONFIRMATION, status=MessageStatus.SKIPPED).exists()
            over = sent.filter(appointment__status=Status.COMPLETED)
            assert over.exists()
            assert all(m.body and m.sent_at <= now for m in over)
            # and the deliberate ones stay as the printed hints say: one e-mail failed for good, a
            # booking's confirmation to a mistyped address, which staff can send again
            failed = Message.objects.get(key="demo:log:failed")
            assert (failed.status, failed.kind, failed.channel) == (MessageStatus.FAILED, Kind.CONFIRMATION, "email")
            assert resend_blocked(message=failed) == ""
            # and the history's confirmations of visits over, and of the visits marked missed (sent,
            # not dropped; a text's delivered), read as sent before their visits, the manage link masked as a real one's
            missed = Message.objects.filter(kind=Kind.CONFIRMATION, appointment__status=Status.NO_SHOW)
            assert missed.exists()
            assert set(missed.values_list("status", flat=True)) <= {MessageStatus.SENT, MessageStatus.DELIVERED}
            for message in [*over, *missed]:
                assert message.sent_at == message.due_at < message.appointment.span.lower
                assert "…" in message.body
            # and the SMS the demo shows delivered went to patients who agreed to texts, with their text
            # kept; the reminder at a reminder time (a day before its visit)
            delivered = Message.objects.filter(channel="sms", status=MessageStatus.DELIVERED).select_related(
                "patient", "appointment"
            )
            # (C answers a reminder of a visit within the day ahead, or, when no branch opens then, a confirmation)
            assert delivered.filter(kind__in=(Kind.REMINDER, Kind.CONFIRMATION)).exists()
            for message in delivered:
                assert message.body
                if message.appointment is not None:
                    assert message.patient.sms_consent_at is not None
                    assert message.patient.sms_consent_withdrawn_at is None
                if message.kind == Kind.REMINDER:
                    ahead = message.appointment.span.lower - message.due_at
                    assert abs(ahead - timedelta(days=1)) <= timedelta(hours=1), ahead
            # and the desk's answer to Amelia is a staff answer headed with the chain's name
            answer = Message.objects.get(kind=Kind.REPLY, patient__last_name="Hart", staff_user__isnull=False)
            assert answer.body.startswith("Northwind Health: ")
            # and every demo row is written in the patient's language (the chain's en-GB), never a bare "en"
            assert not Message.objects.filter(language="en").exists()
