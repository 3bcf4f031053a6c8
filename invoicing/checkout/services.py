"""Stripe Checkout for an amount of an invoice, and the one place its outcome is taken.

``checkout_start`` (inside the caller's transaction) keeps a row for the checkout; ``checkout_open``
(after commit) opens the Checkout Session on the chain's connected account, with an idempotency key
named after that row, so a retry or a crash between the call and its write answers the same
session. ``checkout_settle`` takes the session's outcome from a fresh read at Stripe (never from an
event's snapshot) and applies it once under the checkout's row lock, whoever asks: each webhook
(completed, async payment succeeded, payment intent succeeded, expired), the visitor's return page
and the periodic sweep. A paid session records one Stripe payment and confirms its hold; a paid
session whose time was taken meanwhile is refunded at Stripe; an expired one gives the time back
and voids the invoice. A card setup (a session in setup mode: the chain asks for a card and nothing
is due now) charges nothing: completed, it keeps the card it saved and confirms its hold, once.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import stripe
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context
from stripe.params.checkout import SessionCreateParams

from config.errors import ApplicationError, NotFound
from config.events import publish
from config.money import money_format
from invoicing.checkout.events import OnlineCheckoutPaid, OnlineCheckoutRefunded
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.checkout.overpaid import stripe_payment_with_refund
from invoicing.checkout.policy import (
    Deposit,
    card_setup_asked,
    deposit_for,
    no_show_deposit_rule,
    online_payment_policy_get,
    package_covers,
)
from invoicing.connect.client import idempotency_key, stripe_client
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from invoicing.connect.selectors import connection_get
from invoicing.exceptions import Overpayment
from invoicing.models import OPEN_STATUSES, Invoice, InvoiceStatus, Payment, PaymentMethod
from invoicing.services.cards import card_on_file_get, card_on_file_save, stripe_customer_for
from invoicing.services.invoices import locked, positive, raise_for_appointment, void_unpaid
from invoicing.services.payments import payment_add
from patients.models import Patient
from scheduling.exceptions import OnlinePaymentRequired, WaitlistOfferTaken
from scheduling.models import Appointment, Status
from scheduling.services import (
    appointment_hold_confirm,
    appointment_hold_extend,
    appointment_hold_lapse,
    manage_link_issue,
    waitlist_offer_accept,
    waitlist_offer_reserve,
    waitlist_offer_unpaid,
)
from scheduling.services.online import OnlineBooking, OnlineVisitor, online_booking_confirm, online_booking_identify
from scheduling.waitlist import waitlist_offer_read
from tenants.authz import Actor, authorize
from tenants.models import StripeConnection
from tenants.org.selectors import chain_settings_get
from tenants.selectors import current_clinic_url, current_schema

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long a Checkout Session stays open (Stripe takes 30 minutes to 24 hours; a minute of margin
#: for the time between our row and Stripe's clock). A booking's hold is kept as long.
SESSION_LIFETIME = timedelta(minutes=31)
STRIPE_SHORTEST = timedelta(minutes=30)
#: How long a link staff send a patient to save a card stays open (Stripe's longest is 24 hours).
CARD_LINK_LIFETIME = timedelta(hours=23)
LATE_REFUND_REASON = (
    "The held time had expired, was cancelled or was taken before the payment arrived: the payment is refunded in full."
)


def after_commit(job: Callable[[], object]) -> None:
    """Run ``job`` once the current transaction commits, in the chain's schema of now."""
    schema = current_schema()

    def run() -> None:
        with schema_context(schema):
            job()

    transaction.on_commit(run)


def _options(checkout: OnlineCheckout, kind: str) -> stripe.RequestOptions:
    return {
        "stripe_account": checkout.account_id,
        "idempotency_key": idempotency_key(kind, current_schema(), checkout.pk),
    }


def _connected() -> StripeConnection:
    stripe_account = connection_get()
    if stripe_account is None or not stripe_account.is_connected:
        raise StripeNotConnected()
    return stripe_account


