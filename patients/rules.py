"""Who may see and change what of a patient's record.

Demographics and appointments: front desk, clinicians, managers, owners, billing. Clinical records
(notes, diagnoses, prescriptions, attachments): only a doctor in the patient's care team, or one
who opened emergency access (break-glass). Owners read clinical records only when they are
clinicians themselves. A patient sees their own record.

The care team is the set of unexpired ``CareRelation`` rows, and each row comes from real care:

* a visit: the appointment was checked in or started (not by the doctor alone on a booking she made
  with herself). Access lasts ``settings.CARE_PERIOD`` (24 months by default) after the last visit;
* a booking made by someone other than the doctor herself (reception, another doctor, the patient
  online or in the portal): access until ``settings.CARE_BOOKING_GRACE`` after the appointment ends.
  Cancelled or missed before the visit, it is withdrawn; a doctor booking a patient with herself
  gains nothing;
* an explicit assignment by an owner or a branch manager, until they remove it (removing a doctor
  also ends their booking and visit access to that patient).

Everything else is break-glass: a reason, a few hours, the access log, and the owners' list of
emergency openings."""

from __future__ import annotations

from typing import Any

import rules
from django.db.models import Q
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
    return (
        CareRelation.objects.filter(patient=patient, doctor=staff)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .exists()
    )


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
# The change history of a patient's details and of their appointments (who changed what, when).
rules.add_perm("patients.view_history", is_owner)
rules.add_perm("patients.assign_care", is_owner | is_manager)
