"""Our records as FHIR R4 resources. Every resource is validated by the fhir.resources models
(the R4B package, whose Patient, Practitioner, Location, HealthcareService, Schedule, Slot and
Appointment are R4's) before it is served."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.healthcareservice import HealthcareService as FService
from fhir.resources.R4B.location import Location as FLocation
from fhir.resources.R4B.patient import Patient as FPatient
from fhir.resources.R4B.practitioner import Practitioner as FPractitioner
from fhir.resources.R4B.schedule import Schedule as FSchedule
from fhir.resources.R4B.slot import Slot as FSlot

from patients.models import Patient, Sex
from scheduling.models import CalendarEntry, Service, Status
from tenants.org.models import Branch, StaffMember

MRN_SYSTEM = "urn:clinicflow:mrn"
APPOINTMENT_STATUS = {
    Status.HELD: "pending",
    Status.BOOKED: "booked",
    Status.CONFIRMED: "booked",
    Status.CHECKED_IN: "checked-in",
    Status.IN_PROGRESS: "arrived",
    Status.COMPLETED: "fulfilled",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "noshow",
    Status.EXPIRED: "cancelled",
}
FHIR_TO_STATUS: dict[str, list[str]] = {}
for ours, theirs in APPOINTMENT_STATUS.items():
    FHIR_TO_STATUS.setdefault(theirs, []).append(ours)


def _valid(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(data).model_dump(mode="json", exclude_none=True)


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def patient(p: Patient) -> dict[str, Any]:
    telecom = [{"system": "phone", "value": p.phone, "use": "mobile"}] if p.phone else []
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(p.pk),
        "identifier": [{"system": MRN_SYSTEM, "value": p.mrn}],
        "active": p.merged_into_id is None,
        "name": [{"use": "official", "family": p.last_name, "given": [p.first_name]}],
        "telecom": telecom or None,
        "gender": p.sex if p.sex in Sex.values else "unknown",
        "birthDate": p.date_of_birth.isoformat() if p.date_of_birth else None,
    }
    if p.address_line or p.city or p.postcode:
        data["address"] = [
            {
                "line": [p.address_line] if p.address_line else None,
                "city": p.city or None,
                "postalCode": p.postcode or None,
                "country": p.country or None,
            }
        ]
    if p.merged_into_id:
        data["link"] = [{"other": {"reference": f"Patient/{p.merged_into_id}"}, "type": "replaced-by"}]
    return _valid(FPatient, data)


def practitioner(s: StaffMember) -> dict[str, Any]:
    user = s.user
    return _valid(
        FPractitioner,
        {
            "resourceType": "Practitioner",
            "id": str(s.pk),
            "active": s.is_active,
            "name": [{"family": user.last_name or user.email, "given": [user.first_name] if user.first_name else None}],
            "telecom": [{"system": "email", "value": user.email}],
        },
    )


def location(b: Branch) -> dict[str, Any]:
    lines = [line for line in b.address.splitlines() if line.strip()]
    return _valid(
        FLocation,
        {
            "resourceType": "Location",
            "id": str(b.pk),
            "status": "active" if b.is_active else "inactive",
            "name": b.name,
            "telecom": [{"system": "phone", "value": b.phone}] if b.phone else None,
            "address": {"line": lines} if lines else None,
            "extension": [{"url": "urn:clinicflow:timezone", "valueString": b.timezone}],
        },
    )


def healthcare_service(s: Service) -> dict[str, Any]:
    return _valid(
        FService,
        {
            "resourceType": "HealthcareService",
            "id": str(s.pk),
            "active": s.is_active,
            "name": s.name,
            "comment": s.description or None,
            "appointmentRequired": True,
            "extension": [{"url": "urn:clinicflow:duration-minutes", "valueInteger": s.duration_minutes}],
        },
    )


def schedule_id(doctor_id: int, branch_id: int) -> str:
    return f"d{doctor_id}-b{branch_id}"


def schedule(doctor: StaffMember, branch: Branch) -> dict[str, Any]:
    return _valid(
        FSchedule,
        {
            "resourceType": "Schedule",
            "id": schedule_id(doctor.pk, branch.pk),
            "active": doctor.is_active and branch.is_active,
            "actor": [{"reference": f"Practitioner/{doctor.pk}"}, {"reference": f"Location/{branch.pk}"}],
        },
    )


SLOT_ID = re.compile(r"d([0-9]{1,18})-b([0-9]{1,18})-s([0-9]{1,18})-([0-9]{8}T[0-9]{4})Z", re.ASCII)


def slot_id(doctor_id: int, branch_id: int, service_id: int, start: datetime) -> str:
    """Stable and decodable: the schedule, the service and the start (UTC, to the minute)."""
    return f"{schedule_id(doctor_id, branch_id)}-s{service_id}-{start.astimezone(UTC):%Y%m%dT%H%M}Z"


def slot_id_read(text: str) -> tuple[int, int, int, datetime] | None:
    """(doctor id, branch id, service id, start) of a slot id; None if it cannot be one of ours."""
    match = SLOT_ID.fullmatch(text)
    if not match:
        return None
    try:
        start = datetime.strptime(match.group(4), "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:  # well-formed but impossible: month 13, minute 99
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), start


def slot(doctor_id: int, branch_id: int, service_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    return _valid(
        FSlot,
        {
            "resourceType": "Slot",
            "id": slot_id(doctor_id, branch_id, service_id, start),
            "schedule": {"reference": f"Schedule/{schedule_id(doctor_id, branch_id)}"},
            "serviceType": [{"coding": [{"system": "urn:clinicflow:service", "code": str(service_id)}]}],
            "status": "free",
            "start": _instant(start),
            "end": _instant(end),
        },
    )


def appointment(a: CalendarEntry) -> dict[str, Any]:
    participants = [{"actor": {"reference": f"Practitioner/{a.doctor_id}"}, "status": "accepted"}]
    if a.patient_id:
        participants.append({"actor": {"reference": f"Patient/{a.patient_id}"}, "status": "accepted"})
    if a.branch_id:
        participants.append({"actor": {"reference": f"Location/{a.branch_id}"}, "status": "accepted"})
    return _valid(
        FAppointment,
        {
            "resourceType": "Appointment",
            "id": str(a.pk),
            "status": APPOINTMENT_STATUS[Status(a.status)],
            "serviceType": [{"coding": [{"system": "urn:clinicflow:service", "code": str(a.service_id)}]}]
            if a.service_id
            else None,
            "start": _instant(a.span.lower),
            "end": _instant(a.span.upper),
            "minutesDuration": int((a.span.upper - a.span.lower).total_seconds() // 60),
            "created": _instant(a.created_at),
            "cancelationReason": {"text": a.cancellation_reason} if a.cancellation_reason else None,
            "participant": participants,
        },
    )


def bundle(resources: list[dict[str, Any]], base: str, *, total: int, links: list[dict[str, str]]) -> dict[str, Any]:
    """A searchset: this page's resources, the full count and the paging links."""
    return _valid(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                for r in resources
            ]
            or None,
        },
    )