def checkout_start(
    *,
    invoice: Invoice | None,
    patient: Patient,
    amount_minor: int,
    purpose: str,
    description: str,
    success_path: str,
    cancel_path: str,
    hold: Appointment | None = None,
    notes: str = "",
    expires_at: datetime | None = None,
) -> OnlineCheckout:
    """A checkout of ``amount_minor`` of an issued invoice, kept inside the caller's transaction;
    open it at Stripe after commit (``checkout_open``) and send the visitor to its ``session_url``.
    ``success_path``/``cancel_path`` are paths on the chain's site where ``{token}`` stands for the
    checkout's return token. Refused when the chain's Stripe account cannot take payments
    (stripe_not_connected) or the invoice asks for less (overpayment).

    A card setup (``purpose=CheckoutPurpose.CARD_SETUP``, no invoice, ``amount_minor=0``) saves a
    card and charges nothing: its session is opened in setup mode on the patient's Customer, and a
    booking's confirms its hold once the card is saved."""
    stripe_account = _connected()
    if purpose == CheckoutPurpose.CARD_SETUP or invoice is None:
        if purpose != CheckoutPurpose.CARD_SETUP or invoice is not None or amount_minor:
            raise ValueError("a card setup has no invoice and no amount; a payment has both")
        currency = chain_settings_get().currency
    else:
        positive(amount_minor)
        invoice = locked(invoice)
        if invoice.status not in OPEN_STATUSES or amount_minor > invoice.due_minor:
            raise Overpayment(f"The invoice asks for {invoice.due_minor} (minor units).")
        currency = invoice.currency
    token = secrets.token_urlsafe(24)
    return OnlineCheckout.objects.create(
        invoice=invoice,
        patient=patient,
        purpose=purpose,
        description=description[:200],
        amount_minor=amount_minor,
        currency=currency,
        hold=hold,
        notes=notes[:200],
        return_token=token,
        account_id=stripe_account.account_id,
        expires_at=expires_at or timezone.now() + SESSION_LIFETIME,
        success_path=success_path,
        cancel_path=cancel_path,
    )


def checkout_open(*, checkout: OnlineCheckout) -> OnlineCheckout:
    """The checkout's Checkout Session, opened at Stripe on first call (outside any transaction:
    no row is locked while Stripe answers). Stripe being unreachable leaves the checkout waiting
    (the sweep opens it or lets it lapse) and answers stripe_unavailable."""
    if checkout.session_id or checkout.status != CheckoutStatus.OPEN:
        return checkout
    if checkout.expires_at < timezone.now() + STRIPE_SHORTEST:
        checkout_lapse(checkout_id=checkout.pk)
        raise StripeUnavailable("The payment page could not be opened in time. Please choose a time again.")
    base = current_clinic_url()
    metadata = {
        "checkout_id": str(checkout.pk),
        "invoice_id": str(checkout.invoice_id or ""),
        "purpose": checkout.purpose,
        "hold_id": str(checkout.hold_id or ""),
    }
    if checkout.purpose == CheckoutPurpose.CARD_SETUP:
        params = _setup_params(checkout, metadata, base)
    else:
        params = _payment_params(checkout, metadata, base)
    try:
        session = stripe_client().v1.checkout.sessions.create(params=params, options=_options(checkout, "checkout"))
    except stripe.StripeError as error:
        log.warning("checkout session create failed for checkout %s: %s", checkout.pk, error)
        raise StripeUnavailable() from error
    with transaction.atomic():
        row = OnlineCheckout.objects.select_for_update().get(pk=checkout.pk)
        if not row.session_id:
            row.session_id = session.id
            row.session_url = str(session.url)
            row.setup_intent_id = _setup_intent_id(getattr(session, "setup_intent", None))
            row.save(update_fields=["session_id", "session_url", "setup_intent_id"])
    return row


def _setup_intent_id(found: object) -> str:
    """A session's ``setup_intent``: its id, or the id of the object when Stripe expanded it."""
    if isinstance(found, str):
        return found
    if isinstance(found, dict):
        return str(found.get("id") or "")
    return str(getattr(found, "id", "") or "")


def _setup_params(checkout: OnlineCheckout, metadata: dict[str, str], base: str) -> SessionCreateParams:
    """A session in setup mode: the patient enters a card, Stripe checks it and keeps it on the
    patient's Customer for later off-session charges (the clinic's fees); nothing is charged."""
    return {
        "mode": "setup",
        "currency": checkout.currency.lower(),
        "customer": stripe_customer_for(checkout.patient).customer_id,
        "client_reference_id": str(checkout.pk),
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata, "description": checkout.description},
        "expires_at": int(checkout.expires_at.timestamp()),
        "success_url": base + checkout.success_path.format(token=checkout.return_token),
        "cancel_url": base + checkout.cancel_path.format(token=checkout.return_token),
    }


