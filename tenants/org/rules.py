"""Who may do what inside a clinic chain. Predicates are evaluated per request; the staff row is
cached on the user object so one request does not query it twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import rules

from tenants.org.models import BRANCH_ROLES, Branch, Role, StaffMember


@dataclass(frozen=True)
class Assignment:
    """Roles and branches someone is about to be given (by an invitation or a staff change)."""

    roles: frozenset[str]
    branch_ids: frozenset[int] = field(default_factory=frozenset)
    target: StaffMember | None = None

    @classmethod
    def of(cls, roles: Iterable[str], branch_ids: Iterable[int], target: StaffMember | None = None) -> Assignment:
        return cls(frozenset(roles), frozenset(branch_ids), target)


def staff_of(user: Any) -> StaffMember | None:
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_staff_cache"):
        staff = StaffMember.objects.filter(user=user, is_active=True).first()
        user._staff_cache = staff
        user._managed_branch_ids = (
            frozenset(staff.branches.values_list("id", flat=True))
            if staff and Role.BRANCH_MANAGER in staff.roles
            else frozenset()
        )
    cached: StaffMember | None = user._staff_cache
    return cached


def managed_branch_ids(user: Any) -> frozenset[int]:
    staff_of(user)
    return getattr(user, "_managed_branch_ids", frozenset())


@rules.predicate
def is_staff_member(user: Any) -> bool:
    return staff_of(user) is not None


@rules.predicate
def is_owner(user: Any) -> bool:
    staff = staff_of(user)
    return staff is not None and Role.OWNER in staff.roles


@rules.predicate
def is_branch_manager(user: Any) -> bool:
    staff = staff_of(user)
    return staff is not None and Role.BRANCH_MANAGER in staff.roles


@rules.predicate
def manages_branch(user: Any, branch: Branch | None) -> bool:
    return branch is not None and branch.pk in managed_branch_ids(user)


@rules.predicate
def may_assign(user: Any, assignment: Assignment | None) -> bool:
    """A branch manager hands out only doctor/receptionist/billing roles, only in their branches,
    and never changes an owner or another manager."""
    if assignment is None:
        return False
    managed = managed_branch_ids(user)
    target = assignment.target
    if target is not None:
        if set(target.roles) - BRANCH_ROLES:
            return False
        current = set(target.branches.values_list("id", flat=True))
        if current and not current & managed:
            return False
    return (
        bool(assignment.roles)
        and assignment.roles <= BRANCH_ROLES
        and bool(assignment.branch_ids)
        and assignment.branch_ids <= managed
    )


rules.add_perm("org.view_settings", is_staff_member)
rules.add_perm("org.change_settings", is_owner)
rules.add_perm("org.view_branch", is_staff_member)
rules.add_perm("org.add_branch", is_owner)
rules.add_perm("org.change_branch", is_owner | (is_branch_manager & manages_branch))
rules.add_perm("org.view_staff", is_owner | is_branch_manager)
rules.add_perm("org.assign_staff", is_owner | (is_branch_manager & may_assign))
# Connecting the chain's Stripe account (invoicing.connect): its owners only.
rules.add_perm("org.manage_payments", is_owner)
