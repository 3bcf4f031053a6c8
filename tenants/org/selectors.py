from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tenants.org.models import Branch, ChainSettings, Invitation, Role, StaffMember
from tenants.org.rules import is_owner, managed_branch_ids


def chain_settings_get() -> ChainSettings:
    return ChainSettings.objects.get(pk=1)


def branch_list(*, actor: Any) -> QuerySet[Branch]:
    return Branch.objects.all()


def staff_list(*, actor: Any) -> QuerySet[StaffMember]:
    """Owners see everyone; branch managers see the staff of the branches they manage."""
    qs = StaffMember.objects.select_related("user").prefetch_related("branches")
    if is_owner(actor):
        return qs
    return qs.filter(branches__in=managed_branch_ids(actor)).distinct()


def invitation_list(*, actor: Any) -> QuerySet[Invitation]:
    qs = Invitation.objects.prefetch_related("branches").select_related("invited_by")
    if is_owner(actor):
        return qs
    return qs.filter(branches__in=managed_branch_ids(actor)).distinct()


def staff_with_role(role: Role) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(is_active=True, roles__contains=[role])