def _payment_params(checkout: OnlineCheckout, metadata: dict[str, str], base: str) -> SessionCreateParams:
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": checkout.currency.lower(),
                    "unit_amount": checkout.amount_minor,
                    "product_data": {"name": checkout.description},
                },
            }
        ],
        "client_reference_id": str(checkout.pk),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "expires_at": int(checkout.expires_at.timestamp()),
        "success_url": base + checkout.success_path.format(token=checkout.return_token),
        "cancel_url": base + checkout.cancel_path.format(token=checkout.return_token),
    }
    if checkout.hold_id is not None and online_payment_policy_get().ask_for_card:
        # The card paying the deposit is kept for the chain's fees (no-show, late cancellation):
        # Stripe saves it on the patient's Customer, the settlement records it (card_on_file_save).
        params["customer"] = stripe_customer_for(checkout.patient).customer_id
        params["payment_intent_data"] = {"metadata": metadata, "setup_future_usage": "off_session"}
    elif checkout.patient.email:
        params["customer_email"] = checkout.patient.email
    return params


@dataclass(frozen=True)
class _Outcome:
    paid: bool
    expired: bool
    amount_minor: int
    payment_intent_id: str
    paid_at: datetime | None
    saved_method: str  # the card Stripe saved for later charges (setup_future_usage), if any


def _read_setup(checkout: OnlineCheckout) -> _Outcome:
    """A setup session as Stripe has it now, and its SetupIntent: done when the intent succeeded
    with a card; an expired session (or a completed one whose intent was canceled) gives the time back."""
    options: stripe.RequestOptions = {"stripe_account": checkout.account_id}
    client = stripe_client()
    try:
        session = client.v1.checkout.sessions.retrieve(str(checkout.session_id), options=options).to_dict()
        intent_id = _setup_intent_id(session.get("setup_intent"))
        saved, done_at, canceled = "", None, False
        if session.get("status") == "complete" and intent_id:
            intent = client.v1.setup_intents.retrieve(intent_id, options=options).to_dict()
            method = intent.get("payment_method")
            if intent.get("status") == "succeeded" and isinstance(method, str):
                saved = method
                done_at = datetime.fromtimestamp(int(intent.get("created") or 0), tz=UTC)
            canceled = intent.get("status") == "canceled"
    except stripe.StripeError as error:
        log.warning("checkout setup session read failed for checkout %s: %s", checkout.pk, error)
        raise StripeUnavailable() from error
    return _Outcome(
        paid=bool(saved),
        expired=session.get("status") == "expired" or canceled,
        amount_minor=0,
        payment_intent_id=intent_id,  # the SetupIntent's id
        paid_at=done_at,
        saved_method=saved,
    )


def _read(checkout: OnlineCheckout) -> _Outcome:
    """The session as Stripe has it now (and its payment intent, when paid)."""
    if checkout.purpose == CheckoutPurpose.CARD_SETUP:
        return _read_setup(checkout)
    options: stripe.RequestOptions = {"stripe_account": checkout.account_id}
    client = stripe_client()
    try:
        session = client.v1.checkout.sessions.retrieve(str(checkout.session_id), options=options).to_dict()
        paid = session.get("status") == "complete" and session.get("payment_status") == "paid"
        intent_id = str(session.get("payment_intent") or "")
        paid_at, saved, failed = None, "", False
        if session.get("status") == "complete" and intent_id:
            intent = client.v1.payment_intents.retrieve(intent_id, options=options).to_dict()
            # A delayed payment method that failed leaves the session complete and unpaid for good.
            failed = not paid and intent.get("status") in ("canceled", "requires_payment_method")
            paid = paid and intent.get("status") == "succeeded"
            paid_at = datetime.fromtimestamp(int(intent.get("created") or 0), tz=UTC)
            if intent.get("setup_future_usage") and isinstance(intent.get("payment_method"), str):
                saved = str(intent["payment_method"])
    except stripe.StripeError as error:
        log.warning("checkout session read failed for checkout %s: %s", checkout.pk, error)
        raise StripeUnavailable() from error
    return _Outcome(
        paid=paid and bool(intent_id),
        expired=session.get("status") == "expired" or failed,
        amount_minor=int(session.get("amount_total") or 0),
        payment_intent_id=intent_id,
        paid_at=paid_at,
        saved_method=saved,
    )


def checkout_settle(*, checkout_id: int) -> OnlineCheckout:
    """Apply what Stripe says of the checkout's session, once: paid records the Stripe payment and
    confirms the hold (or refunds a payment whose time was taken), expired gives the time back and
    voids the invoice, anything else waits. Safe to call any number of times, in any order, at once."""
    checkout = OnlineCheckout.objects.get(pk=checkout_id)
    if checkout.status != CheckoutStatus.OPEN or not checkout.session_id:
        return checkout
    outcome = _read(checkout)  # before any row is locked
    if not (outcome.paid or outcome.expired):
        return checkout
    with transaction.atomic():
        checkout = OnlineCheckout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != CheckoutStatus.OPEN:
            return checkout  # settled meanwhile by another delivery
        if outcome.paid and checkout.purpose == CheckoutPurpose.CARD_SETUP:
            _card_saved(checkout, outcome)
        elif outcome.paid:
            _paid(checkout, outcome)
        else:
            _lapse(checkout, reason="The online payment was not made in time.")
    return checkout


