"""The demo clinic chain of `make demo`. Built through the real services; safe to run again.

Each capability adds its part here, so a newcomer sees it working at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.test.utils import override_settings
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.models import Clinic
from tenants.org import services as org
from tenants.org.models import Branch, Invitation, Role, StaffMember
from tenants.selectors import site_url
from tenants.services import clinic_create, platform_ensure_public

DEMO_PASSWORD = "Clinicflow-demo-2026"  # noqa: S105 (printed for the demo on purpose)
OPERATOR_EMAIL = "operator@clinicflow.localhost"
SLUG = "northwind"


@dataclass(frozen=True)
class Person:
    email: str
    first: str
    last: str
    roles: tuple[str, ...]
    branches: tuple[str, ...]
    title: str


BRANCHES = [
    ("Camden", "14 Parkway\nLondon NW1 7AA", "Europe/London", "+442079460100"),
    ("Islington", "221 Upper Street\nLondon N1 1RQ", "Europe/London", "+442079460200"),
]
PEOPLE = [
    Person("manager@northwind.localhost", "Maya", "Patel", (Role.BRANCH_MANAGER,), ("Camden",), "Branch manager"),
    Person("dr.okafor@northwind.localhost", "Chidi", "Okafor", (Role.DOCTOR,), ("Camden", "Islington"), "GP"),
    Person("dr.lindqvist@northwind.localhost", "Sara", "Lindqvist", (Role.DOCTOR,), ("Islington",), "Physiotherapist"),
    Person("reception@northwind.localhost", "Tom", "Hughes", (Role.RECEPTIONIST,), ("Camden",), "Receptionist"),
    Person("billing@northwind.localhost", "Ana", "Silva", (Role.BILLING,), (), "Billing"),
]
OWNER = Person("owner@northwind.localhost", "Olivia", "Grant", (Role.OWNER, Role.DOCTOR), (), "Owner, GP")


def load(out=print) -> None:  # type: ignore[no-untyped-def]
    platform_ensure_public()
    if not User.objects.filter(email=OPERATOR_EMAIL).exists():
        User.objects.create_superuser(email=OPERATOR_EMAIL, password=DEMO_PASSWORD)
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic, _ = clinic_create(
            name="Northwind Health",
            slug=SLUG,
            owner_email=OWNER.email,
            timezone="Europe/London",
            currency="GBP",
            locale="en-gb",
            plan="growth",
            owner_first_name=OWNER.first,
            owner_last_name=OWNER.last,
        )
    # The demo's own invitations are accepted on the spot: keep their e-mails out of the console.
    with (
        schema_context(clinic.schema_name),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
    ):
        _load_chain()
    host = f"{SLUG}.{settings.BASE_DOMAIN}"
    out(f"\nDemo ready. Password for every login below: {DEMO_PASSWORD}")
    out(f"  platform operator  {site_url(settings.BASE_DOMAIN)}/accounts/login/  {OPERATOR_EMAIL}")
    out(f"  Northwind Health   {site_url(host)}/accounts/login/")
    for person in [OWNER, *PEOPLE]:
        out(f"    {', '.join(Role(r).label for r in person.roles):<22} {person.email}")
    out(f"  API docs           {site_url(host)}/api/v1/docs/\n")


def _load_chain() -> None:
    owner = User.objects.get(email=OWNER.email)
    if not owner.has_usable_password():
        owner.set_password(DEMO_PASSWORD)
        owner.save()
    staff = StaffMember.objects.get(user=owner)
    if set(staff.roles) != set(OWNER.roles):
        org.staff_update(actor=owner, staff=staff, roles=list(OWNER.roles), job_title=OWNER.title)
    branches = {}
    for name, address, tz, phone in BRANCHES:
        branch = Branch.objects.filter(name=name).first() or org.branch_create(
            actor=owner, name=name, timezone_name=tz, address=address, phone=phone
        )
        branches[name] = branch
    for person in PEOPLE:
        if User.objects.filter(email=person.email).exists():
            continue
        _, link = org.staff_invite(
            actor=owner,
            email=person.email,
            roles=list(person.roles),
            branch_ids=[branches[b].pk for b in person.branches],
        )
        user = org.invitation_accept(
            token=link.rstrip("/").rsplit("/", 1)[-1],
            first_name=person.first,
            last_name=person.last,
            password=DEMO_PASSWORD,
        )
        org.staff_update(actor=owner, staff=user.staff, job_title=person.title)
    if not Invitation.objects.filter(email="new.doctor@northwind.localhost").exists():
        org.staff_invite(
            actor=owner, email="new.doctor@northwind.localhost", roles=[Role.DOCTOR], branch_ids=[branches["Camden"].pk]
        )
