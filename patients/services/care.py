"""Who may read the record: care relations from the calendar, care-team assignments and emergency access."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from config.errors import PermissionDenied
from patients.exceptions import InvalidPatient
from patients.models import BreakGlass, CareRelation, Patient
from patients.services._audit import _log, _saved
from tenants.audit.history import changed_by
from tenants.audit.services import access_log_record
from tenants.authz import Actor, authorize, user_of
from tenants.org.models import Role, StaffMember
from tenants.org.rules import staff_of
from tenants.org.selectors import branch_ids_managed

BREAK_GLASS_HOURS = 4


def care_relation_grant(
    *, reason: str, patient_id: int, doctor_id: int, appointment_id: int, at: datetime, granted_by_id: int | None
) -> CareRelation:
    """Real care the calendar saw (a downward call, see patients.rules), one row per appointment and
    reason, rewritten when the appointment moves:

    * ``booked``: someone other than the doctor booked the patient with her; `at` is the
      appointment's end, and she may prepare until CARE_BOOKING_GRACE after it;
    * ``visit``: the visit happened (checked in, started) at `at`; CARE_PERIOD after it.

    The calendar calls this with the appointment row locked, so two writers of one grant never race."""
    if reason not in (CareRelation.Reason.BOOKED, CareRelation.Reason.VISIT):
        raise ValueError(f"the calendar grants only bookings and visits, not {reason!r}")
    lasts = settings.CARE_BOOKING_GRACE if reason == CareRelation.Reason.BOOKED else settings.CARE_PERIOD
    relation = CareRelation.objects.filter(appointment_id=appointment_id, reason=reason).first() or CareRelation(
        appointment_id=appointment_id, reason=reason
    )
    relation.patient_id, relation.doctor_id = patient_id, doctor_id
    relation.expires_at, relation.granted_by_id = at + lasts, granted_by_id
    changed_by(relation, None)  # the appointment's history names who
    relation.save()
    return relation


def care_relation_withdraw(*, appointment_id: int, unseen_visit: bool = False) -> None:
    """The booking of this appointment grants nothing any more: it was cancelled or missed before
    the visit, or moved to the doctor who made it. Access earned by a visit stays, unless the visit
    never happened (`unseen_visit`: checked in, then cancelled before the doctor started it)."""
    reasons = [CareRelation.Reason.BOOKED] + ([CareRelation.Reason.VISIT] if unseen_visit else [])
    for relation in CareRelation.objects.filter(appointment_id=appointment_id, reason__in=reasons):
        changed_by(relation, None)
        relation.delete()


def _care_doctor(actor: Actor, doctor: StaffMember) -> None:
    """Who may be put in a care team, by whom: an active doctor, never the one asking (that would be
    self-granted access), and for a branch manager only a doctor of a branch they manage."""
    if not doctor.is_active or Role.DOCTOR not in doctor.roles:
        raise InvalidPatient(fields={"doctor": ["Choose an active doctor of the chain."]})
    if doctor.user_id == getattr(actor, "pk", None):
        refusal = "Another owner or manager must add you; in an emergency, open the record with a reason."
        raise InvalidPatient(fields={"doctor": [refusal]})
    managed = branch_ids_managed(actor=actor)
    if managed is not None and not doctor.branches.filter(pk__in=managed).exists():
        raise PermissionDenied("Branch managers add only doctors of their own branches.")


@transaction.atomic
def care_team_assign(
    *, actor: Actor, patient: Patient, doctor: StaffMember, request: HttpRequest | None = None
) -> CareRelation:
    """An owner or branch manager puts a doctor in the patient's care team, until removed. Nobody
    adds themselves. Idempotent: assigning twice keeps the first assignment."""
    authorize(actor, "patients.assign_care", patient)
    doctor = StaffMember.objects.get(pk=doctor.pk)  # the roles as they are now, not as the caller read them
    _care_doctor(actor, doctor)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one assignment at a time per patient
    relation = CareRelation.objects.filter(patient=patient, doctor=doctor, reason=CareRelation.Reason.ASSIGNED).first()
    if relation is None:
        relation = CareRelation(
            patient=patient, doctor=doctor, reason=CareRelation.Reason.ASSIGNED, granted_by=user_of(actor)
        )
        _saved(relation, actor, "create", "care_relation", patient.pk, request, reason=f"assigned {doctor}")
    return relation


@transaction.atomic
def care_team_unassign(
    *, actor: Actor, patient: Patient, doctor: StaffMember, request: HttpRequest | None = None
) -> int:
    """Take a doctor out of the patient's care team now: the assignment goes, and access from her
    bookings and visits of this patient ends (the rows stay, ended, for the trail). A later booking
    or visit grants again. Returns how many grants ended."""
    authorize(actor, "patients.assign_care", patient)
    now = timezone.now()
    ended = 0
    current = CareRelation.objects.select_for_update().filter(patient=patient, doctor=doctor)
    for relation in current.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)):
        changed_by(relation, actor)
        if relation.reason == CareRelation.Reason.ASSIGNED:
            relation.delete()
        else:
            relation.expires_at = now
            relation.save(update_fields=["expires_at"])
        ended += 1
    if ended:
        access_log_record(
            actor=actor,
            action="delete",
            object_type="care_relation",
            object_ids=[doctor.pk],
            patient_ids=[patient.pk],
            request=request,
            reason=f"removed {doctor} from the care team",
        )
    return ended


@transaction.atomic
def break_glass_open(*, actor: Actor, patient: Patient, reason: str, request: HttpRequest | None = None) -> BreakGlass:
    """Emergency access: a doctor outside the care team reads the record for a few hours. The
    reason is required and the opening is in the access log as 'break_glass'."""
    authorize(actor, "patients.break_glass", patient)
    if len(reason.strip()) < 10:
        raise InvalidPatient(fields={"reason": ["Say why, in at least 10 characters."]})
    doctor = staff_of(actor)
    if doctor is None:  # authorize() let a clinician through; a clinician is staff
        raise InvalidPatient(fields={"doctor": ["Only staff open emergency access."]})
    grant = BreakGlass.objects.create(
        patient=patient,
        doctor=doctor,
        reason=reason.strip()[:300],
        expires_at=timezone.now() + timedelta(hours=BREAK_GLASS_HOURS),
    )
    _log(actor, "break_glass", "patient", patient, patient.pk, request, reason=reason.strip())
    return grant
