"""FHIR R4 REST API at /fhir/R4/: read and search, and Appointment create through the booking
door. Answers and errors are application/fhir+json; errors are OperationOutcomes."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from pydantic import ValidationError as PydanticValidationError
from rest_framework import exceptions as drf
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.parsers import JSONParser
from patients.models import Patient
from patients.selectors import patient_search
from scheduling import selectors
from scheduling import services as sched
from scheduling.fhir import resources as fhir
from scheduling.models import Appointment, DoctorService, Service, Source
from tenants.audit.services import access_log_disclosure, access_log_record
from tenants.authz import authorize
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.selectors import branch_ids_visible, branch_list

PAGE = 100
ISSUE_TYPES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 409: "conflict"}
DATE_PARAM = re.compile(r"^(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?)$")


class FhirRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirParser(JSONParser):
    media_type = "application/fhir+json"


class FhirView(APIView):
    renderer_classes = [FhirRenderer, JSONRenderer]
    parser_classes = [FhirParser, JSONParser]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApplicationError):
            status, code, message = exc.status, exc.code, exc.message
            access_log_disclosure(actor=self.request.user, exc=exc, request=self.request._request)
            if exc.fields:
                message += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
        elif isinstance(exc, Http404):
            status, code, message = 404, "not_found", "No such resource."
        elif isinstance(exc, drf.APIException):
            status = exc.status_code
            code = getattr(exc, "default_code", "error")
            message = str(exc.detail) if not isinstance(exc.detail, dict | list) else "The request is not valid."
        else:
            raise exc
        response = Response(
            fhir.outcome(code, message, issue_type=ISSUE_TYPES.get(status, "processing")), status=status
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Token realm="fhir"'
        return response

    def base(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/R4").rstrip("/")


def _log(request: Request, object_type: str, ids: list[int], patient_ids: list[int | None], action: str) -> None:
    if ids:
        access_log_record(
            actor=request.user,
            action=action,
            object_type=object_type,
            object_ids=ids,
            patient_ids=patient_ids,
            request=request._request,
        )


def _date_range(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """FHIR date search prefixes (ge, gt, le, lt, eq) -> [lower, upper) in UTC."""
    lower = upper = None
    for raw in values:
        match = DATE_PARAM.match(raw)
        if not match:
            raise drf.ValidationError(f"Cannot read the date {raw!r}.")
        prefix, text = match.group(1) or "eq", match.group(2)
        try:
            if "T" in text:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if timezone.is_naive(moment):
                    moment = moment.replace(tzinfo=ZoneInfo("UTC"))
                start, end = moment, moment + timedelta(seconds=1)
            else:
                day = date.fromisoformat(text)
                start = datetime.combine(day, time(0), tzinfo=ZoneInfo("UTC"))
                end = start + timedelta(days=1)
        except (ValueError, OverflowError) as exc:  # well-formed but impossible: month 99, year 9999 + 1 day
            raise drf.ValidationError(f"Cannot read the date {raw!r}.") from exc
        if prefix in ("ge", "eq"):
            lower = start if lower is None else max(lower, start)
        if prefix == "gt":
            lower = end if lower is None else max(lower, end)
        if prefix in ("lt",):
            upper = start if upper is None else min(upper, start)
        if prefix in ("le", "eq"):
            upper = end if upper is None else min(upper, end)
    return lower, upper


def _ref_id(value: str, kind: str) -> int:
    match = re.fullmatch(rf"(?:{kind}/)?(\d+)", value or "")
    if not match:
        raise drf.ValidationError(f"Expected a reference like {kind}/123, got {value!r}.")
    return int(match.group(1))


class MetadataView(FhirView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        searches = {
            "Patient": ["identifier", "name", "birthdate", "phone"],
            "Practitioner": ["name"],
            "Location": ["name"],
            "HealthcareService": ["name"],
            "Schedule": ["actor"],
            "Slot": ["schedule", "start", "service-type"],
            "Appointment": ["patient", "practitioner", "location", "date", "status"],
        }
        resources = [
            {
                "type": name,
                "interaction": [{"code": "read"}, {"code": "search-type"}]
                + ([{"code": "create"}] if name == "Appointment" else []),
                "searchParam": [{"name": p, "type": "string" if p == "name" else "token"} for p in params],
            }
            for name, params in searches.items()
        ]
        statement = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": timezone.now().date().isoformat(),
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "implementation": {"description": "Clinicflow", "url": self.base(request)},
            "rest": [
                {
                    "mode": "server",
                    "resource": resources,
                    "security": {"description": "Token authentication: Authorization: Token <key>"},
                }
            ],
        }
        from fhir.resources.R4B.capabilitystatement import CapabilityStatement

        return Response(CapabilityStatement.model_validate(statement).model_dump(mode="json", exclude_none=True))


class PatientView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        if pk is not None:
            p = get_object_or_404(Patient, pk=pk)
            authorize(request.user, "patients.view_patient", p)
            _log(request, "patient", [p.pk], [p.pk], "view")
            return Response(fhir.patient(p))
        authorize(request.user, "patients.add_patient")
        params = request.query_params
        qs: QuerySet[Patient] = Patient.objects.filter(merged_into__isnull=True)
        if "identifier" in params:
            qs = qs.filter(mrn=params["identifier"].split("|")[-1].upper())
        if "name" in params:
            qs = qs.filter(pk__in=patient_search(q=params["name"]).values("pk"))
        if "phone" in params:
            qs = qs.filter(pk__in=patient_search(q=params["phone"]).values("pk"))
        if "birthdate" in params:
            lower, upper = _date_range(params.getlist("birthdate"))
            if lower:
                qs = qs.filter(date_of_birth__gte=lower.date())
            if upper:
                qs = qs.filter(date_of_birth__lt=upper.date())
        if not set(params) & {"identifier", "name", "phone", "birthdate"}:
            raise drf.ValidationError("Search patients by identifier, name, phone or birthdate.")
        rows = list(qs.order_by("last_name", "first_name", "id")[:PAGE])
        _log(request, "patient", [p.pk for p in rows], [p.pk for p in rows], "search")
        return Response(fhir.bundle([fhir.patient(p) for p in rows], self.base(request)))


def _doctors() -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(roles__contains=[Role.DOCTOR]).select_related("user")


class PractitionerView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            return Response(fhir.practitioner(get_object_or_404(_doctors(), pk=pk)))
        qs = _doctors()
        if name := request.query_params.get("name"):
            qs = qs.filter(Q(user__first_name__icontains=name) | Q(user__last_name__icontains=name))
        return Response(fhir.bundle([fhir.practitioner(d) for d in qs[:PAGE]], self.base(request)))


class LocationView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        qs = branch_list(actor=request.user)
        if pk is not None:
            return Response(fhir.location(get_object_or_404(qs, pk=pk)))
        if name := request.query_params.get("name"):
            qs = qs.filter(name__icontains=name)
        return Response(fhir.bundle([fhir.location(b) for b in qs[:PAGE]], self.base(request)))


class HealthcareServiceView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            return Response(fhir.healthcare_service(get_object_or_404(Service, pk=pk)))
        qs = Service.objects.all()
        if name := request.query_params.get("name"):
            qs = qs.filter(name__icontains=name)
        return Response(fhir.bundle([fhir.healthcare_service(s) for s in qs[:PAGE]], self.base(request)))


def _schedule(value: str) -> tuple[StaffMember, Branch]:
    match = re.fullmatch(r"(?:Schedule/)?d(\d+)-b(\d+)", value or "")
    if not match:
        raise Http404
    doctor = get_object_or_404(_doctors(), pk=int(match.group(1)))
    branch = get_object_or_404(Branch, pk=int(match.group(2)))
    return doctor, branch


class ScheduleView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: str | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            doctor, branch = _schedule(pk)
            authorize(request.user, "scheduling.view_calendar", branch)
            return Response(fhir.schedule(doctor, branch))
        pairs = DoctorService.objects.values_list("doctor_id", "branch_id").distinct()
        if (visible := branch_ids_visible(actor=request.user)) is not None:
            pairs = pairs.filter(branch_id__in=visible)
        if actor := request.query_params.get("actor"):
            if actor.startswith("Location/"):
                pairs = pairs.filter(branch_id=_ref_id(actor, "Location"))
            else:
                pairs = pairs.filter(doctor_id=_ref_id(actor, "Practitioner"))
        doctors = {d.pk: d for d in _doctors()}
        branches = {b.pk: b for b in Branch.objects.all()}
        found = [fhir.schedule(doctors[d], branches[b]) for d, b in pairs[:PAGE] if d in doctors]
        return Response(fhir.bundle(found, self.base(request)))


class SlotView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        params = request.query_params
        if "schedule" not in params or "service-type" not in params:
            raise drf.ValidationError("Search slots by schedule and service-type (and start).")
        doctor, branch = _schedule(params["schedule"])
        authorize(request.user, "scheduling.view_calendar", branch)
        service = get_object_or_404(Service, pk=_ref_id(params["service-type"].split("|")[-1], "HealthcareService"))
        lower, upper = _date_range(params.getlist("start") or [f"ge{timezone.now().date()}"])
        tz = ZoneInfo(branch.timezone)
        first = (lower or timezone.now()).astimezone(tz).date()
        last = ((upper or (lower or timezone.now()) + timedelta(days=7)) - timedelta(seconds=1)).astimezone(tz).date()
        if (last - first).days > 31:
            raise drf.ValidationError("Ask for at most 31 days of slots.")
        slots = selectors.slot_list_available(
            service=service,
            branch=branch,
            date_from=first,
            date_to=last,
            doctor_ids=[doctor.pk],
            step=service.duration_minutes,
        )
        found = [
            fhir.slot(doctor.pk, branch.pk, service.pk, s.start, s.end)
            for s in slots
            if (lower is None or s.start >= lower) and (upper is None or s.start < upper)
        ][:PAGE]
        return Response(fhir.bundle(found, self.base(request)))


class AppointmentView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            a = get_object_or_404(Appointment, pk=pk)
            authorize(request.user, "scheduling.view_calendar", a.branch)
            _log(request, "appointment", [a.pk], [a.patient_id], "view")
            return Response(fhir.appointment(a))
        params = request.query_params
        qs = Appointment.objects.all()
        if (visible := branch_ids_visible(actor=request.user)) is not None:
            qs = qs.filter(branch_id__in=visible)
        if "patient" in params:
            qs = qs.filter(patient_id=_ref_id(params["patient"], "Patient"))
        if "practitioner" in params:
            qs = qs.filter(doctor_id=_ref_id(params["practitioner"], "Practitioner"))
        if "location" in params:
            qs = qs.filter(branch_id=_ref_id(params["location"], "Location"))
        if "status" in params:
            wanted = [s for v in params["status"].split(",") for s in fhir.FHIR_TO_STATUS.get(v, [])]
            qs = qs.filter(status__in=wanted)
        if "date" in params:
            lower, upper = _date_range(params.getlist("date"))
            if lower:
                qs = qs.filter(span__startswith__gte=lower)
            if upper:
                qs = qs.filter(span__startswith__lt=upper)
        if not set(params) & {"patient", "practitioner", "location", "date"}:
            raise drf.ValidationError("Search appointments by patient, practitioner, location or date.")
        rows = list(qs.order_by("span")[:PAGE])
        _log(request, "appointment", [a.pk for a in rows], [a.patient_id for a in rows], "search")
        return Response(fhir.bundle([fhir.appointment(a) for a in rows], self.base(request)))

    @extend_schema(exclude=True)
    def post(self, request: Request, pk: int | None = None) -> Response:
        """Create an Appointment: the same door as every booking (rules, constraints, 409s)."""
        if pk is not None:  # FHIR creates on the type; an instance is never POSTed to
            raise drf.MethodNotAllowed("POST")
        from fhir.resources.R4B.appointment import Appointment as FAppointment

        try:
            incoming = FAppointment.model_validate(request.data)
        except PydanticValidationError as exc:  # the body is not a FHIR Appointment
            raise drf.ValidationError(f"Not a valid FHIR Appointment: {str(exc).splitlines()[0]}") from exc
        refs = {}
        for participant in incoming.participant or []:
            reference = participant.actor.reference if participant.actor else ""
            kind, _, ident = (reference or "").partition("/")
            if ident.isascii() and ident.isdigit():
                refs[kind] = int(ident)
        missing = [k for k in ("Patient", "Practitioner", "Location") if k not in refs]
        if missing or not incoming.start or not incoming.serviceType:
            raise drf.ValidationError("Give start, serviceType and Patient, Practitioner and Location participants.")
        code = incoming.serviceType[0].coding[0].code if incoming.serviceType[0].coding else None
        booked = sched.appointment_book(
            actor=request.user,
            patient=get_object_or_404(Patient, pk=refs["Patient"]),
            doctor=get_object_or_404(_doctors(), pk=refs["Practitioner"]),
            branch=get_object_or_404(Branch, pk=refs["Location"]),
            service=get_object_or_404(Service, pk=int(code) if code and code.isascii() and code.isdigit() else 0),
            start=incoming.start,
            source=Source.STAFF,
            idempotency_key=request.headers.get("Idempotency-Key") or None,
        )
        _log(request, "appointment", [booked.pk], [booked.patient_id], "view")
        response = Response(fhir.appointment(booked), status=201)
        response["Location"] = f"{self.base(request)}/Appointment/{booked.pk}"
        return response
