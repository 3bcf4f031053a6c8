"""What the online booking pages show of a payment: the pay step's amounts and the booking's
deposit paid, formatted in the chain's currency and locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Sum

from config.money import money_format
from invoicing.checkout.models import CheckoutPurpose, CheckoutStatus, OnlineCheckout
from invoicing.checkout.policy import online_payment_policy_get
from invoicing.checkout.services import checkout_by_token
from invoicing.models import Payment, PaymentMethod, PaymentStatus
from scheduling.models import CalendarEntry
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


def pay_step(*, token: str) -> PayStep:
    checkout = checkout_by_token(token=token)
    invoice = checkout.invoice
    later = max(invoice.total_minor - invoice.credited_minor - checkout.amount_minor, 0)
    zone = checkout.hold.branch.timezone if checkout.hold and checkout.hold.branch else invoice.branch.timezone
    return PayStep(
        checkout=checkout,
        now=_money(checkout.amount_minor, checkout.currency),
        at_visit=_money(later, checkout.currency),
        prepaid=checkout.purpose == CheckoutPurpose.BOOKING_PREPAYMENT,
        expires_at=checkout.expires_at,
        until=f"{checkout.expires_at.astimezone(ZoneInfo(zone)):%H:%M} {zone}",
        pay_url=checkout.session_url if checkout.status == CheckoutStatus.OPEN else "",
        open=checkout.status == CheckoutStatus.OPEN,
        card_kept=online_payment_policy_get().ask_for_card,
    )


def paid_online(*, appointment: CalendarEntry) -> str:
    """What was paid online for a booking and not refunded ("£20.00"), or "" when nothing was."""
    paid = Payment.objects.filter(
        invoice__appointment_id=appointment.pk,
        method=PaymentMethod.STRIPE,
        status=PaymentStatus.SUCCEEDED,
        checkout__isnull=False,
    ).aggregate(paid=Sum("amount_minor"), refunded=Sum("refunded_minor"))
    kept = (paid["paid"] or 0) - (paid["refunded"] or 0)
    if kept <= 0:
        return ""
    return _money(kept, chain_settings_get().currency)


def money_shown(*, amount_minor: int, currency: str) -> str:
    return _money(amount_minor, currency)
