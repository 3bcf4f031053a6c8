"""Provisioning and lifecycle of clinic chains (public schema)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone as dj_timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from config.validation import (
    currency_error,
    email_error,
    locale_error,
    name_error,
    require_valid,
    slug_error,
    timezone_error,
)
from tenants.authz import Actor, authorize
from tenants.db import owner_connection
from tenants.exceptions import ClinicSlugTaken, ClinicStateConflict, InvalidClinicData
from tenants.models import Clinic, Domain, Plan
from tenants.selectors import site_url

log = logging.getLogger(__name__)

DEFAULT_PLANS = [
    {"code": "starter", "name": "Starter", "max_branches": 2, "max_staff": 15, "monthly_price_minor": 9900},
    {"code": "growth", "name": "Growth", "max_branches": 10, "max_staff": 100, "monthly_price_minor": 29900},
    {"code": "chain", "name": "Chain", "max_branches": 100, "max_staff": 2000, "monthly_price_minor": 99900},
]


def platform_ensure_public() -> Clinic:
    """Create the public tenant, its domain and the default plans if missing. Idempotent."""
    public: Clinic
    public, _ = Clinic.objects.get_or_create(schema_name="public", defaults={"name": "Clinicflow", "slug": "public"})
    Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True})
    for plan in DEFAULT_PLANS:
        Plan.objects.get_or_create(code=plan["code"], defaults=plan)
    return public


def _validate(*, name: str, slug: str, owner_email: str, timezone: str, currency: str, locale: str) -> None:
    require_valid(
        InvalidClinicData,
        {
            "name": name_error(name),
            "slug": slug_error(slug),
            "owner_email": email_error(owner_email),
            "timezone": timezone_error(timezone),
            "currency": currency_error(currency),
            "locale": locale_error(locale),
        },
    )


def clinic_create(
    *,
    name: str,
    slug: str,
    owner_email: str,
    timezone: str,
    currency: str,
    locale: str = "en",
    plan: str | None = None,
    owner_first_name: str = "",
    owner_last_name: str = "",
    actor: Actor | None = None,
) -> tuple[Clinic, str]:
    """Create a clinic chain: its schema, domain, profile and owner account.

    Returns the clinic and a one-time link where the owner sets their password. Schema creation is
    DDL that runs outside our transaction, so a failure after it removes the half-made chain.
    """
    if actor is not None:
        authorize(actor, "tenants.manage_clinics")
    slug = (slug or "").strip().lower()
    owner_email = (owner_email or "").strip().lower()
    currency = (currency or "").strip().upper()
    locale = (locale or "en").strip().lower()
    _validate(name=name, slug=slug, owner_email=owner_email, timezone=timezone, currency=currency, locale=locale)
    plan_row = None
    if plan:
        plan_row = Plan.objects.filter(code=plan).first()
        if plan_row is None:
            raise InvalidClinicData(fields={"plan": [f"Unknown plan '{plan}'."]})
    if Clinic.objects.filter(slug=slug).exists():
        raise ClinicSlugTaken()

    values = {
        "schema_name": slug.replace("-", "_"),
        "slug": slug,
        "name": name.strip(),
        "plan": plan_row,
        "owner_email": owner_email,
    }
    try:
        # Schemas are created, renamed and dropped by the owner role only (tenants.db).
        with owner_connection():
            clinic = _take_spare(values) or _new_schema(values)
    except IntegrityError as exc:  # lost a race for the same slug
        raise ClinicSlugTaken() from exc
    try:
        with transaction.atomic():
            host = f"{slug}.{settings.BASE_DOMAIN}"
            Domain.objects.create(domain=host, tenant=clinic, is_primary=True)
            with schema_context(clinic.schema_name):
                link = _seed_chain(
                    clinic=clinic,
                    host=host,
                    owner_email=owner_email,
                    first_name=owner_first_name,
                    last_name=owner_last_name,
                    timezone=timezone,
                    currency=currency,
                    locale=locale,
                )
    except BaseException:
        log.exception("provisioning of %s failed; removing its schema", slug)
        with owner_connection():
            clinic.delete(force_drop=True)
        raise
    return clinic, link


def _take_spare(values: dict[str, Any]) -> Clinic | None:
    """Turn a spare schema into the new chain: a rename, in milliseconds, instead of migrating a
    schema from scratch. None when no spare is ready."""
    with transaction.atomic():
        spare = Clinic.objects.select_for_update(skip_locked=True).filter(status=Clinic.Status.SPARE).first()
        if spare is None:
            return None
        quote = connection.ops.quote_name  # schema names are checked slugs; quoted all the same
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER SCHEMA {quote(spare.schema_name)} RENAME TO {quote(values['schema_name'])}")
            _functions_follow_rename(cursor, values["schema_name"])
        Clinic.objects.filter(pk=spare.pk).update(status=Clinic.Status.ACTIVE, created_at=dj_timezone.now(), **values)
    clinic: Clinic = Clinic.objects.get(pk=spare.pk)
    return clinic


def _functions_follow_rename(cursor: Any, schema: str) -> None:
    """A function made with ``SET search_path FROM CURRENT`` (the reporting marks' triggers) keeps the
    path it was made with: after the rename it would name the spare's schema, which no longer exists.
    Each such function of the schema is given the chain's own path again."""
    cursor.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p"
        " WHERE p.pronamespace = %s::regnamespace"
        " AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%%')",
        [schema],
    )
    quote = connection.ops.quote_name
    for (function,) in cursor.fetchall():
        cursor.execute(f"ALTER FUNCTION {function} SET search_path = {quote(schema)}, public")


