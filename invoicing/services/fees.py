"""No-show and late-cancellation fees: the chain's policy, the fee invoice a missed or late-cancelled
visit raises, and the off-session charge of the patient's card on file.

How a fee is charged exactly once:
- ``fee_raise`` runs inside the transaction of the scheduling event (the no-show or the cancellation
  commits with its fee, or neither); (appointment, kind) is unique, so a replayed event finds it.
- ``fee_charge_run`` (the Celery task, queued after commit, and the periodic sweep) first *claims*
  the charge in a short transaction: the row is taken with FOR UPDATE SKIP LOCKED, moved from
  pending to charging and its attempt number fixed, then committed. A second worker at the same
  moment skips the locked row, or finds it charging and leaves it; no lock is held while Stripe is
  called.
- The PaymentIntent's idempotency key is (charge id, attempt): the same attempt sent twice (a
  worker killed after the call, whose claim the sweep takes over once stale) makes one charge at
  Stripe, which answers the first result again. A retry after a decline is a new attempt, a new key.
- The payment is recorded under the charge's row lock, once: the ledger's Stripe payments are
  unique by payment intent id (``payment_stripe_reference_unique``).

A visit that will not happen is not sold (``visit_invoice_close``): its open invoice (raised at
booking for a deposit or a prepayment) is voided, or, when money was paid on it, credited for what
it still asks. A deposit paid toward a visit that is then missed or cancelled late, where the chain
asks a fee, is kept toward the fee: its payment moves from the visit's invoice to the fee's, the fee
is the policy's amount or the deposit, whichever is more, and only the rest is charged to the card.
A timely cancellation and the clinic's own carry no fee: the deposit stays paid on the visit's
invoice, refunded when the chain's online payment policy says so (invoicing.checkout.subscribers)
or by billing, never otherwise."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import stripe
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import ValidationFailed
from config.events import publish
from config.fields import plain_text
from config.money import money_format
from invoicing.connect.client import idempotency_key, on_behalf_of, stripe_client
from invoicing.connect.selectors import connection_get
from invoicing.events import FeeCharged
from invoicing.exceptions import FeeNotRetryable, FeeNotWaivable, NoCardOnFile
from invoicing.fees import FeeCharge, FeeKind, FeePolicy, FeeRule, FeeStatus
from invoicing.models import (
    OPEN_STATUSES,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from invoicing.services.amounts import tax_of
from invoicing.services.cards import card_on_file_get, connected_account_id
from invoicing.services.credit_notes import credit_note_add
from invoicing.services.invoices import LineIn, _add_line, _issue, invoice_void, recompute_totals, void_unpaid
from invoicing.services.payments import payment_add, payment_status
from scheduling.models import CalendarEntry, Kind
from scheduling.selectors import service_price
from tenants.audit.history import changed_by, history_user
from tenants.authz import Actor, authorize
from tenants.org.selectors import chain_settings_get

log = logging.getLogger(__name__)

#: A charge left "charging" this long (its worker died between claim and result) is claimed again
#: by the sweep, with the same attempt and so the same idempotency key: Stripe answers the first
#: result instead of charging twice (Stripe keeps keys at least 24 hours).
STALE_CLAIM = timedelta(minutes=10)

#: The largest fixed fee an owner may set, in minor units (a typing slip of zeros is refused).
MAX_FIXED_FEE_MINOR = 1_000_000


# --- the policy -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeeRuleIn:
    """One fee of the policy: no fee, a fixed amount (minor units) or a percentage of the service's
    price at the branch (basis points: 2500 is 25 %)."""

    rule: str = FeeRule.NONE
    amount_minor: int = 0
    percent_bp: int = 0


def fee_policy_get() -> FeePolicy:
    """The chain's fee policy (no fees until an owner sets them)."""
    policy, _ = FeePolicy.objects.get_or_create(pk=1)
    return policy


