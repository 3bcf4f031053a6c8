"""Session packages: the products owners define, a sale at the desk, and the sessions that visits
reserve, consume, release or forfeit.

How a booking uses a package (scheduling's events drive it, packages.subscribers):

- booking a covered service reserves a session of the patient's active purchase that expires first
  among those valid at the visit's start (and sold for that branch); with none left the booking
  stands, paid as usual. The desk may then take the visit off the package
  (``package_session_release``: "book without the package");
- rescheduling keeps the session, even past the purchase's expiry (the visit was booked while the
  package was valid);
- completing the visit consumes the session; cancelling in time releases it; a late cancellation
  the patient asked for, or a no-show, forfeits it (it counts as used), as clinics selling packages
  usually rule; the clinic's own cancellation, late or not, releases it.

Every change locks the purchase row first (then the session's), in expiry order when several are
looked at, so concurrent bookings queue on the row; the database's CHECK constraint
``package_purchase_balance`` refuses any write that would overdraw, whatever got past the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import ValidationFailed
from config.events import publish
from config.fields import plain_text
from packages.events import PackageSold
from packages.exceptions import NoPackageLeft, NoPackageSession, ProductNotAtBranch, ProductRetired
from packages.models import (
    CancelReason,
    PackageProduct,
    PackagePurchase,
    PackageSession,
    PurchaseStatus,
    SessionStatus,
)
from packages.selectors import covering_products
from patients.models import Patient
from scheduling.models import CalendarEntry, Kind, Service, Status
from tenants.audit.history import changed_by
from tenants.authz import Actor, authorize, user_of
from tenants.org.models import Branch
from tenants.org.selectors import chain_settings_get

#: Appointments in these states may hold a reserved session.
_BOOKED = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.IN_PROGRESS)


def _actor_id(actor: Actor | None) -> int | None:
    user = user_of(actor)
    return user.pk if user is not None else None


def _checked(*, name: str, services: Sequence[Service], sessions: int, price_minor: int, validity_days: int) -> str:
    errors: dict[str, list[str]] = {}
    name = plain_text(name).strip()
    if not name:
        errors["name"] = ["Give the package a name."]
    if not services:
        errors["services"] = ["Choose at least one service the package covers."]
    if sessions < 1:
        errors["sessions"] = ["A package has at least one session."]
    if price_minor < 0:
        errors["price_minor"] = ["The price cannot be negative."]
    if validity_days < 1:
        errors["validity_days"] = ["A package is valid for at least one day."]
    if errors:
        raise ValidationFailed(fields=errors)
    return name[:120]


def product_create(
    *,
    actor: Actor,
    name: str,
    services: Sequence[Service],
    sessions: int,
    price_minor: int,
    validity_days: int,
    branches: Sequence[Branch] = (),
) -> PackageProduct:
    """A package product in the chain's currency, sold at ``branches`` (every branch when none)."""
    authorize(actor, "packages.manage_product")
    name = _checked(
        name=name, services=services, sessions=sessions, price_minor=price_minor, validity_days=validity_days
    )
    with transaction.atomic():
        product = PackageProduct(
            name=name,
            sessions=sessions,
            price_minor=price_minor,
            currency=chain_settings_get().currency,
            validity_days=validity_days,
        )
        changed_by(product, actor, reason="created").save()
        product.services.set(services)
        product.branches.set(branches)
    return product


def product_update(
    *,
    actor: Actor,
    product: PackageProduct,
    name: str,
    services: Sequence[Service],
    sessions: int,
    price_minor: int,
    validity_days: int,
    branches: Sequence[Branch] = (),
) -> PackageProduct:
    """Change what a product is from now on; purchases already made keep what was sold."""
    authorize(actor, "packages.manage_product")
    name = _checked(
        name=name, services=services, sessions=sessions, price_minor=price_minor, validity_days=validity_days
    )
    with transaction.atomic():
        product = PackageProduct.objects.select_for_update().get(pk=product.pk)
        product.name, product.sessions, product.price_minor, product.validity_days = (
            name,
            sessions,
            price_minor,
            validity_days,
        )
        changed_by(product, actor, reason="changed").save()
        product.services.set(services)
        product.branches.set(branches)
    return product