def _hold_settled(checkout: OnlineCheckout, *, book: bool, at: datetime) -> bool:
    """The checkout's hold becomes the patient's booking (``book``) or is given back; True when
    booked. A hold gone meanwhile (lapsed, cancelled, taken) books nothing. No hold: ``book``."""
    if checkout.hold_id is None:
        return book
    hold = Appointment.objects.get(pk=checkout.hold_id)
    try:
        with transaction.atomic():
            if not book:
                _hold_given_back(hold)
            else:
                appointment_hold_confirm(
                    actor=None,
                    hold=hold,
                    hold_token=hold.hold_token,
                    patient=checkout.patient,
                    notes=checkout.notes,
                    now=at,
                )
    except ApplicationError as refused:
        log.warning("checkout %s settled, but its hold %s is gone (%s)", checkout.pk, hold.pk, refused.code)
        # a waitlist offer's patient whose kept time ran out (and was booked by someone) waits again
        waitlist_offer_unpaid(hold_id=hold.pk)
        return False
    return book


def _paid(checkout: OnlineCheckout, outcome: _Outcome) -> None:
    """Record the payment Stripe took, always and once. The hold is confirmed unless the invoice
    was voided meanwhile (then the time is given back); what the invoice no longer asks for (paid
    at the desk, credited, voided) or a payment whose time was gone is refunded at once."""
    now = timezone.now()
    paid_at = min(outcome.paid_at or now, now)
    amount = outcome.amount_minor or checkout.amount_minor
    invoice = locked(_invoice_id(checkout))
    recorded = Payment.objects.filter(method=PaymentMethod.STRIPE, reference=outcome.payment_intent_id).first()
    if recorded is not None:  # billing recorded it by hand already (reconciliation's "record against invoice")
        _recorded_by_hand(checkout, invoice, recorded, outcome, at=paid_at)
        return
    booked = _hold_settled(checkout, book=invoice.status != InvoiceStatus.VOID, at=paid_at)
    excess = max(amount - invoice.due_minor, 0) if booked else amount
    if excess:
        reason = _refund_reason(invoice, amount=amount, excess=excess, booked=booked)
        payment, refund = stripe_payment_with_refund(
            invoice,
            amount_minor=amount,
            refund_minor=excess,
            reason=reason,
            reference=outcome.payment_intent_id,
            received_at=paid_at,
            void=not booked and invoice.paid_minor == 0,
        )
        log.warning("checkout %s paid %s, refunded %s: %s", checkout.pk, amount, excess, reason)
    else:
        payment = payment_add(
            invoice,
            actor=None,
            method=PaymentMethod.STRIPE,
            amount_minor=amount,
            reference=outcome.payment_intent_id,
            received_at=paid_at,
        )
    checkout.payment = payment
    checkout.payment_intent_id = outcome.payment_intent_id
    checkout.settled_at = now
    checkout.status = CheckoutStatus.PAID if booked else CheckoutStatus.REFUNDED
    checkout.save(update_fields=["payment", "payment_intent_id", "settled_at", "status"])
    if booked:
        publish(OnlineCheckoutPaid(checkout.pk, invoice.pk, payment.pk, checkout.purpose))
        if outcome.saved_method:
            after_commit(_card_keeper(checkout.patient, outcome.saved_method))
    if excess:
        publish(OnlineCheckoutRefunded(checkout.pk, invoice.pk, payment.pk, refund.pk, excess, refund.reason))


def _recorded_by_hand(
    checkout: OnlineCheckout, invoice: Invoice, payment: Payment, outcome: _Outcome, *, at: datetime
) -> None:
    """The payment of a checkout billing already recorded (its payment intent is in the ledger): it
    is not recorded again; the hold is confirmed unless the invoice was voided, and the checkout is
    settled on that payment."""
    booked = _hold_settled(checkout, book=invoice.status != InvoiceStatus.VOID, at=at)
    checkout.payment = payment
    checkout.payment_intent_id = outcome.payment_intent_id
    checkout.settled_at = timezone.now()
    checkout.status = CheckoutStatus.PAID if booked else CheckoutStatus.REFUNDED
    checkout.save(update_fields=["payment", "payment_intent_id", "settled_at", "status"])
    if booked:
        publish(OnlineCheckoutPaid(checkout.pk, invoice.pk, payment.pk, checkout.purpose))