def _checked(prefix: str, fee: FeeRuleIn) -> FeeRuleIn:
    """The rule as stored: only the number its rule uses is kept; errors name the form's fields."""
    if fee.rule not in FeeRule.values:
        raise ValidationFailed(fields={f"{prefix}_rule": ["Choose no fee, a fixed amount or a percentage."]})
    if fee.rule == FeeRule.FIXED:
        if not 0 < fee.amount_minor <= MAX_FIXED_FEE_MINOR:
            raise ValidationFailed(
                fields={f"{prefix}_amount_minor": [f"Enter an amount above zero, at most {MAX_FIXED_FEE_MINOR}."]}
            )
        return FeeRuleIn(FeeRule.FIXED, amount_minor=fee.amount_minor)
    if fee.rule == FeeRule.PERCENT:
        if not 0 < fee.percent_bp <= 10_000:
            raise ValidationFailed(fields={f"{prefix}_percent_bp": ["Enter a percentage above 0 and at most 100."]})
        return FeeRuleIn(FeeRule.PERCENT, percent_bp=fee.percent_bp)
    return FeeRuleIn(FeeRule.NONE)


@transaction.atomic
def fee_policy_update(*, actor: Actor, no_show: FeeRuleIn, late_cancellation: FeeRuleIn) -> FeePolicy:
    """Owners set the chain's no-show and late-cancellation fees. Each change is in the policy's
    history. The late window is the chain's cancellation window (scheduling's policy)."""
    authorize(actor, "invoicing.manage_fee_policy")
    no_show = _checked("no_show", no_show)
    late = _checked("late_cancel", late_cancellation)
    fee_policy_get()
    policy = FeePolicy.objects.select_for_update().get(pk=1)
    policy.no_show_rule, policy.no_show_amount_minor, policy.no_show_percent_bp = (
        no_show.rule,
        no_show.amount_minor,
        no_show.percent_bp,
    )
    policy.late_cancel_rule, policy.late_cancel_amount_minor, policy.late_cancel_percent_bp = (
        late.rule,
        late.amount_minor,
        late.percent_bp,
    )
    policy.updated_by = history_user(actor)
    changed_by(policy, actor, reason="fee policy changed").save()
    return policy


def fee_amount(*, fee: FeeRuleIn, price_minor: int) -> int:
    """The fee in minor units: the fixed amount, or the percentage of the price rounded half up to
    the minor unit (integer arithmetic: 33.33 % of 1 005 is 335, of 1 000 is 333)."""
    if fee.rule == FeeRule.FIXED:
        return fee.amount_minor
    if fee.rule == FeeRule.PERCENT:
        return tax_of(price_minor, fee.percent_bp)
    return 0


def fee_rule_of(policy: FeePolicy, kind: str) -> FeeRuleIn:
    if kind == FeeKind.NO_SHOW:
        return FeeRuleIn(policy.no_show_rule, policy.no_show_amount_minor, policy.no_show_percent_bp)
    return FeeRuleIn(policy.late_cancel_rule, policy.late_cancel_amount_minor, policy.late_cancel_percent_bp)


# --- raising a fee ----------------------------------------------------------------------------------
def _enqueue(fee_charge_id: int) -> None:
    """The charge is sent after commit (never from inside the transaction that raised it). A broker
    out of reach loses nothing: the periodic sweep sends pending charges."""
    from invoicing.fee_tasks import fee_charge

    def send() -> None:
        try:
            fee_charge.delay(fee_charge_id)
        except Exception:  # the no-show or cancellation has committed: the sweep charges it
            log.warning("fee charge %s not queued; the sweep sends it", fee_charge_id, exc_info=True)

    transaction.on_commit(send)


def _visit_invoice(appointment_id: int) -> Invoice | None:
    """The visit's own invoice, locked (a fee invoice is not it)."""
    return (
        Invoice.objects.select_for_update()
        .filter(appointment_id=appointment_id, kind=InvoiceKind.STANDARD)
        .exclude(status=InvoiceStatus.DRAFT)
        .first()
    )


def _deposit_of(visit: Invoice | None) -> int:
    """What was paid toward the visit before it (a deposit, a prepayment) that a fee may keep: paid,
    none of it refunded, every payment settled. 0 otherwise (billing has dealt with it)."""
    if visit is None or visit.status not in (*OPEN_STATUSES, InvoiceStatus.PAID) or visit.refunded_minor:
        return 0
    if visit.payments.exclude(status=PaymentStatus.SUCCEEDED).exists():
        return 0
    return visit.paid_minor


