"""Who may use and shape the calendar."""

from __future__ import annotations

from typing import Any

import rules

from patients.models import Patient
from scheduling.models import CalendarEntry
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.rules import is_branch_manager, is_owner, manages_branch, staff_of
from tenants.org.selectors import branch_ids_managed, branch_visible


def _has(role: str) -> Any:
    @rules.predicate(name=f"has_role_{role}")
    def predicate(user: Any) -> bool:
        staff = staff_of(user)
        return staff is not None and role in staff.roles

    return predicate


is_doctor = _has(Role.DOCTOR)
is_receptionist = _has(Role.RECEPTIONIST)
is_billing = _has(Role.BILLING)


@rules.predicate
def works_at(user: Any, branch: Branch | None) -> bool:
    """The branch is one this user may see (tenants.org.selectors.branch_ids_visible)."""
    return branch is not None and branch_visible(actor=user, branch_id=branch.pk)


@rules.predicate
def manages_doctor(user: Any, doctor: StaffMember | None) -> bool:
    """The doctor works at a branch this user administers (tenants.org.selectors.branch_ids_managed)."""
    if doctor is None:
        return False
    managed = branch_ids_managed(actor=user)
    return managed is None or doctor.branches.filter(pk__in=managed).exists()


@rules.predicate
def is_that_doctor(user: Any, doctor: StaffMember | None) -> bool:
    staff = staff_of(user)
    return doctor is not None and staff is not None and staff.pk == doctor.pk


@rules.predicate
def is_entry_doctor(user: Any, entry: CalendarEntry | None) -> bool:
    staff = staff_of(user)
    return entry is not None and staff is not None and entry.doctor_id == staff.pk


@rules.predicate
def works_at_entry_branch(user: Any, entry: CalendarEntry | None) -> bool:
    return entry is not None and works_at(user, entry.branch)


@rules.predicate
def manages_entry_branch(user: Any, entry: CalendarEntry | None) -> bool:
    managed = branch_ids_managed(actor=user)
    return entry is not None and (managed is None or entry.branch_id in managed)


@rules.predicate
def is_entry_patient(user: Any, entry: CalendarEntry | None) -> bool:
    """The patient of the appointment, signed in to the portal."""
    return (
        entry is not None
        and entry.patient_id is not None
        and getattr(user, "is_authenticated", False)
        and Patient.objects.filter(pk=entry.patient_id, user_id=user.pk).exists()
    )


front_desk = is_receptionist | is_branch_manager | is_doctor

rules.add_perm("scheduling.view_calendar", is_owner | works_at)
rules.add_perm("scheduling.book", is_owner | (front_desk & works_at))
rules.add_perm("scheduling.override", is_owner | (is_branch_manager & manages_branch))
rules.add_perm(
    "scheduling.change_appointment",
    is_owner | is_entry_doctor | (front_desk & works_at_entry_branch) | is_entry_patient,
)
rules.add_perm("scheduling.manage_catalogue", is_owner)
rules.add_perm("scheduling.manage_branch_calendar", is_owner | (is_branch_manager & manages_branch))
rules.add_perm("scheduling.manage_leave", is_owner | (is_branch_manager & manages_doctor) | is_that_doctor)
rules.add_perm("scheduling.manage_policy", is_owner)
