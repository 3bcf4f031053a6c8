"""Reading fees and cards on file: the fees list billing works from (failed charges first) and the
chain's policy. Branch scoping through tenants.org.selectors only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, IntegerField, QuerySet, Value, When

from config.money import money_format
from invoicing.cards import SavedCard
from invoicing.connect.selectors import connection_get
from invoicing.fees import FeeCharge, FeeKind, FeePolicy, FeeStatus
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentStatus, RefundStatus
from invoicing.services.cards import card_on_file_get
from scheduling.cancel_window import inside_cancellation_window
from scheduling.models import CalendarEntry, Kind
from scheduling.selectors import policy_get, service_price
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible, chain_settings_get

#: What needs someone first: failed charges, then fees waiting for a card, then those on their way.
STATUS_ORDER = [FeeStatus.FAILED, FeeStatus.NO_CARD, FeeStatus.CHARGING, FeeStatus.PENDING]


def fee_charge_list(*, actor: Actor, status: str | None = None) -> QuerySet[FeeCharge]:
    """The fees of the branches ``actor`` sees, failed first, then newest first."""
    authorize(actor, "invoicing.view_fees")
    rows = FeeCharge.objects.select_related(
        "invoice", "patient", "appointment", "card", "appointment__service", "appointment__branch"
    )
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        rows = rows.filter(invoice__branch_id__in=visible)
    if status:
        rows = rows.filter(status=status)
    rank = Case(
        *[When(status=s, then=Value(i)) for i, s in enumerate(STATUS_ORDER)],
        default=Value(len(STATUS_ORDER)),
        output_field=IntegerField(),
    )
    return rows.annotate(rank=rank).order_by("rank", "-created_at", "-pk")


#: Why a retry cannot work now, as the fees list says it instead of offering one.
NOT_CONNECTED = "Cannot be retried: the clinic's Stripe account is not connected. Take the payment at the desk."
NO_CARD = "Cannot be retried: no card on file. Take the payment at the desk, or the patient saves a card."


@dataclass(frozen=True)
class FeeRow:
    """A fee as the fees list shows it: whether a retry can work now (and why not), and whether it
    can still be waived."""

    fee: FeeCharge
    can_retry: bool
    retry_blocked: str
    can_waive: bool


def fee_rows(*, actor: Actor, status: str | None = None, limit: int = 200) -> list[FeeRow]:
    """The fees list (``fee_charge_list``), each fee with what may be done about it now: a retry is
    offered only where it can work (the chain's Stripe account connected, a card on file)."""
    fees = list(fee_charge_list(actor=actor, status=status)[:limit])
    connection = connection_get()
    connected = connection is not None and connection.is_connected
    with_card = set(
        SavedCard.objects.filter(patient_id__in={f.patient_id for f in fees}, removed_at__isnull=True).values_list(
            "patient_id", flat=True
        )
    )
    rows = []
    for fee in fees:
        blocked = ""
        if fee.status in (FeeStatus.FAILED, FeeStatus.NO_CARD):
            blocked = NOT_CONNECTED if not connected else "" if fee.patient_id in with_card else NO_CARD
        retryable = fee.status in (FeeStatus.FAILED, FeeStatus.NO_CARD) and not blocked
        waivable = fee.status in (FeeStatus.PENDING, FeeStatus.FAILED, FeeStatus.NO_CARD)
        rows.append(FeeRow(fee, retryable, blocked, waivable))
    return rows


def fee_policy_read(*, actor: Actor) -> FeePolicy:
    """The chain's fee policy as owners and billing read it."""
    authorize(actor, "invoicing.view_fee_policy")
    from invoicing.services.fees import fee_policy_get

    return fee_policy_get()


@dataclass(frozen=True)
class FeeSettings:
    """What the owners' fees page shows: the policy, the chain's currency, and the cancellation
    window that makes a cancellation late (scheduling's booking rules)."""

    policy: FeePolicy
    currency: str
    window_hours: int


def fee_settings_read(*, actor: Actor) -> FeeSettings:
    policy = fee_policy_read(actor=actor)
    return FeeSettings(policy, chain_settings_get().currency, policy_get().cancellation_window_hours)


#: Why a fee waits at the desk although the patient may have a card: the chain cannot charge cards.
NOT_SET_UP = "online card payments are not set up"


def _can_charge_cards() -> bool:
    connection = connection_get()
    return connection is not None and connection.is_connected


def _card_words(card: SavedCard | None) -> str:
    return f"{card.brand.title()} ending {card.last4}" if card is not None else "the card on file"


def fee_outcome(*, appointment_id: int) -> str:
    """What a cancellation or a no-show did about money, in the words the desk shows at once: the
    fee and how it is paid (the deposit kept toward it, the card charged, the desk to collect), or
    no fee and what became of a deposit. No permission check: the caller just changed the visit."""
    locale = chain_settings_get().locale
    charges = FeeCharge.objects.select_related("card", "invoice").filter(appointment_id=appointment_id)
    charge = charges.order_by("-pk").first()
    if charge is None:
        visit = Invoice.objects.filter(appointment_id=appointment_id, kind=InvoiceKind.STANDARD).first()
        if visit is None or not visit.paid_minor:
            return "No fee."
        kept = visit.paid_minor - visit.refunded_minor
        if not kept:
            paid = money_format(visit.paid_minor, visit.currency, locale=locale)
            return f"No fee. The deposit of {paid} is refunded."
        return (
            f"No fee. The deposit of {money_format(kept, visit.currency, locale=locale)} stays paid on invoice "
            f"{visit.number}: refund it from the invoice if the clinic wishes."
        )

    def money(amount: int) -> str:
        return money_format(amount, charge.currency, locale=locale)

    name = f"{charge.get_kind_display()} fee"
    if charge.deposit_kept_minor == charge.amount_minor:
        return f"Deposit {money(charge.deposit_kept_minor)} kept as the {name.lower()}."
    head = f"{name} {money(charge.amount_minor)}"
    if not charge.deposit_kept_minor and charge.status in (FeeStatus.SUCCEEDED, FeeStatus.PENDING, FeeStatus.CHARGING):
        done = "charged" if charge.status == FeeStatus.SUCCEEDED else "being charged"
        return f"{head} {done} to {_card_words(charge.card)}."
    if charge.deposit_kept_minor:
        head += f": the deposit of {money(charge.deposit_kept_minor)} kept toward it,"
    rest, card = money(charge.card_part_minor), _card_words(charge.card)
    tail = {
        FeeStatus.SUCCEEDED: f"{rest} charged to {card}.",
        FeeStatus.PENDING: f"{rest} being charged to {card}.",
        FeeStatus.CHARGING: f"{rest} being charged to {card}.",
        FeeStatus.NO_CARD: f"{rest} waits at the desk ({NOT_SET_UP}), invoice {charge.invoice.number}."
        if not _can_charge_cards()
        else f"no card on file: {rest} to collect at the desk (invoice {charge.invoice.number}).",
        FeeStatus.FAILED: f"the charge of {rest} to {card} failed; it is on the fees list to retry or collect.",
        FeeStatus.WAIVED: "waived.",
    }[FeeStatus(charge.status)]
    return f"{head} {tail}" if charge.deposit_kept_minor else f"{head}: {tail}"


#: A fee's name in a sentence.
FEE_NAMES = {FeeKind.NO_SHOW: "no-show fee", FeeKind.LATE_CANCELLATION: "late-cancellation fee"}


def _visit_deposit(appointment_id: int) -> int:
    """What was paid toward the visit that a late-cancellation fee would keep (as fee_raise counts
    it): paid on the visit's issued invoice, nothing refunded, every payment settled."""
    visit = (
        Invoice.objects.filter(appointment_id=appointment_id, kind=InvoiceKind.STANDARD)
        .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID, InvoiceStatus.REFUNDED])
        .first()
    )
    if visit is None or visit.refunded_minor or visit.payments.exclude(status=PaymentStatus.SUCCEEDED).exists():
        return 0
    return visit.paid_minor