def _keep_deposit(visit: Invoice, fee_invoice: Invoice, *, actor: Actor | None, reason: str) -> None:
    """The visit's payments move to the fee's invoice (the money stays where Stripe or the desk took
    it: the same payments, now paying the fee). The visit's invoice, with nothing paid on it any more
    (paid in full or in part before), is no longer sold: void, or, when a credit note already took
    part of it off, credited for the rest (a credit note is never voided away)."""
    moved = 0
    for payment in visit.payments.select_for_update().order_by("pk"):
        payment.invoice = fee_invoice
        changed_by(payment, actor, reason=reason).save(update_fields=["invoice"])
        moved += payment.amount_minor
    visit.paid_minor -= moved
    visit.status = payment_status(visit)  # a visit paid in full is open again: nothing is paid on it now
    changed_by(visit, actor, reason=reason).save(update_fields=["paid_minor", "status"])
    fee_invoice.paid_minor += moved
    fee_invoice.status = payment_status(fee_invoice)
    changed_by(fee_invoice, actor, reason=reason).save(update_fields=["paid_minor", "status"])
    if visit.credited_minor:
        _credit_unpaid(visit, actor=actor, reason=reason)
    else:
        void_unpaid(visit, actor=actor, reason=reason)


def _fee_line(label: str, service: str, day: str, *, policy_fee: int, kept: int, currency: str) -> str:
    """The fee invoice's line. A prepayment larger than the policy's fee is kept whole as the fee
    (fee = the policy's fee or the deposit, whichever is more): the line says so, with the policy's fee."""
    if kept > policy_fee:
        label += f" fee, prepayment kept (the policy's fee is {money_format(policy_fee, currency)})"
    else:
        label += " fee"
    return f"{label}: {service}, {day}"[:200]


def fee_raise(*, appointment_id: int, kind: str, actor: Actor | None) -> FeeCharge | None:
    """The fee of a missed or late-cancelled visit, inside the caller's transaction (scheduling's
    event): a fee invoice of its own, issued, and its charge, pending (sent after commit) or, with
    no card on file, no_card (the desk collects it). A deposit paid toward the visit is kept toward
    the fee first (the fee is then at least the deposit) and only the rest is charged; a deposit
    that covers it all leaves nothing to charge. Nothing when the policy asks no fee or the visit
    has no price. A replayed event answers the fee already raised. No permission check: the
    calendar's change was authorised, and the fee follows from the chain's policy."""
    with transaction.atomic():
        entry = (
            CalendarEntry.objects.select_for_update(of=("self",))
            .select_related("service", "branch")
            .get(pk=appointment_id)
        )
        existing = FeeCharge.objects.filter(appointment_id=entry.pk, kind=kind).first()
        if existing is not None:
            return existing
        if entry.kind != Kind.APPOINTMENT or entry.patient_id is None or entry.service is None or entry.branch is None:
            return None
        price = service_price(service=entry.service, branch=entry.branch)
        rule = fee_rule_of(fee_policy_get(), kind)
        amount = fee_amount(fee=rule, price_minor=price)
        if amount <= 0:
            return None
        visit = _visit_invoice(entry.pk)
        deposit = _deposit_of(visit)
        policy_fee, amount = amount, max(amount, deposit)
        invoice = Invoice(
            patient_id=entry.patient_id,
            branch=entry.branch,
            kind=InvoiceKind.FEE,
            currency=chain_settings_get().currency,
            created_by=history_user(actor),
        )
        label = FeeKind(kind).label
        changed_by(invoice, actor, reason=f"{label.lower()} fee").save()
        day = entry.span.lower.astimezone(ZoneInfo(entry.branch.timezone)).strftime("%d %b %Y %H:%M")
        # Fees are not a supply of a service: no tax on them.
        line = LineIn(
            description=_fee_line(
                label, entry.service.name, day, policy_fee=policy_fee, kept=deposit, currency=invoice.currency
            ),
            unit_price_minor=amount,
        )
        _add_line(invoice, line, 0)
        recompute_totals(invoice)
        invoice.save(update_fields=["subtotal_minor", "discount_minor", "tax_minor", "total_minor"])
        _issue(invoice, actor=actor, now=timezone.now())
        if visit is not None and deposit:
            _keep_deposit(
                visit, invoice, actor=actor, reason=f"{label}: the deposit is kept toward the fee ({invoice.number})"
            )
        card = card_on_file_get(entry.patient_id) if amount > deposit else None
        if card is not None and not _can_charge_cards():
            card = None  # no attempt is made that could only fail: the fee waits at the desk
        status = FeeStatus.PENDING if card is not None else FeeStatus.NO_CARD
        charge = FeeCharge(
            invoice=invoice,
            appointment=entry,
            patient_id=entry.patient_id,
            kind=kind,
            amount_minor=amount,
            deposit_kept_minor=deposit,
            currency=invoice.currency,
            card=card,
            status=FeeStatus.SUCCEEDED if amount == deposit else status,
            charged_at=timezone.now() if amount == deposit else None,
        )
        changed_by(charge, actor, reason="fee raised" if amount > deposit else "fee paid by the deposit").save()
        if charge.status == FeeStatus.SUCCEEDED:
            publish(FeeCharged(charge.pk, charge.invoice_id, charge.appointment_id, charge.amount_minor, charge.kind))
        elif card is not None:
            _enqueue(charge.pk)
    return charge