def product_retire(*, actor: Actor, product: PackageProduct) -> PackageProduct:
    """Stop selling a product; patients who bought it use their sessions as before."""
    authorize(actor, "packages.manage_product")
    with transaction.atomic():
        product = PackageProduct.objects.select_for_update().get(pk=product.pk)
        if product.is_active:
            product.is_active = False
            changed_by(product, actor, reason="retired").save()
    return product


def package_sell(
    *, actor: Actor, product: PackageProduct, patient: Patient, branch: Branch, now: datetime | None = None
) -> PackagePurchase:
    """Sell ``product`` to ``patient`` at ``branch``: a purchase with the product's sessions, price
    and validity as they are now. Invoicing raises and issues the sale's invoice (PackageSold)."""
    authorize(actor, "packages.sell", branch)
    return _sell(actor=actor, product=product, patient=patient, branch=branch, now=now or timezone.now())


def package_buy_online_start(
    *, actor: Actor, product: PackageProduct, patient: Patient, branch: Branch, now: datetime | None = None
) -> PackagePurchase:
    """A patient buys a package for themselves online: the purchase waits for the payment (pending,
    used by no booking) and invoicing raises its invoice and opens the checkout
    (invoicing.services.package_sales.package_buy_online). Paid, it becomes active
    (``purchase_activate``); unpaid, the expiry task cancels it a day later."""
    authorize(actor, "packages.buy_online", patient)
    return _sell(actor=actor, product=product, patient=patient, branch=branch, now=now or timezone.now(), pending=True)


def _sell(
    *, actor: Actor, product: PackageProduct, patient: Patient, branch: Branch, now: datetime, pending: bool = False
) -> PackagePurchase:
    with transaction.atomic():
        product = PackageProduct.objects.select_for_update().get(pk=product.pk)
        if not product.is_active:
            raise ProductRetired()
        if product.branches.exists() and not product.branches.filter(pk=branch.pk).exists():
            raise ProductNotAtBranch()
        purchase = PackagePurchase(
            product=product,
            patient=patient,
            branch=branch,
            name=product.name,
            sessions_total=product.sessions,
            price_minor=product.price_minor,
            currency=product.currency,
            sold_by=user_of(actor),
            sold_at=now,
            expires_at=now + timedelta(days=product.validity_days),
            status=PurchaseStatus.PENDING if pending else PurchaseStatus.ACTIVE,
        )
        changed_by(purchase, actor, reason="sold").save()
        publish(PackageSold(purchase.pk, _actor_id(actor)))
    return purchase


def purchase_activate(*, purchase_id: int, now: datetime | None = None, how: str = "paid") -> PackagePurchase:
    """A purchase waiting for its payment is paid (online or at the desk): it is active from now,
    for its full validity. Called by invoicing when a payment lands on the sale's invoice; a second
    call changes nothing. A purchase the expiry task cancelled as unpaid while the payment was being
    recorded becomes active all the same (the row lock orders the two; the money is in)."""
    now = now or timezone.now()
    with transaction.atomic():
        purchase = PackagePurchase.objects.select_for_update().get(pk=purchase_id)
        unpaid = purchase.status == PurchaseStatus.CANCELLED and purchase.cancel_reason == CancelReason.UNPAID
        if purchase.status == PurchaseStatus.PENDING or unpaid:
            validity = purchase.expires_at - purchase.sold_at
            purchase.status, purchase.sold_at, purchase.expires_at = PurchaseStatus.ACTIVE, now, now + validity
            purchase.cancelled_at, purchase.cancel_reason = None, ""
            changed_by(purchase, None, reason=how).save(
                update_fields=["status", "sold_at", "expires_at", "cancelled_at", "cancel_reason"]
            )
    return purchase


