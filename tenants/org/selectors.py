from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tenants.org.models import CHAIN_WIDE_ROLES, Branch, ChainSettings, Invitation, Role, StaffMember
from tenants.org.rules import is_owner, managed_branch_ids, staff_of


def chain_settings_get() -> ChainSettings:
    return ChainSettings.objects.get(pk=1)


def branch_ids_visible(*, actor: Any) -> frozenset[int] | None:
    """The one answer to "which branches may this user see": None means every branch (a chain-wide
    role), otherwise the branches the staff member is assigned to. Staff without a branch see none,
    and so do patients and anonymous visitors. Pages, the API, FHIR and the calendars all ask here.

    Cached on the user object for the request, like the staff row itself."""
    staff = staff_of(actor)
    if staff is None:
        return frozenset()
    if not hasattr(actor, "_visible_branch_ids"):
        actor._visible_branch_ids = (
            None if set(staff.roles) & CHAIN_WIDE_ROLES else frozenset(staff.branches.values_list("id", flat=True))
        )
    visible: frozenset[int] | None = actor._visible_branch_ids
    return visible


def branch_visible(*, actor: Any, branch_id: int | None) -> bool:
    visible = branch_ids_visible(actor=actor)
    return branch_id is not None and (visible is None or branch_id in visible)


def branch_list(*, actor: Any) -> QuerySet[Branch]:
    """The branches this user may see (see branch_ids_visible)."""
    visible = branch_ids_visible(actor=actor)
    qs = Branch.objects.all()
    return qs if visible is None else qs.filter(pk__in=visible)


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
