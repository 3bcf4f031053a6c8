"""Reading fees and cards on file: the fees list billing works from (failed charges first) and the
chain's policy. Branch scoping through tenants.org.selectors only."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, QuerySet, Value, When

from config.money import money_format
from invoicing.cards import SavedCard
from invoicing.connect.selectors import connection_get
from invoicing.fees import FeeCharge, FeePolicy, FeeStatus
from invoicing.models import Invoice, InvoiceKind
from scheduling.selectors import policy_get
from tenants.authz import Actor, authorize
from tenants.org.selectors import branch_ids_visible, chain_settings_get

#: What needs someone first: failed charges, then fees waiting for a card, then those on their way.
STATUS_ORDER = [FeeStatus.FAILED, FeeStatus.NO_CARD, FeeStatus.CHARGING, FeeStatus.PENDING]


def fee_charge_list(*, actor: Actor, status: str | None = None) -> QuerySet[FeeCharge]:
    """The fees of the branches ``actor`` sees, failed first, then newest first."""
    authorize(actor, "invoicing.view_fees")
    rows = FeeCharge.objects.select_related("invoice", "patient", "appointment", "card", "appointment__service")
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
        FeeStatus.NO_CARD: f"no card on file: {rest} to collect at the desk (invoice {charge.invoice.number}).",
        FeeStatus.FAILED: f"the charge of {rest} to {card} failed; it is on the fees list to retry or collect.",
        FeeStatus.WAIVED: "waived.",
    }[FeeStatus(charge.status)]
    return f"{head} {tail}" if charge.deposit_kept_minor else f"{head}: {tail}"