def purchase_cancel(
    *, purchase_id: int, reason: CancelReason, actor: Actor | None, note: str = "", now: datetime | None = None
) -> PackagePurchase:
    """Cancel a purchase: no session of it can be booked any more. Visits still booked against it
    keep their time but leave the package (their sessions released: each is invoiced as usual when
    it takes place); sessions used stay used. No permission check: invoicing's cancellation at the
    desk (which checks ``packages.cancel_purchase``) or a voided / fully credited sale invoice calls
    it. A purchase already cancelled is left as it is."""
    now = now or timezone.now()
    with transaction.atomic():
        purchase = PackagePurchase.objects.select_for_update().get(pk=purchase_id)
        if purchase.status == PurchaseStatus.CANCELLED:
            return purchase
        booked = PackageSession.objects.select_for_update().filter(purchase=purchase, status=SessionStatus.RESERVED)
        for session in booked.order_by("pk"):
            session.status, session.settled_at, session.note = SessionStatus.RELEASED, now, "package cancelled"
            changed_by(session, actor, reason="package cancelled").save()
        purchase.reserved = 0
        purchase.status, purchase.cancelled_at, purchase.cancel_reason = PurchaseStatus.CANCELLED, now, reason
        purchase.cancel_note = plain_text(note).strip()[:200]
        changed_by(purchase, actor, reason=f"cancelled: {reason.label.lower()}").save(
            update_fields=["reserved", "status", "cancelled_at", "cancel_reason", "cancel_note"]
        )
    return purchase


#: How long a package bought online waits for its payment before the expiry task cancels it.
UNPAID_PURCHASE_KEPT = timedelta(days=1)


def session_reserve(*, appointment_id: int, actor: Actor | None, again: bool = False) -> PackageSession | None:
    """Reserve a session for a booked visit of a covered service, from the patient's active
    purchase that expires first (valid at the visit's start); None when no purchase has one left.
    No permission check: the booking's own (the AppointmentBooked subscriber calls it). Asked twice
    for one visit, it answers the session reserved the first time; ``again``: a visit whose session
    was released (taken off the package) is put back on a package (``package_session_use``)."""
    with transaction.atomic():
        entry = CalendarEntry.objects.get(pk=appointment_id)
        existing = PackageSession.objects.filter(appointment_id=entry.pk).first()
        if existing is not None and not (again and existing.status == SessionStatus.RELEASED):
            return existing
        if (
            entry.kind != Kind.APPOINTMENT
            or entry.status not in _BOOKED
            or entry.patient_id is None
            or entry.service_id is None
            or entry.branch_id is None
        ):
            return None
        products = covering_products(service_id=entry.service_id, branch_id=entry.branch_id)
        if not products:
            return None
        # Lock in expiry order (the order every reservation takes), so bookings racing for one
        # patient's purchases queue rather than deadlock; each re-reads the balance once it holds the row.
        candidates = PackagePurchase.objects.select_for_update().filter(
            patient_id=entry.patient_id,
            status=PurchaseStatus.ACTIVE,
            product_id__in=products,
            expires_at__gt=entry.span.lower,
        )
        for purchase in candidates.order_by("expires_at", "pk"):
            if purchase.left < 1:
                continue
            purchase.reserved += 1
            try:
                with transaction.atomic():
                    changed_by(purchase, actor, reason=f"session reserved for appointment {entry.pk}").save(
                        update_fields=["reserved"]
                    )
            except IntegrityError:  # package_purchase_balance: another booking took the last one
                continue
            if existing is None:
                session = PackageSession(purchase=purchase, appointment=entry, reserved_at=timezone.now())
            else:  # one row per visit: the released one is booked again, on the purchase found now
                session = PackageSession.objects.select_for_update().get(pk=existing.pk)
                session.purchase, session.status, session.reserved_at = purchase, SessionStatus.RESERVED, timezone.now()
                session.settled_at, session.note = None, ""
            changed_by(session, actor, reason="booked" if existing is None else "put back on the package").save()
            return session
    return None


def _settle(*, appointment_id: int, to: SessionStatus, actor: Actor | None, note: str = "") -> PackageSession | None:
    """Move a visit's reserved session to ``to``: consumed or forfeited (used), or released (back
    in the balance). A session already settled is left as it is (a replayed event)."""
    with transaction.atomic():
        found = PackageSession.objects.filter(appointment_id=appointment_id).values_list("purchase_id", flat=True)
        purchase_id = found.first()
        if purchase_id is None:
            return None
        purchase = PackagePurchase.objects.select_for_update().get(pk=purchase_id)  # the purchase first, always
        session = PackageSession.objects.select_for_update().get(appointment_id=appointment_id)
        if session.status != SessionStatus.RESERVED:
            return None
        purchase.reserved -= 1
        if to != SessionStatus.RELEASED:
            purchase.used += 1
        if purchase.used == purchase.sessions_total and purchase.status == PurchaseStatus.ACTIVE:
            purchase.status = PurchaseStatus.USED_UP
        changed_by(purchase, actor, reason=f"session {to.label.lower()}: appointment {appointment_id}").save(
            update_fields=["reserved", "used", "status"]
        )
        session.status, session.settled_at = to, timezone.now()
        session.note = note[:200]
        changed_by(session, actor, reason=to.label.lower()).save()
    return session