def _new_schema(values: dict[str, Any]) -> Clinic:
    clinic = Clinic(**values)
    clinic.save(verbosity=0)  # creates and migrates the schema
    return clinic


def clinic_spares_replenish(*, target: int | None = None) -> int:
    """Keep `target` (settings.CLINICFLOW_SPARE_SCHEMAS) spare schemas migrated and ready. Each is
    a Clinic row without a domain, so nothing routes to it; migrate_schemas keeps it current."""
    target = settings.CLINICFLOW_SPARE_SCHEMAS if target is None else target
    made = 0
    with owner_connection():
        while Clinic.objects.filter(status=Clinic.Status.SPARE).count() < target:
            token = secrets.token_hex(6)
            spare = Clinic(
                schema_name=f"spare_{token}", slug=f"spare-{token}", name="(spare)", status=Clinic.Status.SPARE
            )
            spare.save(verbosity=0)
            made += 1
    return made


def _seed_chain(*, clinic: Clinic, host: str, owner_email: str, first_name: str, last_name: str, **profile: str) -> str:
    from tenants.accounts.models import User
    from tenants.accounts.tokens import password_reset_token
    from tenants.org.models import ChainSettings, Role, StaffMember

    ChainSettings.objects.create(
        pk=1,
        name=clinic.name,
        default_timezone=profile["timezone"],
        currency=profile["currency"],
        locale=profile["locale"],
        contact_email=owner_email,
    )
    owner = User(email=owner_email, first_name=first_name, last_name=last_name)
    owner.set_unusable_password()
    owner.save()
    StaffMember.objects.create(user=owner, roles=[Role.OWNER], job_title="Owner")
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    token = password_reset_token.make_token(owner)
    return f"{site_url(host)}/accounts/reset/{uid}/{token}/"


def _set_status(*, actor: Actor | None, clinic: Clinic, status: str, reason: str) -> Clinic:
    if actor is not None:
        authorize(actor, "tenants.manage_clinics")
    with transaction.atomic():
        clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
        if clinic.is_public:
            raise ClinicStateConflict("The platform itself cannot be suspended.")
        if clinic.status == status:
            raise ClinicStateConflict(f"The clinic chain is already {clinic.get_status_display().lower()}.")
        clinic.status = status
        clinic.status_reason = reason.strip()[:300]
        clinic.status_changed_at = dj_timezone.now()
        clinic.save(update_fields=["status", "status_reason", "status_changed_at"])
    return clinic


def clinic_suspend(*, actor: Actor | None, clinic: Clinic, reason: str) -> Clinic:
    """Suspend a chain: its pages and API refuse every request. Nothing is deleted."""
    if not reason.strip():
        raise InvalidClinicData(fields={"reason": ["Give a reason for the suspension."]})
    return _set_status(actor=actor, clinic=clinic, status=Clinic.Status.SUSPENDED, reason=reason)


def clinic_reactivate(*, actor: Actor | None, clinic: Clinic) -> Clinic:
    return _set_status(actor=actor, clinic=clinic, status=Clinic.Status.ACTIVE, reason="")
