"""What the online booking pages show of money: the payment terms said before confirming, the pay
step's amounts, and the booking's money as its visit's invoice holds it (paid online or at the
desk, refunded or kept), formatted in the chain's currency and locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from config.money import money_format
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.checkout.policy import (
    deposit_for,
    no_show_deposit_rule,
    online_payment_policy_get,
    online_payments_possible,
)
from invoicing.checkout.services import checkout_by_token
from invoicing.fees import FeePolicy, FeeRule
from invoicing.models import Invoice, Refund, RefundStatus
from scheduling.models import CalendarEntry, Service, Status
from scheduling.selectors import policy_get
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get


def _money(amount_minor: int, currency: str) -> str:
    return money_format(amount_minor, currency, locale=chain_settings_get().locale)


@dataclass(frozen=True)
class PayStep:
    """The online booking's pay step: what is paid now, what at the visit, until when."""

    checkout: OnlineCheckout
    now: str
    at_visit: str
    prepaid: bool
    expires_at: datetime
    until: str  # the time the hold is kept until, in the branch's zone ("14:35 Europe/London")
    pay_url: str
    open: bool
    card_kept: bool  # the card that pays is kept for the clinic's fees
    card_setup: bool  # nothing is charged now: a card is saved for the clinic's fees


def pay_step(*, token: str) -> PayStep:
    """The pay step of a checkout: a payment (a deposit or all of it) or a card saved (``card_setup``:
    nothing is charged now; the price is paid at the visit)."""
    checkout = checkout_by_token(token=token)
    invoice = checkout.invoice
    if invoice is not None:
        later = max(invoice.total_minor - invoice.credited_minor - checkout.amount_minor, 0)
    elif checkout.hold and checkout.hold.service and checkout.hold.branch:
        later = deposit_for(service=checkout.hold.service, branch=checkout.hold.branch).price_minor
    else:
        later = 0
    if checkout.hold and checkout.hold.branch:
        zone = checkout.hold.branch.timezone
    else:
        zone = invoice.branch.timezone if invoice is not None else chain_settings_get().default_timezone
    return PayStep(
        checkout=checkout,
        now=_money(checkout.amount_minor, checkout.currency),
        at_visit=_money(later, checkout.currency),
        prepaid=checkout.purpose == CheckoutPurpose.BOOKING_PREPAYMENT,
        card_setup=checkout.purpose == CheckoutPurpose.CARD_SETUP,
        expires_at=checkout.expires_at,
        until=f"{checkout.expires_at.astimezone(ZoneInfo(zone)):%H:%M} {zone}",
        pay_url=checkout.session_url if checkout.status == CheckoutStatus.OPEN else "",
        open=checkout.status == CheckoutStatus.OPEN,
        card_kept=online_payment_policy_get().ask_for_card,
    )


def money_shown(*, amount_minor: int, currency: str) -> str:
    return _money(amount_minor, currency)


# --- checkout14: what online booking says about money, before and after ---------------------------
@dataclass(frozen=True)
class BookingTerms:
    """What a patient is told about payment before confirming an online booking: what is paid now
    (a deposit or the full price) or that nothing is, whether the card is kept, the late-cancellation
    and no-show fees and the window, and what happens to a deposit on cancelling. Plain sentences."""

    lines: list[str]


def _percent(basis_points: int) -> str:
    """Basis points as a percentage without float: 5000 is "50", 1250 is "12.5"."""
    whole, part = divmod(basis_points, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".")