def session_consume(*, appointment_id: int, actor: Actor | None) -> PackageSession | None:
    """The visit took place: its session is used. Called by the AppointmentCompleted subscriber."""
    return _settle(appointment_id=appointment_id, to=SessionStatus.CONSUMED, actor=actor)


def session_forfeit(*, appointment_id: int, actor: Actor | None, note: str) -> PackageSession | None:
    """A no-show or a late cancellation: the session is used up all the same."""
    return _settle(appointment_id=appointment_id, to=SessionStatus.FORFEITED, actor=actor, note=note)


def session_release(*, appointment_id: int, actor: Actor | None, note: str = "") -> PackageSession | None:
    """A cancellation in time: the session goes back to the balance."""
    return _settle(appointment_id=appointment_id, to=SessionStatus.RELEASED, actor=actor, note=note)


def package_session_release(*, actor: Actor, appointment: CalendarEntry) -> PackageSession:
    """The desk takes a booked visit off its package ("book without the package"): the session goes
    back to the balance and the visit is invoiced as usual. Refused (no_package_session) unless the
    visit holds a reserved session."""
    authorize(actor, "packages.change_session", appointment.branch)
    session = session_release(appointment_id=appointment.pk, actor=actor, note="booked without the package")
    if session is None:
        raise NoPackageSession()
    return session


def package_session_use(*, actor: Actor, appointment: CalendarEntry) -> PackageSession:
    """The desk puts a booked visit on the patient's package ("Use the package"): a visit booked
    before the sale, or one taken off its package, reserves a session as a booking would. Refused
    (no_package_left) when no valid package of the patient covers it with a session left, or when
    the visit is no longer booked."""
    authorize(actor, "packages.change_session", appointment.branch)
    session = session_reserve(appointment_id=appointment.pk, actor=actor, again=True)
    if session is None or session.status != SessionStatus.RESERVED:
        raise NoPackageLeft()
    return session


def packages_expire(*, now: datetime | None = None) -> int:
    """Mark the chain's active purchases past their expiry expired; how many were. Idempotent (a
    second run finds none). Nothing used is given back, and a session reserved for a visit booked
    while the purchase was valid stays reserved and is consumed or released by its visit as usual.
    Purchases bought online and still unpaid a day after are cancelled."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = PackagePurchase.objects.select_for_update(skip_locked=True).filter(
            status=PurchaseStatus.ACTIVE, expires_at__lte=now
        )
        for purchase in due.order_by("expires_at", "pk"):
            purchase.status = PurchaseStatus.EXPIRED
            changed_by(purchase, None, reason="expired").save(update_fields=["status"])
            count += 1
        unpaid = PackagePurchase.objects.select_for_update(skip_locked=True).filter(
            status=PurchaseStatus.PENDING, sold_at__lte=now - UNPAID_PURCHASE_KEPT
        )
        for purchase in unpaid.order_by("pk"):
            purchase.status, purchase.cancelled_at, purchase.cancel_reason = (
                PurchaseStatus.CANCELLED,
                now,
                CancelReason.UNPAID,
            )
            changed_by(purchase, None, reason="not paid online").save(
                update_fields=["status", "cancelled_at", "cancel_reason"]
            )
    return count


def purchases_move_on_merge(*, merged_id: int, kept_id: int, actor: Actor | None) -> int:
    """The merged record's purchases become the kept record's."""
    moved = 0
    with transaction.atomic():
        for purchase in PackagePurchase.objects.select_for_update().filter(patient_id=merged_id).order_by("pk"):
            purchase.patient_id = kept_id
            changed_by(purchase, actor, reason=f"patient record {merged_id} merged into {kept_id}").save(
                update_fields=["patient"]
            )
            moved += 1
    return moved
