"""Who may see and change what of a patient's record.

Demographics and appointments: front desk, clinicians, managers, owners, billing. Clinical records
(notes, diagnoses, prescriptions, attachments): only a doctor in the patient's care team, or one
who opened emergency access (break-glass). Owners read clinical records only when they are
clinicians themselves. A patient sees their own record."""

from __future__ import annotations

from typing import Any

import rules
from django.utils import timezone

from patients.models import BreakGlass, CareRelation, Patient
from tenants.org.models import Role
from tenants.org.rules import is_owner, staff_of


def _roles(user: Any) -> set[str]:
    staff = staff_of(user)
    return set(staff.roles) if staff else set()


@rules.predicate
def is_chain_staff(user: Any) -> bool:
    return bool(_roles(user) & {Role.BRANCH_MANAGER, Role.RECEPTIONIST, Role.DOCTOR, Role.BILLING})


@rules.predicate
def is_front_desk_or_clinician(user: Any) -> bool:
    return bool(_roles(user) & {Role.BRANCH_MANAGER, Role.RECEPTIONIST, Role.DOCTOR})


@rules.predicate
def is_manager(user: Any) -> bool:
    return Role.BRANCH_MANAGER in _roles(user)


@rules.predicate
def is_clinician(user: Any) -> bool:
    return Role.DOCTOR in _roles(user)


@rules.predicate
def is_the_patient(user: Any, patient: Patient | None) -> bool:
    return patient is not None and getattr(user, "is_authenticated", False) and patient.user_id == user.pk


@rules.predicate
def in_care_team(user: Any, patient: Patient | None) -> bool:
    staff = staff_of(user)
    if patient is None or staff is None:
        return False
    return CareRelation.objects.filter(patient=patient, doctor=staff).exists()


@rules.predicate
def has_break_glass(user: Any, patient: Patient | None) -> bool:
    staff = staff_of(user)
    if patient is None or staff is None:
        return False
    return BreakGlass.objects.filter(patient=patient, doctor=staff, expires_at__gt=timezone.now()).exists()


rules.add_perm("patients.view_patient", is_owner | is_chain_staff | is_the_patient)
rules.add_perm("patients.add_patient", is_owner | is_front_desk_or_clinician)
rules.add_perm("patients.change_patient", is_owner | is_front_desk_or_clinician | is_the_patient)
rules.add_perm("patients.merge_patient", is_owner | is_manager)
rules.add_perm("patients.view_clinical", is_clinician & (in_care_team | has_break_glass))
rules.add_perm("patients.write_clinical", is_clinician & (in_care_team | has_break_glass))
rules.add_perm("patients.break_glass", is_clinician)
rules.add_perm("patients.view_audit", is_owner)