def _invoice_id(checkout: OnlineCheckout) -> int:
    if checkout.invoice_id is None:  # only a card setup has none, and it is never paid
        raise ValueError(f"checkout {checkout.pk} has no invoice")
    return checkout.invoice_id


def _card_saved(checkout: OnlineCheckout, outcome: _Outcome) -> None:
    """A card setup completed at Stripe (under the checkout's row lock, once): its hold becomes the
    booking and the card it saved is kept as the patient's card on file (re-read from Stripe after
    commit). A hold gone meanwhile (lapsed, cancelled, taken) is not booked and the card not kept."""
    now = timezone.now()
    booked = _hold_settled(checkout, book=True, at=min(outcome.paid_at or now, now))
    checkout.setup_intent_id = outcome.payment_intent_id
    checkout.payment_method_id = outcome.saved_method
    checkout.settled_at = now
    checkout.status = CheckoutStatus.CARD_SAVED if booked else CheckoutStatus.EXPIRED
    checkout.save(update_fields=["setup_intent_id", "payment_method_id", "settled_at", "status"])
    if booked:
        after_commit(_card_keeper(checkout.patient, outcome.saved_method))


def _refund_reason(invoice: Invoice, *, amount: int, excess: int, booked: bool) -> str:
    """Why a payment taken online is refunded, as billing reads it on the refund."""
    shown = money_format(excess, invoice.currency, locale=chain_settings_get().locale)
    number = invoice.number or f"{invoice.pk}"
    if invoice.status == InvoiceStatus.VOID:
        return (
            f"Paid twice: invoice {number} was voided before the online payment arrived; "
            f"the {shown} paid online is refunded."
        )
    if not booked:
        return LATE_REFUND_REASON
    if excess < amount:
        return (
            f"Paid twice: invoice {number} asked for less than was paid online (paid at the desk or "
            f"credited meanwhile); the {shown} not owed is refunded."
        )
    return (
        f"Paid twice: invoice {number} was already settled (paid at the desk or credited) when the "
        f"online payment arrived; the {shown} paid online is refunded."
    )


def _card_keeper(patient: Patient, payment_method_id: str) -> Callable[[], object]:
    """Keep the card that paid as the patient's card on file (re-read from Stripe, after commit:
    no row is locked while Stripe answers; a failure leaves the booking paid, without a card)."""

    def keep() -> None:
        try:
            card_on_file_save(actor=None, patient=patient, payment_method_id=payment_method_id)
        except ApplicationError as refused:
            log.warning("card of patient %s not kept: %s", patient.pk, refused.code)

    return keep


def _hold_given_back(hold: Appointment) -> None:
    """An unpaid checkout's hold given back; a waitlist offer's patient who did not pay waits again."""
    appointment_hold_lapse(hold_id=hold.pk, hold_token=hold.hold_token)
    waitlist_offer_unpaid(hold_id=hold.pk)


def _lapse(checkout: OnlineCheckout, *, reason: str, void: bool = True) -> None:
    if checkout.hold_id is not None:
        _hold_given_back(Appointment.objects.get(pk=checkout.hold_id))
    if checkout.invoice_id is not None:  # a card setup has none
        invoice = locked(checkout.invoice_id)
        if void and invoice.status in OPEN_STATUSES and not invoice.paid_minor and not invoice.payments.exists():
            void_unpaid(invoice, actor=None, reason=reason)
    checkout.status = CheckoutStatus.EXPIRED
    checkout.settled_at = timezone.now()
    checkout.save(update_fields=["status", "settled_at"])


@transaction.atomic
def checkout_lapse(*, checkout_id: int) -> OnlineCheckout:
    """A checkout that never reached Stripe, or whose time is up, gives its hold back and voids its
    invoice (a paid one is never lapsed: it is settled)."""
    checkout = OnlineCheckout.objects.select_for_update().get(pk=checkout_id)
    if checkout.status == CheckoutStatus.OPEN and checkout.payment_id is None:
        _lapse(checkout, reason="The online payment page could not be opened.")
    return checkout


