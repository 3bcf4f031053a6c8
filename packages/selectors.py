"""Reads of session packages: the products, a patient's purchases and balances, the sessions still
pending (per patient, per package) and the package a booked visit uses. Every list of purchases is
scoped to the branches the user sees (tenants.org.selectors)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, QuerySet, Sum

from packages.models import PackageProduct, PackagePurchase, PackageSession, PurchaseStatus, SessionStatus
from tenants.authz import Actor
from tenants.org.selectors import branch_ids_visible


def product_list(*, active_only: bool = False) -> QuerySet[PackageProduct]:
    """The chain's package products, by name, with the services they cover and where they are sold."""
    qs = PackageProduct.objects.prefetch_related("services", "branches")
    return qs.filter(is_active=True) if active_only else qs


def purchase_list(*, actor: Actor, patient_id: int | None = None) -> QuerySet[PackagePurchase]:
    """Purchases sold at the branches this user sees, active first then by expiry."""
    qs = PackagePurchase.objects.select_related("patient", "branch", "product")
    visible = branch_ids_visible(actor=actor)
    if visible is not None:
        qs = qs.filter(branch_id__in=visible)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    return qs.order_by("status", "expires_at", "pk")


def pending_sessions(*, actor: Actor, patient_id: int | None = None) -> QuerySet[PackageSession]:
    """Sessions reserved by booked visits not yet taken place (per patient when asked), soonest first."""
    qs = PackageSession.objects.select_related("purchase", "appointment", "purchase__patient").filter(
        status=SessionStatus.RESERVED, purchase__in=purchase_list(actor=actor, patient_id=patient_id)
    )
    return qs.order_by("appointment__span", "pk")


@dataclass(frozen=True)
class ProductPending:
    """Per product: active purchases, and their sessions still owed to patients (reserved by a
    booking, or not yet booked)."""

    product_id: int
    name: str
    active_purchases: int
    sessions_reserved: int
    sessions_left: int

    @property
    def sessions_pending(self) -> int:
        return self.sessions_reserved + self.sessions_left


def pending_by_product(*, actor: Actor) -> list[ProductPending]:
    """The managers' report: what each product still owes on active purchases at the branches seen."""
    rows = (
        purchase_list(actor=actor)
        .filter(status=PurchaseStatus.ACTIVE)
        .values("product_id", "product__name")
        .annotate(
            purchases=Count("pk"),
            reserved_sum=Sum("reserved"),
            left_sum=Sum(F("sessions_total") - F("used") - F("reserved")),
        )
        .order_by("product__name", "product_id")
    )
    return [
        ProductPending(
            r["product_id"], r["product__name"], r["purchases"], int(r["reserved_sum"] or 0), int(r["left_sum"] or 0)
        )
        for r in rows
    ]


@dataclass(frozen=True)
class AppointmentPackage:
    """What the desk shows on a booked visit: "Package: 3 of 10 left"."""

    purchase_id: int
    name: str
    left: int
    total: int
    status: str

    @property
    def label(self) -> str:
        return f"Package: {self.left} of {self.total} left"


def appointment_package(*, appointment_id: int) -> AppointmentPackage | None:
    """The package a visit is booked against (its session reserved, consumed or forfeited), or None.
    No branch check: the caller shows it on an appointment it has already been allowed to see."""
    session = (
        PackageSession.objects.select_related("purchase")
        .exclude(status=SessionStatus.RELEASED)
        .filter(appointment_id=appointment_id)
        .first()
    )
    if session is None:
        return None
    p = session.purchase
    return AppointmentPackage(p.pk, p.name, p.left, p.sessions_total, session.status)


def covering_session(*, appointment_id: int) -> PackageSession | None:
    """The session that pays for a visit (reserved or consumed), for its invoice; None when the
    visit is paid as usual (no package, released, or forfeited)."""
    return (
        PackageSession.objects.select_related("purchase")
        .filter(appointment_id=appointment_id, status__in=(SessionStatus.RESERVED, SessionStatus.CONSUMED))
        .first()
    )


def purchases_of_patient(*, patient_id: int) -> QuerySet[PackagePurchase]:
    """A patient's own purchases, every branch (the portal: the patient reads their own), by status."""
    return (
        PackagePurchase.objects.select_related("branch")
        .filter(patient_id=patient_id)
        .exclude(status=PurchaseStatus.CANCELLED)
        .order_by("status", "expires_at", "pk")
    )