def _can_charge_cards() -> bool:
    """Whether the chain can charge a card now (its Stripe account connected and able to charge)."""
    connection = connection_get()
    return connection is not None and connection.is_connected


def _credit_unpaid(invoice: Invoice, *, actor: Actor | None, reason: str) -> None:
    """Credit what a locked open invoice still asks (a credit note of the chain's sequence)."""
    if invoice.due_minor > 0:
        credit_note_add(invoice, actor=actor, amount_minor=invoice.due_minor, reason=reason)


def visit_invoice_close(*, appointment_id: int, actor: Actor | None, reason: str) -> Invoice | None:
    """A visit that will not happen (cancelled, missed) is not sold, inside the caller's transaction
    (scheduling's event, after its fee): its open invoice is voided when nothing is paid on it;
    with a payment on it (a deposit no fee kept), what it still asks is credited and the money paid
    stays on it, for the chain's policy or billing to refund. No permission check: the calendar's
    change was authorised."""
    with transaction.atomic():
        visit = _visit_invoice(appointment_id)
        if visit is None or visit.status not in OPEN_STATUSES:
            return visit
        if not visit.paid_minor and not visit.payments.exists():
            return void_unpaid(visit, actor=actor, reason=reason)
        _credit_unpaid(visit, actor=actor, reason=reason)
    return visit


# --- charging ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """What one attempt sends to Stripe, fixed when the charge was claimed."""

    fee_charge_id: int
    attempt: int
    amount_minor: int
    currency: str
    account_id: str
    customer_id: str
    payment_method_id: str
    invoice_id: int
    kind: str


def _claim(fee_charge_id: int, *, now: datetime) -> Claim | None:
    """Take the charge for one attempt, committed before Stripe is called. None: someone else has
    it (locked, or charging and not stale), or it is not to be charged (done, waived, no card)."""
    with transaction.atomic():
        charge = (
            FeeCharge.objects.select_for_update(skip_locked=True)
            .filter(pk=fee_charge_id)
            .filter(Q(status=FeeStatus.PENDING) | Q(status=FeeStatus.CHARGING, claimed_at__lt=now - STALE_CLAIM))
            .first()
        )
        if charge is None:
            return None
        if charge.status == FeeStatus.PENDING:  # a new attempt; a stale claim keeps its own
            card = card_on_file_get(charge.patient_id)
            if card is None:
                charge.status = FeeStatus.NO_CARD
                changed_by(charge, None, reason="no card on file").save(update_fields=["status", "updated_at"])
                return None
            charge.card = card
            charge.attempts += 1
        connection = connection_get()
        if charge.card is None or connection is None or not connection.is_connected:
            # no attempt is made (it could only fail): the fee waits at the desk, not "failed"
            charge.status, charge.last_error, charge.last_error_by_stripe = FeeStatus.NO_CARD, "", False
            changed_by(charge, None, reason="not charged: online card payments are not set up").save()
            return None
        charge.status, charge.claimed_at = FeeStatus.CHARGING, now
        changed_by(charge, None, reason=f"charging, attempt {charge.attempts}").save()
        return Claim(
            fee_charge_id=charge.pk,
            attempt=charge.attempts,
            amount_minor=charge.card_part_minor,
            currency=charge.currency,
            account_id=connection.account_id,
            customer_id=charge.card.customer_id,
            payment_method_id=charge.card.payment_method_id,
            invoice_id=charge.invoice_id,
            kind=charge.kind,
        )