def invoice_checkouts_close(invoice_id: int) -> None:
    """Before the desk voids an invoice (invoicing.services.invoices.BEFORE_VOID, outside any
    transaction): each checkout still open for it is expired at Stripe, so the patient can no longer
    pay it, and its hold given back. Stripe refuses to expire a session already completed: that one
    is settled now, its payment recorded (and the void is refused: the invoice has a payment).
    Stripe unreachable leaves the checkout open: paid later, it is recorded and refunded."""
    for checkout in OnlineCheckout.objects.filter(invoice_id=invoice_id, status=CheckoutStatus.OPEN):
        if checkout.session_id:
            try:
                stripe_client().v1.checkout.sessions.expire(
                    checkout.session_id, options={"stripe_account": checkout.account_id}
                )
            except stripe.StripeError as error:
                log.info("checkout %s not expired at Stripe (%s): settled instead", checkout.pk, error)
                with contextlib.suppress(StripeUnavailable):
                    checkout_settle(checkout_id=checkout.pk)
                continue
        with transaction.atomic():
            row = OnlineCheckout.objects.select_for_update().get(pk=checkout.pk)
            if row.status == CheckoutStatus.OPEN:
                _lapse(row, reason="The invoice was voided.", void=False)


def checkouts_sweep(*, now: datetime | None = None) -> int:
    """The periodic task: every checkout still waiting is read again from Stripe (a completed
    session whose webhook never came is settled: nothing is lost), opened when a crash left it
    unopened, lapsed when it never reached Stripe in time. Returns how many were looked at."""
    now = now or timezone.now()
    looked = 0
    for checkout in OnlineCheckout.objects.filter(status=CheckoutStatus.OPEN).order_by("pk"):
        looked += 1
        try:
            if checkout.session_id:
                checkout_settle(checkout_id=checkout.pk)
            elif checkout.expires_at < now + STRIPE_SHORTEST:
                checkout_lapse(checkout_id=checkout.pk)
            else:
                checkout_open(checkout=checkout)
        except StripeUnavailable:
            log.warning("checkout %s: Stripe unreachable, tried again next sweep", checkout.pk)
        except Exception:  # one stuck checkout never stops the others: logged, tried again next sweep
            log.exception("checkout %s could not be settled; the sweep goes on", checkout.pk)
    return looked


# --- a card saved on a link staff send the patient --------------------------------------------------
def card_setup_link(*, actor: Actor, patient: Patient) -> OnlineCheckout:
    """A link staff send a patient to save a card for the clinic's fees (no-show, late cancellation)
    on Stripe's page: a card setup of no booking (nothing charged), open for ``CARD_LINK_LIFETIME``;
    ``session_url`` is the link. The card is kept as the patient's card on file once the patient
    completes it (the webhook, the return page or the sweep: ``checkout_settle``). Call it outside
    any transaction (Stripe is called); refused when the chain's Stripe account cannot take
    payments (stripe_not_connected) or is unreachable (stripe_unavailable: the sweep opens it)."""
    authorize(actor, "invoicing.remove_card")
    with transaction.atomic():
        checkout = checkout_start(
            invoice=None,
            amount_minor=0,
            purpose=CheckoutPurpose.CARD_SETUP,
            patient=patient,
            description="Card saved for the clinic's fees",
            success_path="/book/paid/{token}/",
            cancel_path="/book/pay/{token}/",
            expires_at=timezone.now() + CARD_LINK_LIFETIME,
        )
    return checkout_open(checkout=checkout)


# --- online booking ------------------------------------------------------------------------------
def deposit_required_check(hold: Appointment, patient: Patient) -> None:
    """Registered in scheduling's ONLINE_CONFIRM_CHECKS (invoicing.subscribers): a held time the
    chain asks a deposit for (for the time, or of this patient after repeated no-shows), or a card
    at booking, is not booked online without it."""
    if hold.service is not None and hold.branch is not None:
        deposit = deposit_for(service=hold.service, branch=hold.branch, patient_id=patient.pk)
        if deposit.now_minor > 0 or card_setup_asked():
            raise OnlinePaymentRequired()


def _package_covers(visitor: OnlineVisitor) -> bool:
    hold = visitor.hold
    if hold.service is None or hold.branch is None:
        return False
    start = hold.span.lower
    return package_covers(patient_id=visitor.patient.pk, service=hold.service, branch=hold.branch, start=start)


@dataclass(frozen=True)
class BookingCheckout:
    """The outcome of confirming an online booking: booked at once (no payment asked), or a
    checkout to pay first (send the visitor to the pay step)."""

    booking: OnlineBooking | None
    checkout: OnlineCheckout | None
    notice: str = ""


