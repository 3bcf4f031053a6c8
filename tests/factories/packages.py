"""Session package test data, through the real services."""

from __future__ import annotations

from datetime import datetime

from packages import services as pkg
from packages.models import PackageProduct, PackagePurchase
from patients.models import Patient
from tests.factories.scheduling import Clinic

PACKAGE_PRICE = 30000


def product(clinic: Clinic, *, sessions: int = 3, validity_days: int = 90, name: str = "Physio 3") -> PackageProduct:
    """A product of ``sessions`` sessions of the clinic's service, made by its owner."""
    return pkg.product_create(
        actor=clinic.owner,
        name=name,
        services=[clinic.service],
        sessions=sessions,
        price_minor=PACKAGE_PRICE,
        validity_days=validity_days,
    )


def sold(
    clinic: Clinic, patient: Patient, *, of: PackageProduct | None = None, now: datetime | None = None, **kw: int
) -> PackagePurchase:
    """A package sold to ``patient`` by the receptionist at the clinic's branch."""
    return pkg.package_sell(
        actor=clinic.receptionist, product=of or product(clinic, **kw), patient=patient, branch=clinic.branch, now=now
    )
