"""What online checkout does when scheduling announces something, and the check it adds to online
booking: a held time the chain asks a deposit for is booked only by paying for it; a patient who
cancels a paid booking in time has the deposit refunded when the chain's policy says so (never
otherwise: a refund is an explicit action)."""

from __future__ import annotations

from config.events import subscribe
from invoicing.checkout.models import CheckoutStatus, OnlineCheckout
from invoicing.checkout.policy import online_payment_policy_get
from invoicing.checkout.services import deposit_required_check, invoice_checkouts_close
from invoicing.services.invoices import BEFORE_VOID
from invoicing.services.payments import refund_add
from scheduling.events import AppointmentCancelled
from scheduling.services.online import ONLINE_CONFIRM_CHECKS

TIMELY_CANCEL_REASON = "Cancelled by the patient in time: the deposit is refunded, as the clinic's policy says."


def refund_deposit_on_timely_cancel(event: AppointmentCancelled) -> None:
    if event.late or not getattr(event, "by_patient", False):
        return
    if not online_payment_policy_get().refund_deposit_on_timely_cancel:
        return
    paid = OnlineCheckout.objects.filter(
        hold_id=event.appointment_id, status=CheckoutStatus.PAID, payment__isnull=False
    ).select_related("payment")
    for checkout in paid:
        payment = checkout.payment
        left = payment.amount_minor - payment.refunded_minor if payment is not None else 0
        if payment is not None and left > 0:
            refund_add(payment, actor=None, amount_minor=left, reason=TIMELY_CANCEL_REASON)


def connect() -> None:
    if deposit_required_check not in ONLINE_CONFIRM_CHECKS:
        ONLINE_CONFIRM_CHECKS.append(deposit_required_check)
    if invoice_checkouts_close not in BEFORE_VOID:
        BEFORE_VOID.append(invoice_checkouts_close)
    subscribe(AppointmentCancelled, refund_deposit_on_timely_cancel)