def online_booking_checkout(
    *,
    hold_id: int,
    hold_token: str,
    first_name: str,
    last_name: str,
    challenge: str,
    code: str,
    ip: str | None,
    request: HttpRequest | None = None,
) -> BookingCheckout:
    """Confirm an online booking after the visitor's code, as the chain's online payment policy
    says: nothing to pay now books at once (``online_booking_confirm``); a deposit or prepayment
    raises the visit's invoice (issued, the full price), keeps the hold as long as the Checkout
    Session stays open, and opens the session; the hold becomes the booking once the payment is
    recorded (``checkout_settle``). Going through this again while a checkout waits answers it. A
    chain asking a deposit of patients with repeated no-shows has the visitor proved first: a
    patient who reached the rule is asked the deposit (and told why), any other books as usual."""
    hold = Appointment.objects.select_related("service", "branch").filter(pk=hold_id).exclude(hold_token="").first()
    deposit = deposit_for(service=hold.service, branch=hold.branch) if hold and hold.service and hold.branch else None
    # Nothing due now, and the chain asks for a card: the card is saved first (setup mode).
    card_asked = deposit is not None and deposit.now_minor <= 0 and card_setup_asked()
    # Nothing due for the time, but maybe of this patient: asked once their code proves who they are.
    patient_asked = deposit is not None and deposit.now_minor <= 0 and no_show_deposit_rule()

    def asked(step: Callable[..., T]) -> T:  # the visitor's confirmation, to book at once or to identify them
        return step(
            hold_id=hold_id,
            hold_token=hold_token,
            first_name=first_name,
            last_name=last_name,
            challenge=challenge,
            code=code,
            ip=ip,
            request=request,
        )

    if deposit is None or (deposit.now_minor <= 0 and not card_asked and not patient_asked):
        booked: OnlineBooking = asked(online_booking_confirm)
        return BookingCheckout(booking=booked, checkout=None, notice=booked.notice)
    with transaction.atomic():
        visitor: OnlineVisitor = asked(online_booking_identify)
        if patient_asked and visitor.hold.service is not None and visitor.hold.branch is not None:
            deposit = deposit_for(
                service=visitor.hold.service, branch=visitor.hold.branch, patient_id=visitor.patient.pk
            )
            card_asked = deposit.now_minor <= 0 and card_asked
        nothing_asked = deposit.now_minor <= 0 and not card_asked  # not of this patient, after all
        covered_already = (
            nothing_asked
            or _package_covers(visitor)
            or (card_asked and card_on_file_get(visitor.patient.pk) is not None)
        )
        if covered_already:  # the patient's package pays the visit, or a card is on file: nothing asked now
            confirmed = appointment_hold_confirm(
                actor=None, hold=visitor.hold, hold_token=hold_token, patient=visitor.patient, notes=visitor.notes
            )
            covered = OnlineBooking(
                appointment=confirmed, manage_token=manage_link_issue(appointment=confirmed), notice=visitor.notice
            )
            return BookingCheckout(booking=covered, checkout=None, notice=visitor.notice)
        checkout = _hold_checkout(
            visitor.hold, hold_token=hold_token, patient=visitor.patient, notes=visitor.notes, deposit=deposit
        )
    with contextlib.suppress(StripeUnavailable):  # the pay step offers to open it again
        checkout = checkout_open(checkout=checkout)
    notice = " ".join(part for part in (visitor.notice, deposit.why) if part)  # why a deposit is asked of them
    return BookingCheckout(booking=None, checkout=checkout, notice=notice)


def _hold_checkout(
    hold: Appointment, *, hold_token: str, patient: Patient, notes: str, deposit: Deposit
) -> OnlineCheckout:
    """The checkout that books ``hold`` for ``patient`` once paid, inside the caller's transaction:
    the one still open for it, else a new one (the deposit or prepayment ``deposit`` asks, on the
    visit's invoice; nothing due: a card saved), the hold kept as long as the checkout stays open."""
    checkout = OnlineCheckout.objects.filter(hold_id=hold.pk, status=CheckoutStatus.OPEN).first()
    if checkout is not None:
        return checkout
    expires_at = timezone.now() + SESSION_LIFETIME
    appointment_hold_extend(hold_id=hold.pk, hold_token=hold_token, until=expires_at)
    service_name = hold.service.name if hold.service else "Appointment"
    if deposit.now_minor <= 0:
        return checkout_start(
            invoice=None,
            amount_minor=0,
            purpose=CheckoutPurpose.CARD_SETUP,
            patient=patient,
            description=f"{service_name}: card saved for the clinic's fees",
            success_path="/book/paid/{token}/",
            cancel_path="/book/pay/{token}/",
            hold=hold,
            notes=notes,
            expires_at=expires_at,
        )
    invoice = raise_for_appointment(hold, actor=None, issue=True, prepaid_by=patient)
    prepaid = deposit.now_minor >= deposit.price_minor
    # A prepayment pays what the invoice asks (tax included); a deposit never more than that.
    amount = invoice.due_minor if prepaid else min(deposit.now_minor, invoice.due_minor)
    return checkout_start(
        invoice=invoice,
        patient=patient,
        amount_minor=amount,
        purpose=CheckoutPurpose.BOOKING_PREPAYMENT if prepaid else CheckoutPurpose.BOOKING_DEPOSIT,
        description=f"{service_name}: {'payment' if prepaid else 'deposit'}"
        + (f" (asked after {deposit.no_shows} missed appointments)" if deposit.no_shows else ""),
        success_path="/book/paid/{token}/",
        cancel_path="/book/pay/{token}/",
        hold=hold,
        notes=notes,
        expires_at=expires_at,
    )


