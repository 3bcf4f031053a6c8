"""What the ledger does when modules below it announce something: a completed visit raises its
invoice, issued, once (a second completion or a replayed event finds it raised); a merged patient
record's invoices become the kept record's."""

from __future__ import annotations

from config.events import subscribe
from invoicing.checkout.events import OnlineCheckoutPaid
from invoicing.checkout.models import CheckoutPurpose
from invoicing.models import Invoice, PackageSale
from invoicing.services.invoices import raise_for_appointment
from invoicing.services.package_sales import raise_for_package_sale
from packages.events import PackageSold
from packages.services import purchase_activate
from patients.events import PatientsMerged
from scheduling.events import AppointmentCompleted
from scheduling.models import CalendarEntry
from tenants.accounts.models import User
from tenants.audit.history import changed_by


def invoice_completed_visit(event: AppointmentCompleted) -> None:
    entry = CalendarEntry.objects.select_related("service").get(pk=event.appointment_id)
    if entry.patient_id is None or entry.service is None or entry.branch_id is None:
        return
    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    raise_for_appointment(entry, actor=actor, issue=True)


def move_invoices_on_merge(event: PatientsMerged) -> None:
    """What the merged record owes, and what it paid, is the kept record's."""
    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    for invoice in Invoice.objects.select_for_update().filter(patient_id=event.merged_id).order_by("pk"):
        invoice.patient_id = event.kept_id
        changed_by(invoice, actor, reason=f"patient record {event.merged_id} merged into {event.kept_id}")
        invoice.save(update_fields=["patient"])


def invoice_package_sale(event: PackageSold) -> None:
    """A package sold at the desk is invoiced at once, issued, for the price it was sold at."""
    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    raise_for_package_sale(purchase_id=event.purchase_id, actor=actor)


def activate_package_paid_online(event: OnlineCheckoutPaid) -> None:
    """A package bought online is paid: the purchase its sale invoice is for becomes active."""
    if event.purpose != CheckoutPurpose.PACKAGE_SALE:
        return
    sale = PackageSale.objects.filter(invoice_id=event.invoice_id).first()
    if sale is not None:
        purchase_activate(purchase_id=sale.purchase_id)


def connect() -> None:
    # Fees first: a cancelled visit's invoice is settled (its fee raised, what it still asks
    # credited) before checkout's timely-cancel refund gives its deposit back.
    from invoicing import fee_subscribers

    fee_subscribers.connect()
    from invoicing import package_ledger

    package_ledger.connect()
    from invoicing.checkout import subscribers as checkout_subscribers

    checkout_subscribers.connect()
    subscribe(AppointmentCompleted, invoice_completed_visit)
    subscribe(PatientsMerged, move_invoices_on_merge)
    subscribe(PackageSold, invoice_package_sale)
    subscribe(OnlineCheckoutPaid, activate_package_paid_online)