def _fee_shown(rule: str, amount_minor: int, percent_bp: int, price_minor: int, currency: str) -> str:
    if rule == FeeRule.FIXED:
        return _money(amount_minor, currency)
    if rule == FeeRule.PERCENT:
        fee = _money((price_minor * percent_bp + 5_000) // 10_000, currency)
        return f"{fee} ({_percent(percent_bp)}% of the price)"
    return ""


def booking_terms(*, service: Service, branch: Branch, patient_id: int | None = None) -> BookingTerms:
    """The payment terms of booking ``service`` at ``branch`` online, as the chain's online payment
    and fee policies say now (no Stripe account connected: no deposit is asked, and none is said).
    For a known patient (``patient_id``: a waitlist offer's) the deposit their no-shows ask is said
    as theirs, with why."""
    deposit = deposit_for(service=service, branch=branch, patient_id=patient_id)
    policy = online_payment_policy_get()
    hours = policy_get().cancellation_window_hours
    lines: list[str] = []
    if deposit.now_minor > 0:
        if deposit.why:
            lines.append(deposit.why)
        elif deposit.now_minor >= deposit.price_minor:
            lines.append(f"You pay the full price, {deposit.shown(deposit.now_minor)}, online to confirm this booking.")
        else:
            lines.append(
                f"You pay a deposit of {deposit.shown(deposit.now_minor)} online to confirm this booking; "
                f"the rest, {deposit.shown(deposit.later_minor)}, at the visit."
            )
        lines.append("If a package of sessions you hold covers this visit, nothing is asked online.")
        if policy.refund_deposit_on_timely_cancel:
            lines.append(
                f"Cancel online at least {hours} hours before and what you paid online is refunded; "
                "cancelling later, or not coming, it is kept."
            )
        else:
            lines.append("What you pay online is not refunded if you cancel or do not come.")
        if policy.ask_for_card:
            lines.append("The card you pay with is kept on file for the clinic's fees below.")
    else:
        lines.append("Nothing is paid online: you pay at the visit.")
        if policy.ask_for_card and online_payments_possible():
            lines.append(
                "To confirm the booking you save a card on Stripe's secure page: nothing is charged now; "
                "the clinic's late-cancellation or no-show fee below may be charged to it."
            )
    fees = FeePolicy.objects.filter(pk=1).first()
    if fees is not None:
        price = deposit.price_minor
        late = _fee_shown(
            fees.late_cancel_rule, fees.late_cancel_amount_minor, fees.late_cancel_percent_bp, price, deposit.currency
        )
        no_show = _fee_shown(
            fees.no_show_rule, fees.no_show_amount_minor, fees.no_show_percent_bp, price, deposit.currency
        )
        if late:
            lines.append(f"Cancelling less than {hours} hours before the appointment costs a fee of {late}.")
        if no_show:
            lines.append(f"Not coming without cancelling costs a fee of {no_show}.")
    rule = no_show_deposit_said(price_minor=deposit.price_minor, now_minor=deposit.now_minor)
    if rule:
        lines.append(rule)
    return BookingTerms(lines=lines)


def no_show_deposit_said(*, price_minor: int, now_minor: int) -> str:
    """The chain's "deposit after N no-shows" rule in a sentence, before anyone is identified, for a
    booking that would otherwise ask less ("" when the rule is off or asks nothing more here)."""
    if not price_minor or not no_show_deposit_rule():
        return ""
    chain = online_payment_policy_get()
    asked = min(chain.no_show_deposit_minor, price_minor)
    if asked <= now_minor:
        return ""
    n = chain.no_show_deposit_after
    return (
        f"Patients who missed {n} or more appointment{'s' if n != 1 else ''} without cancelling in the last "
        f"{policy_get().no_show_flag_months} months pay a deposit of {_money(asked, chain_settings_get().currency)} "
        "online to confirm."
    )


@dataclass(frozen=True)
class BookingMoney:
    """What a booking's page says about money paid for it: what the visit's invoice holds paid (any
    way: online or at the desk) less refunds, what was refunded (or is being), and for a cancelled
    booking what happens to it."""

    paid: str
    refunded: str
    refund_pending: bool
    said: str


def booking_money(*, appointment: CalendarEntry) -> BookingMoney:
    invoice = Invoice.objects.filter(appointment_id=appointment.pk).first()
    if invoice is None or not invoice.paid_minor:
        return BookingMoney("", "", False, "")
    currency = invoice.currency
    kept = invoice.paid_minor - invoice.refunded_minor
    pending = Refund.objects.filter(payment__invoice=invoice, status=RefundStatus.PENDING).exists()
    refunded = _money(invoice.refunded_minor, currency) if invoice.refunded_minor else ""
    said = ""
    if appointment.status == Status.CANCELLED:
        if kept > 0:
            said = f"The {_money(kept, currency)} paid is kept, as the clinic's cancellation policy says."
        else:
            said = f"The {refunded} paid is {'being refunded' if pending else 'refunded'} to the card that paid it."
    elif refunded:
        said = f"{refunded} of it {'is being' if pending else 'was'} refunded to the card that paid it."
    return BookingMoney(_money(kept, currency) if kept > 0 else "", refunded, pending, said)
