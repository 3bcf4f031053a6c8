"""A patient buys a session package online (the portal) and pays for it at once through Stripe
Checkout on the chain's connected account: the purchase waits for the payment (pending), its sale
invoice is issued and the checkout opened after commit (invoicing.checkout). When the checkout is
paid (webhook, return page or sweep: ``OnlineCheckoutPaid``) the purchase becomes active; unpaid, the
checkout voids the invoice and the expiry task cancels the purchase."""

from __future__ import annotations

from django.db import transaction

from config.errors import PermissionDenied
from invoicing.checkout.models import CheckoutPurpose, OnlineCheckout
from invoicing.checkout.services import checkout_open, checkout_start
from invoicing.connect.selectors import connection_get, payments_configured
from invoicing.services.package_sales import raise_for_package_sale
from packages.models import PackageProduct
from packages.services import package_buy_online_start
from patients.portal import patient_of
from tenants.authz import Actor
from tenants.org.models import Branch

SUCCESS_PATH = "/portal/packages/paid/{token}/"
CANCEL_PATH = "/portal/packages/"


def packages_sold_online() -> bool:
    """Whether a patient can buy a package on the portal now: the chain's Stripe account takes
    payments (otherwise the portal says packages are sold at the desk, and offers no purchase)."""
    connection = connection_get()
    return payments_configured() and connection is not None and connection.is_connected


def package_buy_online(*, actor: Actor, product: PackageProduct, branch: Branch) -> OnlineCheckout:
    """The signed-in patient buys ``product`` at ``branch``: the checkout, opened at Stripe (its
    ``session_url`` is where the patient pays). Refused unless the chain's Stripe account takes
    payments (stripe_not_connected), or while Stripe cannot be reached (stripe_unavailable: the
    sweep opens it or lets it lapse)."""
    patient = patient_of(actor)
    if patient is None:
        raise PermissionDenied()
    with transaction.atomic():
        purchase = package_buy_online_start(actor=actor, product=product, patient=patient, branch=branch)
        invoice = raise_for_package_sale(purchase_id=purchase.pk, actor=actor)  # raised on PackageSold
        started = checkout_start(
            invoice=invoice,
            patient=patient,
            amount_minor=invoice.total_minor,
            purpose=CheckoutPurpose.PACKAGE_SALE,
            description=f"{purchase.name} ({purchase.sessions_total} sessions)",
            success_path=SUCCESS_PATH,
            cancel_path=CANCEL_PATH,
        )
    return checkout_open(checkout=started)