def _record_success(claim: Claim, intent_id: str) -> FeeCharge:
    """The charge succeeded at Stripe: the Stripe payment on the fee invoice, once."""
    with transaction.atomic():
        charge = FeeCharge.objects.select_for_update().get(pk=claim.fee_charge_id)
        if charge.status == FeeStatus.SUCCEEDED:
            return charge
        if not Payment.objects.filter(method=PaymentMethod.STRIPE, reference=intent_id).exists():
            payment_add(
                Invoice(pk=claim.invoice_id),
                actor=None,
                method=PaymentMethod.STRIPE,
                amount_minor=claim.amount_minor,
                reference=intent_id,
            )
        charge.status, charge.payment_intent_id, charge.last_error = FeeStatus.SUCCEEDED, intent_id, ""
        charge.last_error_by_stripe = False
        charge.charged_at = timezone.now()
        changed_by(charge, None, reason="fee charged").save()
        publish(FeeCharged(charge.pk, charge.invoice_id, charge.appointment_id, charge.amount_minor, charge.kind))
    return charge


def _record_failure(claim: Claim, message: str, intent_id: str = "", *, by_stripe: bool = False) -> FeeCharge:
    """The attempt failed: ``message`` is shown on the fees list, as Stripe's words when ``by_stripe``."""
    with transaction.atomic():
        charge = FeeCharge.objects.select_for_update().get(pk=claim.fee_charge_id)
        if charge.status != FeeStatus.CHARGING or charge.attempts != claim.attempt:
            return charge
        charge.status, charge.last_error = FeeStatus.FAILED, plain_text(message)[:300]
        charge.last_error_by_stripe = by_stripe
        charge.payment_intent_id = intent_id or charge.payment_intent_id
        changed_by(charge, None, reason=f"charge failed, attempt {claim.attempt}").save()
    return charge


def fee_charge_settled(*, fee_charge_id: int, payment_intent_id: str) -> FeeCharge:
    """Stripe reports the fee's PaymentIntent succeeded (outside the task: the demo, a payment
    confirmed on Stripe's side): the payment is recorded once, as the task records it."""
    charge = FeeCharge.objects.get(pk=fee_charge_id)
    return _record_success(_claim_of(charge), payment_intent_id)


def fee_charge_declined(*, fee_charge_id: int, message: str) -> FeeCharge:
    """Stripe reports the fee's charge declined (outside the task: the demo): failed, retryable."""
    with transaction.atomic():
        charge = FeeCharge.objects.select_for_update().get(pk=fee_charge_id)
        if charge.status in (FeeStatus.PENDING, FeeStatus.NO_CARD):
            charge.status, charge.attempts = FeeStatus.CHARGING, charge.attempts + 1
            charge.save(update_fields=["status", "attempts", "updated_at"])
    return _record_failure(_claim_of(FeeCharge.objects.get(pk=fee_charge_id)), message, by_stripe=True)


def _claim_of(charge: FeeCharge) -> Claim:
    return Claim(
        fee_charge_id=charge.pk,
        attempt=charge.attempts,
        amount_minor=charge.card_part_minor,
        currency=charge.currency,
        account_id="",
        customer_id=charge.card.customer_id if charge.card else "",
        payment_method_id=charge.card.payment_method_id if charge.card else "",
        invoice_id=charge.invoice_id,
        kind=charge.kind,
    )


def fee_charge_run(*, fee_charge_id: int, now: datetime | None = None) -> FeeCharge:
    """Charge one fee to the patient's card on file, off-session (the task's one step). Safe to run
    any number of times, at once too: see the module's docstring."""
    claim = _claim(fee_charge_id, now=now or timezone.now())
    if claim is None:
        return FeeCharge.objects.get(pk=fee_charge_id)
    try:
        intent = stripe_client().v1.payment_intents.create(
            params={
                "amount": claim.amount_minor,
                "currency": claim.currency.lower(),
                "customer": claim.customer_id,
                "payment_method": claim.payment_method_id,
                "off_session": True,
                "confirm": True,
                "description": f"{FeeKind(claim.kind).label} fee",
                "metadata": {
                    "fee_charge_id": str(claim.fee_charge_id),
                    "invoice_id": str(claim.invoice_id),
                    "attempt": str(claim.attempt),
                },
            },
            options={
                **on_behalf_of(claim.account_id),
                "idempotency_key": idempotency_key("fee", claim.fee_charge_id, claim.attempt),
            },
        )
    except (stripe.CardError, stripe.InvalidRequestError) as error:
        # Declined, or the card can no longer be charged: visible, and retried by staff (new attempt).
        failed = error.error.payment_intent if error.error is not None else None
        return _record_failure(claim, error.user_message or str(error), getattr(failed, "id", "") or "", by_stripe=True)
    except stripe.StripeError as error:
        # Stripe unreachable or erring: the claim stays; the sweep sends the same attempt again
        # once it is stale, and the idempotency key makes that one charge.
        log.warning("fee charge %s attempt %s not sent: %s", claim.fee_charge_id, claim.attempt, error)
        return FeeCharge.objects.get(pk=fee_charge_id)
    if intent.status == "succeeded":
        return _record_success(claim, intent.id)
    return _record_failure(claim, "The card's bank asks the patient to confirm this payment.", intent.id)


