"""FHIR R4 REST API at /fhir/R4/: read and search, and Appointment create through the booking
door. Answers and errors are application/fhir+json; every error is an OperationOutcome with the real
message (scheduling.fhir.outcomes). Searches are declared once (scheduling.fhir.search.PARAMS), read
strictly and paged with a true total."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from pydantic import ValidationError as PydanticValidationError
from rest_framework import exceptions as drf
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.fields import EARLIEST, LATEST
from config.parsers import JSONParser
from patients.models import Patient
from patients.selectors import folded, patient_search
from scheduling import selectors
from scheduling import services as sched
from scheduling.fhir import outcomes
from scheduling.fhir import resources as fhir
from scheduling.fhir.exceptions import (
    FhirErrorCode,
    InvalidReference,
    InvalidResource,
    InvalidSearch,
    NotAcceptable,
    ResourceNotFound,
    Unprocessable,
)
from scheduling.fhir.search import (
    MAX_ID,
    PARAMS,
    SEARCH_DOC,
    Search,
    any_of,
    date_q,
    date_window,
    int_id,
    page_links,
    reference,
    search_read,
    token,
)
from scheduling.models import Appointment, DoctorService, Service, Source
from tenants.audit.services import access_log_disclosure, access_log_patients, access_log_records
from tenants.authz import authorize
from tenants.org.models import Branch, Role, StaffMember
from tenants.org.selectors import branch_ids_visible, branch_list, branch_visible

M = TypeVar("M", bound=Model)
JSON_FORMATS = ("json", "application/json", "application/fhir+json")
SERVICE_SYSTEM = "urn:clinicflow:service"
STATUS_SYSTEM = "http://hl7.org/fhir/appointmentstatus"
FHIR_STATUSES = (
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
)
SLOT_HORIZON = timedelta(days=5 * 366)  # no slot is offered further ahead; nor searched
SLOT_SPAN = timedelta(days=31)  # the most one slot search may cover
# Times at the ends of the calendar (years 1, 9999) would overflow the booking's arithmetic: a create
# is held to the days the calendar plans within (config.fields), as the API is.
BOOKABLE_YEARS = (EARLIEST.year, LATEST.year)


class FhirRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirParser(JSONParser):
    media_type = "application/fhir+json"


class FhirNegotiation(DefaultContentNegotiation):
    """FHIR's `_format` (json only) instead of DRF's `format`; a refusal names what is served."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        wanted = request.query_params.get("_format")
        if wanted is not None:
            if wanted.strip().lower() not in JSON_FORMATS:
                raise NotAcceptable(f"_format {wanted[:40]!r} is not served; this server answers in JSON only.")
            return renderers[0], str(renderers[0].media_type)
        try:
            return super().select_renderer(request, renderers)  # type: ignore[no-any-return]
        except drf.NotAcceptable as exc:
            accept = request.headers.get("Accept", "")[:80]
            raise NotAcceptable(f"Cannot answer in {accept!r}: this server answers in application/fhir+json.") from exc


