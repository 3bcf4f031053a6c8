from __future__ import annotations

from django.conf import settings
from django.db import connection

from tenants.models import Clinic, Domain


def site_url(host: str) -> str:
    port = settings.SITE_PORT
    default = {"http": "80", "https": "443"}[settings.SITE_SCHEME]
    return f"{settings.SITE_SCHEME}://{host}" + ("" if port in ("", default) else f":{port}")


def clinic_host(clinic: Clinic) -> str:
    domain = Domain.objects.filter(tenant=clinic, is_primary=True).values_list("domain", flat=True).first()
    return domain or f"{clinic.slug}.{settings.BASE_DOMAIN}"


def current_schema() -> str:
    """The schema the default connection works in (django-tenants adds the attribute)."""
    return str(connection.schema_name)  # type: ignore[attr-defined]


def current_clinic() -> Clinic:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Clinic):  # FakeTenant when the schema was set by name only
        tenant = Clinic.objects.get(schema_name=current_schema())
    return tenant


def current_clinic_url() -> str:
    return site_url(clinic_host(current_clinic()))


def clinic_list_active() -> list[Clinic]:
    return list(Clinic.objects.exclude(schema_name="public").filter(status=Clinic.Status.ACTIVE))