def fee_charges_due(*, now: datetime | None = None) -> list[int]:
    """The charges the sweep sends: pending ones (their task was lost) and stale claims."""
    now = now or timezone.now()
    due = FeeCharge.objects.filter(
        Q(status=FeeStatus.PENDING) | Q(status=FeeStatus.CHARGING, claimed_at__lt=now - STALE_CLAIM)
    )
    return list(due.order_by("pk").values_list("pk", flat=True))


# --- staff actions ----------------------------------------------------------------------------------
def _locked_charge(fee_charge: FeeCharge, *, actor: Actor, perm: str) -> FeeCharge:
    charge = FeeCharge.objects.select_for_update().select_related("invoice").get(pk=fee_charge.pk)
    authorize(actor, perm, charge.invoice)
    return charge


def fee_charge_retry(*, actor: Actor, fee_charge: FeeCharge) -> FeeCharge:
    """Try a failed fee again (or one that waited for a card) with the patient's card on file now:
    a new attempt, so a new idempotency key; sent after commit. Refused while the chain's Stripe
    account is not connected (stripe_not_connected) or the patient has no card (no_card_on_file)."""
    authorize(actor, "invoicing.manage_fees", fee_charge.invoice)
    with transaction.atomic():
        charge = _locked_charge(fee_charge, actor=actor, perm="invoicing.manage_fees")
        if charge.status not in (FeeStatus.FAILED, FeeStatus.NO_CARD):
            raise FeeNotRetryable()
        card = card_on_file_get(charge.patient_id)
        if card is None:
            raise NoCardOnFile("The patient has no card on file: save one first, or take the payment at the desk.")
        connected_account_id()  # stripe_not_connected: a retry could only fail again
        charge.status, charge.card = FeeStatus.PENDING, card
        changed_by(charge, actor, reason="retry").save()
        _enqueue(charge.pk)
    return charge


def fee_charge_waive(*, actor: Actor, fee_charge: FeeCharge, reason: str) -> FeeCharge:
    """Waive a fee not yet charged (with the reason): its invoice is voided, or, when a deposit paid
    part of it, the rest is credited (the deposit stays: billing refunds it from the invoice if the
    clinic wishes). One being charged, or charged, is refused (a charged fee is refunded instead)."""
    authorize(actor, "invoicing.manage_fees", fee_charge.invoice)
    reason = plain_text(reason).strip()
    if not reason:
        raise ValidationFailed(fields={"reason": ["Give the reason."]})
    with transaction.atomic():
        charge = _locked_charge(fee_charge, actor=actor, perm="invoicing.manage_fees")
        if charge.status not in (FeeStatus.PENDING, FeeStatus.FAILED, FeeStatus.NO_CARD):
            raise FeeNotWaivable()
        if charge.deposit_kept_minor:  # the deposit paid part of it: the rest is credited, the deposit kept
            invoice = Invoice.objects.select_for_update().get(pk=charge.invoice_id)
            _credit_unpaid(invoice, actor=actor, reason=f"Fee waived: {reason}")
        else:
            invoice_void(actor=actor, invoice=charge.invoice, reason=f"Fee waived: {reason}")
        # a charge's failure no longer stands once the fee is waived (it stays in the history)
        charge.status, charge.waived_reason, charge.last_error = FeeStatus.WAIVED, reason[:300], ""
        charge.last_error_by_stripe = False
        changed_by(charge, actor, reason="waived").save()
    return charge