class FhirView(APIView):
    renderer_classes = [FhirRenderer, JSONRenderer]
    parser_classes = [FhirParser, JSONParser]
    content_negotiation_class = FhirNegotiation

    def handle_exception(self, exc: Exception) -> Response:
        found = outcomes.described(exc)
        if found is None:
            raise exc
        status, code, message, fields = found
        if isinstance(exc, ApplicationError):
            access_log_disclosure(actor=self.request.user, exc=exc, request=self.request._request)
        response = Response(outcomes.outcome(status, code, message, fields), status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Token realm="fhir"'
        if (wait := getattr(exc, "wait", None)) is not None:  # throttled: when to come back
            response["Retry-After"] = str(int(wait) + 1)
        return response

    def base(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/R4").rstrip("/")

    def searchset(self, request: Request, search: Search, resources: list[dict[str, Any]], total: int) -> Response:
        url = f"{self.base(request)}/{search.resource}"
        return Response(fhir.bundle(resources, self.base(request), total=total, links=page_links(search, url, total)))


def _page(search: Search, items: QuerySet[Any] | list[Any]) -> tuple[list[Any], int]:
    """This page's rows and the full count (`_count=0` asks for the count only)."""
    total = items.count() if isinstance(items, QuerySet) else len(items)
    if not search.count or search.offset >= total:
        return [], total
    return list(items[search.offset : search.offset + search.count]), total


def _one(queryset: QuerySet[M], pk: int, kind: str) -> M:
    found = queryset.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if found is None:
        raise ResourceNotFound(f"No {kind} with id {pk}.")
    return found


def _id_q(field: str, text: str) -> Q:
    pk = int_id(text)
    return Q(**{field: pk}) if pk is not None else Q(pk__in=[])


class MetadataView(FhirView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        resources = [
            {
                "type": name,
                "interaction": [{"code": "read"}, {"code": "search-type"}]
                + ([{"code": "create"}] if name == "Appointment" else []),
                "searchParam": [
                    {"name": p.name, "definition": p.definition, "type": p.type, "documentation": p.documentation}
                    for p in params
                ],
            }
            for name, params in PARAMS.items()
        ]
        statement = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": timezone.now().date().isoformat(),
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json", "application/fhir+json"],
            "implementation": {"description": "Clinicflow", "url": self.base(request)},
            "rest": [
                {
                    "mode": "server",
                    "documentation": SEARCH_DOC,
                    "resource": resources,
                    "security": {"description": "Token authentication: Authorization: Token <key>"},
                }
            ],
        }
        from fhir.resources.R4B.capabilitystatement import CapabilityStatement

        return Response(CapabilityStatement.model_validate(statement).model_dump(mode="json", exclude_none=True))


# --- Patient -----------------------------------------------------------------------------------------
def _identifier_q(raw: str) -> Q:
    system, value = token(raw)
    if system not in (None, fhir.MRN_SYSTEM):  # another system, or none ("|value"): every MRN has ours
        return Q(pk__in=[])
    return Q(mrn=value.upper()) if value else Q()


def _name_q(raw: str) -> Q:
    words = raw.split()[:5]
    if not words:
        raise InvalidSearch("name has no words.", fields={"name": ["name has no words."]})
    q = Q()
    for word in words:  # folded by the database, as the column was: accents and case do not matter
        q &= Q(search_name__contains=folded(word))
    return q


def _phone_q(raw: str) -> Q:
    number = token(raw)[1]
    digits = re.sub(r"[^0-9]", "", number)
    if not re.fullmatch(r"[0-9+()\-. ]+", number) or not digits:
        message = f"phone: {number[:40]!r} is not a phone number (digits, spaces, + - . ( ) only)."
        raise InvalidSearch(message, fields={"phone": [message]})
    if len(digits) >= 6:  # a whole number in any spacing, or a part of one: the patient search's rule
        return Q(pk__in=patient_search(q=number).values("pk"))
    return Q(phone__contains=digits)


class PatientView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        if pk is not None:
            p = _one(Patient.objects.all(), pk, "Patient")
            authorize(request.user, "patients.view_patient", p)
            access_log_patients(request, action="view", patients=[p])
            return Response(fhir.patient(p))
        authorize(request.user, "patients.add_patient")
        search = search_read(request, "Patient")
        if not search.values:
            message = "Search patients by identifier, name, birthdate or phone."
            raise InvalidSearch(message)
        qs: QuerySet[Patient] = Patient.objects.filter(merged_into__isnull=True)
        readers = {"identifier": _identifier_q, "name": _name_q, "phone": _phone_q}
        for name, read in readers.items():
            for alternatives in search.alternatives(name):
                qs = qs.filter(any_of(read(raw) for raw in alternatives))
        qs = qs.filter(date_q(search, "birthdate", "date_of_birth", days=True))
        rows, total = _page(search, qs.order_by("last_name", "first_name", "id"))
        access_log_patients(request, action="search", patients=rows)
        return self.searchset(request, search, [fhir.patient(p) for p in rows], total)


# --- the catalogue -----------------------------------------------------------------------------------
def _doctors() -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(roles__contains=[Role.DOCTOR]).select_related("user")


def _words_q(search: Search, *fields: str) -> Q:
    """String search on ``fields``: every repetition must match, one of its comma-separated values."""
    q = Q()
    for alternatives in search.alternatives("name"):
        q &= any_of(any_of(Q(**{f"{field}__icontains": raw.strip()}) for field in fields) for raw in alternatives)
    return q


class PractitionerView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            return Response(fhir.practitioner(_one(_doctors(), pk, "Practitioner")))
        search = search_read(request, "Practitioner")
        qs = _doctors().filter(_words_q(search, "user__first_name", "user__last_name")).order_by("pk")
        rows, total = _page(search, qs)
        return self.searchset(request, search, [fhir.practitioner(d) for d in rows], total)


class LocationView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        qs = branch_list(actor=request.user)
        if pk is not None:
            return Response(fhir.location(_one(qs, pk, "Location")))
        search = search_read(request, "Location")
        rows, total = _page(search, qs.filter(_words_q(search, "name")).order_by("pk"))
        return self.searchset(request, search, [fhir.location(b) for b in rows], total)


class HealthcareServiceView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            return Response(fhir.healthcare_service(_one(Service.objects.all(), pk, "HealthcareService")))
        search = search_read(request, "HealthcareService")
        rows, total = _page(search, Service.objects.filter(_words_q(search, "name")).order_by("pk"))
        return self.searchset(request, search, [fhir.healthcare_service(s) for s in rows], total)


# --- Schedule and Slot -------------------------------------------------------------------------------
SCHEDULE_ID = re.compile(r"d([0-9]{1,18})-b([0-9]{1,18})", re.ASCII)


def _schedule(request: Request, schedule_id: str) -> tuple[StaffMember, Branch] | None:
    """The doctor and branch of a schedule id, if both exist and the caller sees the branch."""
    match = SCHEDULE_ID.fullmatch(schedule_id)
    if not match:
        return None
    doctor = _doctors().filter(pk=int(match.group(1))).first()
    branch = Branch.objects.filter(pk=int(match.group(2))).first()
    if doctor is None or branch is None or not _sees(request, branch):
        return None
    return doctor, branch


def _sees(request: Request, branch: Branch) -> bool:
    return branch_visible(actor=request.user, branch_id=branch.pk) and request.user.has_perm(
        "scheduling.view_calendar", branch
    )


class ScheduleView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: str | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            found = _schedule(request, pk)
            if found is None:
                raise ResourceNotFound(f"No Schedule with id {pk[:80]!r}.")
            return Response(fhir.schedule(*found))
        search = search_read(request, "Schedule")
        pairs = DoctorService.objects.filter(doctor__in=_doctors()).values_list("doctor_id", "branch_id").distinct()
        if (visible := branch_ids_visible(actor=request.user)) is not None:
            pairs = pairs.filter(branch_id__in=visible)
        for alternatives in search.alternatives("actor"):
            refs = [reference("actor", raw, "Practitioner", "Location") for raw in alternatives]
            pairs = pairs.filter(
                any_of(_id_q("branch_id" if kind == "Location" else "doctor_id", ident) for kind, ident in refs)
            )
        rows, total = _page(search, pairs.order_by("doctor_id", "branch_id"))
        doctors = {d.pk: d for d in _doctors().filter(pk__in={d for d, _ in rows})}
        branches = {b.pk: b for b in Branch.objects.filter(pk__in={b for _, b in rows})}
        schedules = [fhir.schedule(doctors[d], branches[b]) for d, b in rows]
        return self.searchset(request, search, schedules, total)


def _only(search: Search, name: str) -> str:
    values = search.values.get(name, [])
    if len(values) != 1 or "," in values[0]:
        message = f"Slot search needs exactly one {name}."
        raise InvalidSearch(message, fields={name: [message]})
    return values[0]


def _slot_window(search: Search, now: datetime) -> tuple[datetime, datetime] | None:
    """[from, to) of a slot search: its start parameters, from now, at most SLOT_SPAN; None when it
    lies wholly in the past or beyond the booking horizon (no slot can be free there)."""
    lower: datetime | None = None
    upper: datetime | None = None
    for alternatives in search.alternatives("start"):
        windows = [date_window("start", raw) for raw in alternatives]
        lows = [w.lower if not (w.negate or w.empty) else None for w in windows]
        highs = [w.upper if not (w.negate or w.empty) else None for w in windows]
        if all(low is not None for low in lows):
            least = min(low for low in lows if low is not None)
            lower = least if lower is None else max(lower, least)
        if all(high is not None for high in highs):
            most = max(high for high in highs if high is not None)
            upper = most if upper is None else min(upper, most)
    start = max(lower or now, now)
    if start > now + SLOT_HORIZON:
        return None
    end = min(upper if upper is not None else start + timedelta(days=7), now + SLOT_HORIZON)
    if end - start > SLOT_SPAN:
        message = f"start: ask for at most {SLOT_SPAN.days} days of slots at a time."
        raise InvalidSearch(message, fields={"start": [message]})
    return (start, end) if end > start else None


def _service(code: str) -> Service | None:
    pk = int_id(code)
    return Service.objects.filter(pk=pk).first() if pk is not None else None


class SlotView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: str | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            return self.read(request, pk)
        search = search_read(request, "Slot")
        schedule_ref = reference("schedule", _only(search, "schedule"), "Schedule")[1]
        system, code = token(_only(search, "service-type"))
        now = timezone.now()
        window = _slot_window(search, now)
        found = _schedule(request, schedule_ref)
        service = _service(code) if system in (None, SERVICE_SYSTEM) else None
        if window is None or found is None or service is None:  # names nothing the caller may see
            return self.searchset(request, search, [], 0)
        (doctor, branch), (start, end) = found, window
        tz = ZoneInfo(branch.timezone)
        slots = selectors.slot_list_available(
            service=service,
            branch=branch,
            date_from=start.astimezone(tz).date(),
            date_to=(end - timedelta(microseconds=1)).astimezone(tz).date(),
            doctor_ids=[doctor.pk],
            step=service.duration_minutes,
        )
        windows = [[date_window("start", raw, now=now) for raw in alts] for alts in search.alternatives("start")]
        matching = [
            s for s in slots if start <= s.start < end and all(any(w.holds(s.start) for w in alts) for alts in windows)
        ]
        rows, total = _page(search, matching)
        return self.searchset(
            request, search, [fhir.slot(doctor.pk, branch.pk, service.pk, s.start, s.end) for s in rows], total
        )

    def read(self, request: Request, pk: str) -> Response:
        """A slot is a free start time, named by its schedule, service and start: it is there while
        it is free, and only for those who see its branch (others learn nothing, not even a 403)."""
        missing = ResourceNotFound(f"No free Slot with id {pk[:80]!r}.")
        parts = fhir.slot_id_read(pk)
        if parts is None:
            raise missing
        doctor_id, branch_id, service_id, start = parts
        now = timezone.now()
        found = _schedule(request, f"d{doctor_id}-b{branch_id}")
        service = Service.objects.filter(pk=service_id).first() if service_id <= MAX_ID else None
        if found is None or service is None or not (now <= start <= now + SLOT_HORIZON):
            raise missing
        doctor, branch = found
        day = start.astimezone(ZoneInfo(branch.timezone)).date()
        slots = selectors.slot_list_available(
            service=service,
            branch=branch,
            date_from=day,
            date_to=day,
            doctor_ids=[doctor.pk],
            step=service.duration_minutes,
        )
        slot = next((s for s in slots if s.start == start), None)
        if slot is None:
            raise missing
        return Response(fhir.slot(doctor.pk, branch.pk, service.pk, slot.start, slot.end))


# --- Appointment -------------------------------------------------------------------------------------
def _status_q(raw: str) -> Q:
    system, code = token(raw)
    if system not in (None, STATUS_SYSTEM):
        return Q(pk__in=[])
    if code not in FHIR_STATUSES:
        message = f"status: {code[:40]!r} is not an appointment status; one of {', '.join(FHIR_STATUSES)}."
        raise InvalidSearch(message, fields={"status": [message]})
    return Q(status__in=fhir.FHIR_TO_STATUS.get(code, []))


def _reference_q(search: Search, name: str, kind: str, field: str) -> Q:
    q = Q()
    for alternatives in search.alternatives(name):
        q &= any_of(_id_q(field, reference(name, raw, kind)[1]) for raw in alternatives)
    return q


def _pydantic_fields(exc: PydanticValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in exc.errors()[:20]:
        path = "Appointment" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        fields.setdefault(path, []).append(str(error["msg"]))
    return fields


class AppointmentView(FhirView):
    @extend_schema(exclude=True)
    def get(self, request: Request, pk: int | None = None) -> Response:
        authorize(request.user, "org.view_branch")
        if pk is not None:
            a = _one(Appointment.objects.all(), pk, "Appointment")
            authorize(request.user, "scheduling.view_calendar", a.branch)
            access_log_records(request, action="view", object_type="appointment", records=[a])
            return Response(fhir.appointment(a))
        search = search_read(request, "Appointment")
        if not set(search.values) & {"patient", "practitioner", "location", "date"}:
            raise InvalidSearch("Search appointments by patient, practitioner, location or date.")
        qs = Appointment.objects.all()
        if (visible := branch_ids_visible(actor=request.user)) is not None:
            qs = qs.filter(branch_id__in=visible)
        qs = qs.filter(
            _reference_q(search, "patient", "Patient", "patient_id"),
            _reference_q(search, "practitioner", "Practitioner", "doctor_id"),
            _reference_q(search, "location", "Location", "branch_id"),
            date_q(search, "date", "span__startswith"),
        )
        for alternatives in search.alternatives("status"):
            qs = qs.filter(any_of(_status_q(raw) for raw in alternatives))
        rows, total = _page(search, qs.order_by("span", "pk"))
        access_log_records(request, action="search", object_type="appointment", records=rows)
        return self.searchset(request, search, [fhir.appointment(a) for a in rows], total)

    @extend_schema(exclude=True)
    def post(self, request: Request, pk: int | None = None) -> Response:
        """Create an Appointment: the same door as every booking (rules, constraints, 409s)."""
        if pk is not None:
            raise drf.MethodNotAllowed("POST", detail="FHIR creates on the type: POST /Appointment, not on an id.")
        from fhir.resources.R4B.appointment import Appointment as FAppointment

        body = request.data
        if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
            message = "The body must be a FHIR Appointment (resourceType Appointment)."
            raise InvalidResource(message, fields={"Appointment.resourceType": [message]})
        try:
            incoming = FAppointment.model_validate(body)
        except PydanticValidationError as exc:
            raise InvalidResource("The body is not a valid FHIR Appointment.", fields=_pydantic_fields(exc)) from exc
        problems: dict[str, list[str]] = {}
        refs: dict[str, tuple[int, str]] = {}
        for index, participant in enumerate(incoming.participant or []):
            raw = (participant.actor.reference if participant.actor else None) or ""
            path = f"Appointment.participant[{index}].actor.reference"
            kind, _, ident = raw.partition("/")
            if kind in ("Patient", "Practitioner", "Location"):
                if int_id(ident) is None:
                    problems[path] = [f"{raw[:60]!r} is not a reference to one of our {kind} resources."]
                elif kind in refs:
                    # One booking is one patient with one practitioner at one location: a second
                    # one must not silently replace the first.
                    problems[path] = [f"Give exactly one {kind} participant; {refs[kind][1]} is one already."]
                else:
                    refs[kind] = (int(ident), path)
        missing = [kind for kind in ("Patient", "Practitioner", "Location") if kind not in refs]
        if missing and not problems:
            problems["Appointment.participant"] = [f"Give a {', a '.join(missing)} participant."]
        start = incoming.start
        if start is None:
            problems["Appointment.start"] = ["Give the start."]
        else:
            for path, moment in (("Appointment.start", start), ("Appointment.end", incoming.end)):
                if moment is not None and not BOOKABLE_YEARS[0] <= moment.year <= BOOKABLE_YEARS[1]:
                    problems[path] = [f"{moment.year} is outside the years this server books ({BOOKABLE_YEARS})."]
        codings = [c for st in incoming.serviceType or [] for c in st.coding or []]
        codes = [c.code for c in codings if c.system in (None, SERVICE_SYSTEM)]
        if not codes or int_id(codes[0] or "") is None:
            problems["Appointment.serviceType"] = [f"Give the HealthcareService id as a {SERVICE_SYSTEM} coding."]
        if problems or start is None:
            raise InvalidResource("The Appointment lacks what a booking needs.", fields=problems)
        patient = self._resolve(Patient.objects.all(), refs["Patient"], "Patient")
        doctor = self._resolve(_doctors(), refs["Practitioner"], "Practitioner")
        branch = self._resolve(Branch.objects.all(), refs["Location"], "Location")
        service = self._resolve(Service.objects.all(), (int(codes[0] or 0), "Appointment.serviceType"), "Service")
        self._check(incoming, service)
        booked = sched.appointment_book(
            actor=request.user,
            patient=patient,
            doctor=doctor,
            branch=branch,
            service=service,
            start=start,
            source=Source.STAFF,
            idempotency_key=request.headers.get("Idempotency-Key") or None,  # checked by the service
        )
        access_log_records(request, action="view", object_type="appointment", records=[booked])
        response = Response(fhir.appointment(booked), status=201)
        response["Location"] = f"{self.base(request)}/Appointment/{booked.pk}"
        return response

    @staticmethod
    def _resolve(queryset: QuerySet[M], ref: tuple[int, str], kind: str) -> M:
        pk, path = ref
        found = queryset.filter(pk=pk).first()
        if found is None:
            message = f"There is no {kind} {pk}."
            raise InvalidReference(message, fields={path: [message]})
        return found

    @staticmethod
    def _check(incoming: Any, service: Service) -> None:
        """What the client says of the booking must be what we book: its status and its length."""
        minutes = service.duration_minutes
        problems: dict[str, list[str]] = {}
        if incoming.status != "booked":
            problems["Appointment.status"] = [f"A new appointment is booked; {incoming.status!r} cannot be created."]
        if incoming.end is not None and incoming.end - incoming.start != timedelta(minutes=minutes):
            length = (incoming.end - incoming.start).total_seconds() / 60
            problems["Appointment.end"] = [f"end is {length:g} minutes after start; {service.name} lasts {minutes}."]
        if incoming.minutesDuration is not None and incoming.minutesDuration != minutes:
            problems["Appointment.minutesDuration"] = [
                f"minutesDuration is {incoming.minutesDuration}; {service.name} lasts {minutes}."
            ]
        if problems:
            code = FhirErrorCode.STATUS_NOT_BOOKABLE if list(problems) == ["Appointment.status"] else None
            raise Unprocessable("The Appointment does not match what can be booked.", code=code, fields=problems)