def waitlist_offer_checkout(*, token: str) -> BookingCheckout:
    """The patient of a waitlist offer's link takes the time, under online booking's payment rules:
    what booking it online would ask of this patient (the service's deposit or prepayment, the
    chain's deposit after repeated no-shows, a card saved) is asked here too. Nothing asked, or the
    patient's package pays the visit or their card is on file: booked at once
    (``waitlist_offer_accept``). Else the time is theirs (the first to accept gets it) and kept as a
    hold while a checkout waits (``waitlist_offer_reserve``), booked once the payment is recorded
    (``checkout_settle``). Taking it again while it waits answers the same checkout."""
    shown = waitlist_offer_read(token=token)
    hold, patient = shown.offer.hold, shown.offer.entry.patient
    if hold.service is None or hold.branch is None:
        raise WaitlistOfferTaken()
    deposit = deposit_for(service=hold.service, branch=hold.branch, patient_id=patient.pk)
    card_asked = deposit.now_minor <= 0 and card_setup_asked()
    covered = (
        (deposit.now_minor <= 0 and not card_asked)
        or package_covers(patient_id=patient.pk, service=hold.service, branch=hold.branch, start=hold.span.lower)
        or (card_asked and card_on_file_get(patient.pk) is not None)
    )
    if covered:
        booked = waitlist_offer_accept(token=token)
        online = OnlineBooking(appointment=booked.appointment, manage_token=booked.manage_token)
        return BookingCheckout(booking=online, checkout=None)
    with transaction.atomic():
        kept = waitlist_offer_reserve(token=token, until=timezone.now() + SESSION_LIFETIME)
        checkout = _hold_checkout(
            kept, hold_token=kept.hold_token, patient=patient, notes="Booked from the waitlist", deposit=deposit
        )
    with contextlib.suppress(StripeUnavailable):  # the pay step offers to open it again
        checkout = checkout_open(checkout=checkout)
    return BookingCheckout(booking=None, checkout=checkout, notice=deposit.why)


@dataclass(frozen=True)
class CheckoutReturn:
    """What the visitor's return page shows: the checkout as settled now, and for a confirmed
    booking a fresh booking link (its raw token: shown once, never stored)."""

    checkout: OnlineCheckout
    manage_token: str
    waiting: bool


def checkout_by_token(*, token: str) -> OnlineCheckout:
    """The checkout a visitor's return token names (NotFound for any other)."""
    checkout = (
        OnlineCheckout.objects.select_related("invoice", "hold", "hold__service", "hold__branch", "payment")
        .filter(return_token=token or "-")
        .first()
    )
    if checkout is None:
        raise NotFound("No such payment.")
    return checkout


def checkout_open_by_token(*, token: str) -> OnlineCheckout:
    """The visitor asks again for Stripe's page of a checkout that could not be opened at first."""
    return checkout_open(checkout=checkout_by_token(token=token))


def checkout_return(*, token: str) -> CheckoutReturn:
    """The visitor is back from Stripe: the session is read again (the webhook may come later) and
    settled, and a confirmed booking gets its booking link."""
    checkout = checkout_by_token(token=token)
    with contextlib.suppress(StripeUnavailable):  # shown as waiting: the webhook or the sweep settles it
        checkout = checkout_settle(checkout_id=checkout.pk)
    manage_token = ""
    if checkout.status in (CheckoutStatus.PAID, CheckoutStatus.CARD_SAVED) and checkout.hold_id is not None:
        booked = Appointment.objects.get(pk=checkout.hold_id)
        if booked.status in (Status.BOOKED, Status.CONFIRMED) and booked.patient_id is not None:
            manage_token = manage_link_issue(appointment=booked)
    return CheckoutReturn(
        checkout=checkout_by_token(token=token),
        manage_token=manage_token,
        waiting=checkout.status == CheckoutStatus.OPEN,
    )