def fee_cancel_preview(*, appointment_id: int, now: datetime | None = None) -> str:
    """What cancelling this appointment now would do about money, said on the desk's cancel form
    before it is confirmed: whether it is late (inside the chain's cancellation window), the fee a
    cancellation the patient asked for carries, what a deposit pays of it and how the rest is paid.
    "" when the visit has nothing to say (no patient, no priced service). No permission check: the
    caller shows the appointment's panel."""
    entry = CalendarEntry.objects.select_related("service", "branch").filter(pk=appointment_id).first()
    if entry is None or entry.kind != Kind.APPOINTMENT or entry.patient_id is None:
        return ""
    if entry.service is None or entry.branch is None:
        return ""
    from invoicing.services.fees import fee_amount, fee_policy_get, fee_rule_of

    hours = policy_get().cancellation_window_hours
    if not inside_cancellation_window(start=entry.span.lower, now=now):
        return f"Not late: more than {hours} hours before the visit, so no cancellation fee."
    price = service_price(service=entry.service, branch=entry.branch)
    policy_fee = fee_amount(fee=fee_rule_of(fee_policy_get(), FeeKind.LATE_CANCELLATION), price_minor=price)
    late = f"Late: inside the {hours}-hour cancellation window."
    if policy_fee <= 0:
        return f"{late} The clinic asks no late-cancellation fee."
    currency, locale = chain_settings_get().currency, chain_settings_get().locale
    deposit = _visit_deposit(entry.pk)
    fee = max(policy_fee, deposit)

    def money(amount: int) -> str:
        return money_format(amount, currency, locale=locale)

    if deposit >= fee:
        how = f"the {money(deposit)} paid toward the visit is kept as the fee; nothing more is charged."
    else:
        rest = fee - deposit
        card = card_on_file_get(entry.patient_id)
        if not _can_charge_cards():
            pay = f"{money(rest)} waits at the desk ({NOT_SET_UP})."
        elif card is None:
            pay = f"{money(rest)} waits at the desk (no card on file)."
        else:
            pay = f"{money(rest)} is charged to {_card_words(card)}."
        how = f"the {money(deposit)} deposit paid is kept toward it and {pay}" if deposit else pay
    return (
        f"{late} If the patient asked, the late-cancellation fee is {money(fee)}: {how} "
        "If the clinic cancels (unticked), there is no fee."
    )


