"""What online booking asks to be paid now: the chain's online payment policy (owners set it), and
the deposit it gives a service at a branch. Nothing is asked when the chain's Stripe account cannot
take payments: the policy waits for the connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q

from config.errors import ValidationFailed
from config.money import money_format
from invoicing.checkout.models import DepositKind, OnlinePaymentPolicy
from invoicing.connect.selectors import connection_get
from invoicing.services.amounts import BASIS_POINTS, line_amounts
from invoicing.services.invoices import default_tax_rate_bp
from packages.models import PackagePurchase, PurchaseStatus
from scheduling.models import Service
from scheduling.no_shows import no_show_record
from scheduling.selectors import service_price
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get


@dataclass(frozen=True)
class Deposit:
    """What a booking of a service at a branch costs, what is paid online now and what at the visit."""

    kind: str
    price_minor: int
    now_minor: int
    currency: str
    #: The patient's no-shows when the chain's no-show rule is what asks (or raises) the deposit; else 0.
    no_shows: int = 0

    @property
    def later_minor(self) -> int:
        return self.price_minor - self.now_minor

    @property
    def why(self) -> str:
        """Why a deposit is asked of this patient when the no-show rule asks it ("" otherwise)."""
        if not self.no_shows or self.now_minor <= 0:
            return ""
        rest = f"; the rest, {self.shown(self.later_minor)}, at the visit" if self.later_minor > 0 else ""
        return (
            f"The clinic asks a deposit of {self.shown(self.now_minor)} online to confirm this booking, after "
            f"{self.no_shows} missed appointments{rest}."
        )

    def shown(self, amount_minor: int) -> str:
        return money_format(amount_minor, self.currency, locale=chain_settings_get().locale)


def online_payment_policy_get(*, service: Service | None = None) -> OnlinePaymentPolicy:
    """The chain's policy (an unsaved "nothing online" one when none was set), or a service's own
    row when it has one and ``service`` is given."""
    if service is not None:
        own = OnlinePaymentPolicy.objects.filter(service=service).first()
        if own is not None:
            return own
    return OnlinePaymentPolicy.objects.filter(service__isnull=True).first() or OnlinePaymentPolicy()


def online_payment_overrides() -> list[OnlinePaymentPolicy]:
    return list(OnlinePaymentPolicy.objects.filter(service__isnull=False).select_related("service"))


def online_payments_possible() -> bool:
    """The chain's Stripe account is connected and can take charges."""
    connection = connection_get()
    return bool(connection and connection.is_connected)


def card_setup_asked() -> bool:
    """The chain asks for a card at online booking and can keep one (its Stripe account is connected):
    a booking that pays nothing now saves a card first (a Checkout Session in setup mode)."""
    return online_payment_policy_get().ask_for_card and online_payments_possible()


