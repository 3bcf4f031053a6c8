"""Reads of session packages: the products, a patient's purchases and balances, the sessions still
pending (per patient, per package) and the package a booked visit uses. Every list of purchases is
scoped to the branches the user sees (tenants.org.selectors)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Sum

from packages.models import PackageProduct, PackagePurchase, PackageSession, PurchaseStatus, SessionStatus
from scheduling.models import CalendarEntry
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
    qs = PackageSession.objects.select_related("purchase", "appointment__branch", "purchase__patient").filter(
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


def series_package_counts(*, appointment_ids: list[int]) -> tuple[int, int]:
    """Of these visits (a series' occurrences), how many hold a package session, and how many there
    are: the desk says "2 of 4 visits on the package"."""
    on = (
        PackageSession.objects.filter(appointment_id__in=appointment_ids).exclude(status=SessionStatus.RELEASED).count()
    )
    return on, len(appointment_ids)


def covering_products(*, service_id: int, branch_id: int) -> list[int]:
    """The products that cover a service at a branch (sold there or at every branch)."""
    return list(
        PackageProduct.objects.filter(services=service_id)
        .filter(Q(branches__isnull=True) | Q(branches=branch_id))
        .values_list("pk", flat=True)
        .distinct()
    )


def usable_purchase(*, appointment: CalendarEntry) -> PackagePurchase | None:
    """The purchase a booked visit not on a package would draw a session from now ("Use the
    package" on the desk panel): the patient's active one covering its service at its branch, valid
    at its start, with a session left, expiring first. None otherwise."""
    if appointment.patient_id is None or appointment.service_id is None or appointment.branch_id is None:
        return None
    products = covering_products(service_id=appointment.service_id, branch_id=appointment.branch_id)
    return (
        PackagePurchase.objects.filter(
            patient_id=appointment.patient_id,
            status=PurchaseStatus.ACTIVE,
            product_id__in=products,
            expires_at__gt=appointment.span.lower,
            used__lt=F("sessions_total") - F("reserved"),
        )
        .order_by("expires_at", "pk")
        .first()
    )


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