def _your_card(card: SavedCard | None) -> str:
    return f"your {card.brand.title()} card ending {card.last4}" if card is not None else "your card on file"


def fee_outcome_for_patient(*, appointment_id: int) -> str:
    """What a cancellation or a missed visit did about money, in the patient's words on their
    booking's page: the fee and what the deposit paid of it, what is still owed, or no fee and what
    became of a deposit. No permission check: the caller holds the booking's link."""
    locale = chain_settings_get().locale
    charge = FeeCharge.objects.select_related("card").filter(appointment_id=appointment_id).order_by("-pk").first()
    if charge is None:
        visit = Invoice.objects.filter(appointment_id=appointment_id, kind=InvoiceKind.STANDARD).first()
        if visit is None or not visit.paid_minor:
            return "No fee is charged."
        held = visit.paid_minor - visit.refunded_minor
        if held > 0:
            paid = money_format(held, visit.currency, locale=locale)
            return f"No fee is charged. The {paid} paid is kept, as the clinic's cancellation policy says."
        paid = money_format(visit.refunded_minor, visit.currency, locale=locale)
        pending = visit.payments.filter(refunds__status=RefundStatus.PENDING).exists()
        done = "being refunded" if pending else "refunded"
        return f"No fee is charged. The {paid} paid is {done} to the card that paid it."

    def money(amount: int) -> str:
        return money_format(amount, charge.currency, locale=locale)

    name = FEE_NAMES[FeeKind(charge.kind)]
    rest = money(charge.card_part_minor)
    if charge.status == FeeStatus.WAIVED:
        kept = f" Your {money(charge.deposit_kept_minor)} deposit was kept." if charge.deposit_kept_minor else ""
        return f"The clinic waived the {name}.{kept}"
    if charge.status == FeeStatus.SUCCEEDED and not charge.card_part_minor:
        return f"Your {money(charge.deposit_kept_minor)} deposit was kept as the {name}; nothing more is owed."
    if charge.status == FeeStatus.SUCCEEDED:
        owed = f"the other {rest} was charged to {_your_card(charge.card)}."
    elif charge.status in (FeeStatus.PENDING, FeeStatus.CHARGING):
        owed = f"{rest} is being charged to {_your_card(charge.card)}."
    else:
        owed = f"{rest} is still owed."
    if charge.deposit_kept_minor:
        deposit, fee = money(charge.deposit_kept_minor), money(charge.amount_minor)
        return f"Your {deposit} deposit was kept toward the {fee} {name}; {owed}"
    return f"A {name} of {money(charge.amount_minor)} applies: {owed}"


@dataclass(frozen=True)
class KeptDeposit:
    """A payment made toward a visit that a fee then kept: it now pays the fee's invoice."""

    amount_minor: int
    currency: str
    paid_at: datetime
    fee_name: str  # "late-cancellation fee"
    fee_invoice: Invoice


def deposits_kept(*, invoice: Invoice) -> list[KeptDeposit]:
    """The payments once made on this visit invoice that a no-show or late-cancellation fee kept
    (moved to the fee's invoice; their history says they were here). Read with the invoice's page."""
    if invoice.kind != InvoiceKind.STANDARD or invoice.appointment_id is None:
        return []
    charges = FeeCharge.objects.select_related("invoice").filter(
        appointment_id=invoice.appointment_id, deposit_kept_minor__gt=0
    )
    was_here = Payment.history.filter(invoice_id=invoice.pk).values_list("id", flat=True)
    kept = []
    for charge in charges.order_by("pk"):
        for payment in Payment.objects.filter(invoice_id=charge.invoice_id, pk__in=was_here).order_by("pk"):
            name = FEE_NAMES[FeeKind(charge.kind)]
            kept.append(KeptDeposit(payment.amount_minor, payment.currency, payment.received_at, name, charge.invoice))
    return kept