def _amount_now(policy: OnlinePaymentPolicy, price_minor: int) -> int:
    if policy.kind == DepositKind.FULL:
        return price_minor
    if policy.kind == DepositKind.FIXED:
        return min(policy.amount_minor, price_minor)
    if policy.kind == DepositKind.PERCENT:
        return (price_minor * policy.percent_bp + BASIS_POINTS // 2) // BASIS_POINTS
    return 0


def no_show_deposit_rule() -> bool:
    """The chain asks a deposit of patients with repeated no-shows, and can take it (Stripe connected)."""
    chain = online_payment_policy_get()
    return chain.no_show_deposit_after > 0 and chain.no_show_deposit_minor > 0 and online_payments_possible()


def no_show_deposit_missed(*, patient_id: int) -> int:
    """The patient's no-shows (scheduling.no_shows) when they reach the chain's "deposit after N
    no-shows" rule; 0 when the rule is off or they do not reach it."""
    chain = online_payment_policy_get()
    if chain.no_show_deposit_after <= 0 or chain.no_show_deposit_minor <= 0:
        return 0
    missed = no_show_record(patient_id=patient_id).count
    return missed if missed >= chain.no_show_deposit_after else 0


def deposit_for(*, service: Service, branch: Branch, patient_id: int | None = None) -> Deposit:
    """What booking ``service`` at ``branch`` online asks to be paid now (0: nothing, book as usual).
    The price is what the visit's invoice will ask, tax included: a prepayment pays all of it. For a
    known patient (``patient_id``, once their code proved them) who reached the chain's no-show rule,
    at least the rule's deposit is asked, even for a service that asks none (``no_shows`` says why)."""
    price = line_amounts(
        quantity=1,
        unit_price_minor=service_price(service=service, branch=branch),
        discount_minor=0,
        tax_rate_bp=default_tax_rate_bp(),
    ).total_minor
    currency = chain_settings_get().currency
    policy = online_payment_policy_get(service=service)
    if not price or not online_payments_possible():
        return Deposit(DepositKind.NONE, price, 0, currency)
    usual = Deposit(policy.kind, price, _amount_now(policy, price), currency)
    missed = no_show_deposit_missed(patient_id=patient_id) if patient_id is not None else 0
    asked = min(online_payment_policy_get().no_show_deposit_minor, price) if missed else 0
    if asked > usual.now_minor:
        return Deposit(DepositKind.FIXED, price, asked, currency, no_shows=missed)
    return usual


def package_covers(*, patient_id: int, service: Service, branch: Branch, start: datetime) -> bool:
    """The patient holds an active package with a session left that covers ``service`` at ``branch``
    on ``start``: the booking reserves that session (packages' AppointmentBooked subscriber), so no
    deposit or prepayment is asked online."""
    return (
        PackagePurchase.objects.filter(
            patient_id=patient_id,
            status=PurchaseStatus.ACTIVE,
            expires_at__gt=start,
            product__services=service,
            sessions_total__gt=F("used") + F("reserved"),
        )
        .filter(Q(product__branches__isnull=True) | Q(product__branches=branch))
        .exists()
    )


def _validated(kind: str, amount_minor: int, percent_bp: int) -> None:
    if kind not in DepositKind.values:
        raise ValidationFailed(fields={"kind": ["Choose what is paid online."]})
    if kind == DepositKind.FIXED and amount_minor <= 0:
        raise ValidationFailed(fields={"amount_minor": ["Give the deposit's amount."]})
    if kind == DepositKind.PERCENT and not 0 < percent_bp <= BASIS_POINTS:
        raise ValidationFailed(fields={"percent_bp": ["Give a percentage between 0 and 100."]})
    if amount_minor < 0 or percent_bp < 0:
        raise ValidationFailed(fields={"amount_minor": ["Amounts cannot be negative."]})


def _no_show_rule_validated(after: int | None, amount_minor: int | None) -> None:
    if after is not None and not 0 <= after <= 20:
        raise ValidationFailed(fields={"no_show_deposit_after": ["Give 0 (no such rule) to 20 no-shows."]})
    if amount_minor is not None and amount_minor < 0:
        raise ValidationFailed(fields={"no_show_deposit_minor": ["Amounts cannot be negative."]})
    if after and not amount_minor:
        raise ValidationFailed(fields={"no_show_deposit_minor": ["Give the deposit asked after no-shows."]})


@transaction.atomic
def online_payment_policy_set(
    *,
    actor: Actor,
    kind: str,
    amount_minor: int = 0,
    percent_bp: int = 0,
    ask_for_card: bool = False,
    refund_deposit_on_timely_cancel: bool = False,
    service: Service | None = None,
    no_show_deposit_after: int | None = None,
    no_show_deposit_minor: int | None = None,
) -> OnlinePaymentPolicy:
    """Set the chain's policy (no service) or a service's own deposit (``service``; its card and
    refund choices are the chain's). ``no_show_deposit_after`` and ``no_show_deposit_minor``: the
    chain's "a deposit from patients with N or more no-shows" (0 no-shows: no such rule); None keeps
    what is set."""
    authorize(actor, "invoicing.manage_online_payments")
    _validated(kind, amount_minor, percent_bp)
    _no_show_rule_validated(no_show_deposit_after, no_show_deposit_minor)
    policy = (
        OnlinePaymentPolicy.objects.select_for_update().filter(service=service).first()
        if service is not None
        else OnlinePaymentPolicy.objects.select_for_update().filter(service__isnull=True).first()
    ) or OnlinePaymentPolicy(service=service)
    policy.kind = kind
    policy.amount_minor = amount_minor if kind == DepositKind.FIXED else 0
    policy.percent_bp = percent_bp if kind == DepositKind.PERCENT else 0
    if service is None:
        policy.ask_for_card = ask_for_card
        policy.refund_deposit_on_timely_cancel = refund_deposit_on_timely_cancel
        if no_show_deposit_after is not None:
            policy.no_show_deposit_after = no_show_deposit_after
        if no_show_deposit_minor is not None:
            policy.no_show_deposit_minor = no_show_deposit_minor if policy.no_show_deposit_after else 0
    changed_by(policy, actor, reason="online payment policy").save()
    return policy


@transaction.atomic
def online_payment_override_remove(*, actor: Actor, service: Service) -> None:
    """The service goes back to the chain's deposit."""
    authorize(actor, "invoicing.manage_online_payments")
    OnlinePaymentPolicy.objects.filter(service=service).delete()
