"""Test data built through the real services, so tests exercise the same paths as users do."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.models import Clinic
from tenants.org import services as org
from tenants.org.models import Branch, Role, StaffMember
from tenants.services import clinic_create

PASSWORD = "Correct-Horse-42"
_seq = itertools.count(1)


def user_with_roles(*, email: str, roles: list[str], branches: list[Branch] = (), password: str = PASSWORD) -> User:  # type: ignore[assignment]
    """An accepted invitation, issued by the chain's first owner."""
    owner = StaffMember.objects.filter(roles__contains=[Role.OWNER]).order_by("pk").first()
    assert owner is not None
    _, link = org.staff_invite(actor=owner.user, email=email, roles=roles, branch_ids=[b.pk for b in branches])
    token = link.rstrip("/").rsplit("/", 1)[-1]
    return org.invitation_accept(
        token=token, first_name=email.split("@")[0].title(), last_name="Test", password=password
    )


@dataclass
class Chain:
    """A provisioned clinic chain with a user of every staff role."""

    clinic: Clinic
    host: str
    users: dict[str, User] = field(default_factory=dict)
    branches: list[Branch] = field(default_factory=list)

    @property
    def schema(self) -> str:
        return self.clinic.schema_name

    def email(self, role: str) -> str:
        return self.users[role].email


def chain_create(slug: str, *, timezone_name: str = "Europe/London", branches: int = 2) -> Chain:
    clinic, _ = clinic_create(
        name=f"{slug.title()} Clinics",
        slug=slug,
        owner_email=f"owner@{slug}.example",
        timezone=timezone_name,
        currency="GBP",
    )
    chain = Chain(clinic=clinic, host=f"{slug}.localhost")
    with schema_context(clinic.schema_name):
        owner = User.objects.get(email=f"owner@{slug}.example")
        owner.set_password(PASSWORD)
        owner.first_name, owner.last_name = "Olivia", "Owner"
        owner.save()
        chain.users["owner"] = owner
        for i in range(branches):
            chain.branches.append(
                org.branch_create(actor=owner, name=f"{slug.title()} Branch {i + 1}", timezone_name=timezone_name)
            )
        first = chain.branches[:1]
        for role in (Role.BRANCH_MANAGER, Role.DOCTOR, Role.RECEPTIONIST, Role.BILLING):
            chain.users[role.value] = user_with_roles(
                email=f"{role.value}@{slug}.example", roles=[role], branches=first
            )
    return chain


def unique_email(prefix: str = "person") -> str:
    return f"{prefix}{next(_seq)}@example.com"


def api_kwargs(chain: Chain, **extra: Any) -> dict[str, Any]:
    return {"HTTP_HOST": chain.host, **extra}
