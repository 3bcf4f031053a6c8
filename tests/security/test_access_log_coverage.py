"""Every read of patient data is in the access log: proved over every route of both sites.

Each URL pattern of the chain site and of the platform site, and for the API and FHIR each method
its view answers, is either in SHOWS_PATIENTS (with a probe: who asks, what, and which patient's
data the answer carries) or in NO_PATIENT_DATA (with the reason). A route that is in neither fails
`test_every_route_and_operation_is_classified`, so a new page or endpoint cannot forget: it must say
what it shows, and if it shows a patient, its probe must find the access-log row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_tenants.utils import schema_context

from config import events
from invoicing import services as billing
from invoicing.models import Invoice
from invoicing.subscribers import invoice_completed_visit
from patients import portal
from patients import services as patients
from patients.models import Patient
from scheduling import services as sched
from scheduling.events import AppointmentCompleted
from scheduling.models import Appointment
from tenants.audit.models import AccessLog
from tenants.org.models import StaffMember
from tests.factories import Chain
from tests.factories.scheduling import Clinic, clinic_setup, daytime_branch
from tests.helpers import Api, sign_in

TENANT = "config.urls_tenant"
PUBLIC = "config.urls_public"
METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def operations(urlconf: str) -> set[tuple[str, str]]:
    """(route, method) of every class-based view, (route, "*") of every function view."""
    found: set[tuple[str, str]] = set()
    for route, callback in _walk(get_resolver(urlconf).url_patterns):
        if route.startswith("admin/"):
            continue  # Django's admin on the platform site: operators only, no chain data
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is None:
            found.add((route, "*"))
        else:
            found |= {(route, m) for m in METHODS if hasattr(view_class, m)}
    return found


# --- what shows no patient data, and why -------------------------------------------------------------
CATALOGUE = "the chain's catalogue, organisation or rules: no patient in it"
ACCOUNT = "the caller's own account or sign-in"
PUBLIC_SITE = "the platform site: the public schema holds no patient"
VISITOR = "online booking before a patient exists: only what the visitor typed and free times"
CHANGE = "a change with no patient data in its answer (it redirects, or answers ids only); history records it"
ACCOUNT_PREFIXES = ("accounts/", "api/v1/auth/")  # ACCOUNT, by prefix
NO_PATIENT_DATA: dict[tuple[str, str], str] = {
    ("api/v1/me/", "get"): ACCOUNT,
    # A hold is shown to its holder only until it is confirmed; then it is an appointment.
    **{("api/v1/holds/<int:pk>/", m): "one's own hold, which names no patient" for m in ("get", "delete")},
    **{
        (route, m): CATALOGUE
        for route in (
            "api/v1/settings/",
            "api/v1/branches/",
            "api/v1/branches/<int:pk>/",
            "api/v1/staff/",
            "api/v1/staff/<int:pk>/",
            "api/v1/invitations/",
            "api/v1/invitations/accept/",
            "api/v1/invitations/<int:pk>/revoke/",
            "api/v1/scheduling/services/",
            "api/v1/scheduling/services/<int:pk>/",
            "api/v1/scheduling/rooms/",
            "api/v1/scheduling/shifts/",
            "api/v1/scheduling/extra-shifts/",
            "api/v1/scheduling/offerings/",
            "api/v1/scheduling/policy/",
            "api/v1/scheduling/leave/<int:pk>/cancel/",
            "api/v1/branches/<int:pk>/hours/",
            "api/v1/branches/<int:pk>/special-days/",
            "api/v1/branches/<int:pk>/special-days/<int:special_pk>/",
            "api/v1/scheduling/services/<int:pk>/offerings/",
            "api/v1/scheduling/services/<int:pk>/prices/",
            "api/v1/scheduling/rooms/<int:pk>/",
            "api/v1/scheduling/shifts/<int:pk>/",
            "api/v1/scheduling/shifts/<int:pk>/end/",
            "api/v1/scheduling/extra-shifts/<int:pk>/",
            "settings/staff/<int:pk>/offerings/",
            "api/v1/availability/",
            "api/v1/availability/days/",
            "api/v1/holds/",
            "api/v1/schema/",
            "api/v1/docs/",
            "fhir/R4/metadata",
            "fhir/R4/Practitioner",
            "fhir/R4/Practitioner/<int:pk>",
            "fhir/R4/Location",
            "fhir/R4/Location/<int:pk>",
            "fhir/R4/HealthcareService",
            "fhir/R4/HealthcareService/<int:pk>",
            "fhir/R4/Schedule",
            "fhir/R4/Schedule/<str:pk>",
            "fhir/R4/Slot",
            "fhir/R4/Slot/<str:pk>",
            "",
            "settings/",
            "settings/branches/",
            "settings/branches/new/",
            "settings/branches/<int:pk>/",
            "settings/staff/",
            "settings/staff/invite/",
            "settings/staff/<int:pk>/",
            "settings/invitations/<int:pk>/revoke/",
            "invite/<str:token>/",
            "settings/services/",
            "settings/services/<int:pk>/",
            "settings/booking-rules/",
            "settings/leave/<int:pk>/cancel/",
            "desk/",
            "portal/sign-in/",
            "portal/code/",
            "portal/sign-out/",
        )
        for m in (*METHODS, "*")
    },
    ("api/v1/scheduling/leave/", "get"): "a doctor's leave: no patient in it",
    ("api/v1/appointments/series/", "post"): CHANGE,
    ("api/v1/appointments/<int:pk>/series/cancel-rest/", "post"): CHANGE,
    ("api/v1/appointments/<int:pk>/series/move-rest/", "post"): CHANGE,
    ("desk/series/<int:pk>/cancel-rest/", "*"): CHANGE,
    ("desk/series/<int:pk>/move-rest/", "*"): CHANGE,
    ("fhir/R4/Appointment/<int:pk>", "post"): "refused: FHIR creates on the type, not on an instance",
    ("desk/appointments/<int:pk>/<str:action>/", "*"): CHANGE,
    ("desk/appointments/<int:pk>/drop/", "*"): CHANGE,
    ("desk/appointments/<int:pk>/resize/", "*"): CHANGE,
    **{
        op: "the chain's own Stripe connection (account id and status): no patient in it"
        for op in (
            ("api/v1/payments/stripe/", "get"),
            ("api/v1/payments/stripe/onboarding/", "post"),
            ("api/v1/payments/stripe/refresh/", "post"),
            ("settings/payments/", "*"),
        )
    },
    **{
        op: "reconciliation with Stripe: Stripe's ids, amounts and descriptions, the ledger's payment ids and invoice"
        " numbers, no patient"
        for op in (
            ("api/v1/invoicing/reconciliation/", "get"),
            ("api/v1/invoicing/reconciliation/mismatches/", "get"),
            ("api/v1/invoicing/reconciliation/mismatches/<int:pk>/resolve/", "post"),
            ("api/v1/invoicing/reconciliation/mismatches/<int:pk>/record/", "post"),
            ("billing/reconciliation/mismatches/<int:pk>/record/", "*"),
            ("api/v1/invoicing/reconciliation/payouts/<int:pk>/", "get"),
            ("billing/reconciliation/", "*"),
            ("billing/reconciliation/mismatches/<int:pk>/resolve/", "*"),
            ("billing/reconciliation/payouts/<int:pk>/", "*"),
        )
    },
    **{
        (route, "*"): CHANGE + " (a refusal shows the invoice's page again, logged as the page is)"
        for route in (
            "billing/invoices/<int:pk>/pay/",
            "billing/invoices/<int:pk>/refund/",
            "billing/invoices/<int:pk>/credit-note/",
            "billing/invoices/<int:pk>/void/",
            "billing/patients/<int:pk>/pay/",
        )
    },
    **{
        op: "the chain's package products, or counts per product: no patient in them"
        for op in (
            ("api/v1/packages/products/", "get"),
            ("api/v1/packages/products/", "post"),
            ("api/v1/packages/products/<int:pk>/", "put"),
            ("api/v1/packages/products/<int:pk>/retire/", "post"),
            ("api/v1/packages/pending/", "get"),
            ("settings/packages/", "*"),
            ("settings/packages/<int:pk>/retire/", "*"),
            ("packages/pending/", "*"),
        )
    },
    **{
        op: "the chain's fee and online-payment policies: no patient in them"
        for op in (
            ("api/v1/invoicing/fee-policy/", "get"),
            ("api/v1/invoicing/fee-policy/", "put"),
            ("settings/fees/", "*"),
            ("api/v1/invoicing/online-payments/policy/", "get"),
            ("api/v1/invoicing/online-payments/policy/", "put"),
            ("settings/payments/online/", "*"),
        )
    },
    ("settings/invoice-details/", "*"): "the clinic's own registration, VAT number and billing e-mail: no patient",
    ("api/v1/invoicing/fees/<int:pk>/retry/", "post"): (
        "answers the fee it retried, as waiving does (the same answer, probed there); logged as an update of the fee"
    ),
    ("api/v1/invoicing/patients/<int:pk>/card/", "delete"): CHANGE,
    ("api/v1/invoicing/patients/<int:pk>/card/link/", "post"): (
        "sends the patient a link to save a card: answers the link to Stripe's page and its expiry, no patient details;"
        " logged as an update of the patient"
    ),
    ("billing/fees/<int:pk>/retry/", "*"): CHANGE,
    ("billing/fees/<int:pk>/waive/", "*"): CHANGE,
    **{
        op: "the visitor's own online payment, reached by its secret token: amounts and status, no patient details"
        for op in (
            ("api/v1/invoicing/online-booking/checkouts/<str:token>/", "get"),
            ("api/v1/invoicing/online-booking/holds/<int:pk>/checkout/", "post"),
            ("book/pay/<str:token>/", "*"),
            ("book/paid/<str:token>/", "*"),
        )
    },
    ("portal/packages/paid/<str:token>/", "*"): (
        "the patient's own payment outcome (paid or waiting), no other data; the read is logged under the invoice"
    ),
    ("desk/<int:branch_pk>/", "*"): "the appointment book's page: its appointments come from the feed (desk-feed)",
    ("desk/<int:branch_pk>/slot/", "*"): "an empty time on the book: the doctor's services there, no patient",
    ("patients/<int:pk>/care-team/", "*"): CHANGE,
    ("patients/<int:pk>/care-team/<int:doctor_pk>/remove/", "*"): CHANGE,
    ("book/manage/<str:token>/cancel/", "*"): CHANGE,
    ("portal/appointments/<int:pk>/cancel/", "*"): CHANGE,
    **{(route, "*"): VISITOR for route in ("book/", "book/hold/", "book/details/", "book/confirm/")},
    **{(route, "post"): VISITOR for route in ("api/v1/online/holds/", "api/v1/online/codes/")},
    ("api/v1/online/holds/<int:pk>/confirm/", "post"): (
        "the visitor's own booking, just made: its time, doctor and link, no patient details; history records it"
    ),
    **{
        (route, "*"): "Twilio's signed webhook: its answer is empty TwiML; a patient's text is access-logged where"
        " it is recorded (notifications.replies)"
        for route in ("twilio/status/", "twilio/inbound/")
    },
}
NO_PATIENT_DATA |= {
    # --- p15 templates: the chain's wording of messages and its messaging settings
    **{
        op: "the chain's wording of messages and its messaging settings, previewed with sample values: no patient"
        for op in (
            ("api/v1/messages/templates/", "get"),
            ("api/v1/messages/templates/<str:kind>/<str:channel>/<str:language>/", "get"),
            ("api/v1/messages/templates/<str:kind>/<str:channel>/<str:language>/", "put"),
            ("api/v1/messages/templates/<str:kind>/<str:channel>/<str:language>/reset/", "post"),
            ("api/v1/messages/settings/", "get"),
            ("api/v1/messages/settings/", "patch"),
            ("settings/messages/", "*"),
            ("settings/messages/templates/", "*"),
            ("settings/messages/templates/<str:kind>/<str:channel>/<str:language>/", "*"),
        )
    },
    ("messages/<int:pk>/resend/", "*"): CHANGE,
    ("messages/replies/<int:pk>/answer/", "*"): CHANGE,
    # --- the waitlist
    ("desk/waitlist/", "*"): "redirects to the first branch's waitlist (probed there): no patient",
    ("desk/waitlist/<int:pk>/remove/", "*"): CHANGE,
    ("waitlist/<str:token>/leave/", "*"): CHANGE,
    ("waitlist/offer/<str:token>/accept/", "*"): CHANGE + " (to the booking's page or pay step, probed there)",
    ("waitlist/offer/<str:token>/decline/", "*"): CHANGE,
    ("book/waitlist/", "*"): VISITOR,
    ("book/waitlist/confirm/", "*"): VISITOR + "; joined, it redirects to the entry's own page (probed there)",
}
NO_PATIENT_DATA |= {
    # --- the work lists' counts and totals (the lists themselves are probed below)
    **{
        (route, "get"): "counts and sums per bucket, branch, currency or package: no patient"
        for route in (
            "api/v1/reports/call-backs/counts/",
            "api/v1/reports/receivables/aging/",
            "api/v1/reports/packages/products/",
        )
    },
}
PUBLIC_NO_PATIENT_DATA = PUBLIC_SITE


# --- the world the probes ask about ----------------------------------------------------------------
@dataclass
class World:
    chain: Chain
    clinic: Clinic
    doctor: StaffMember  # treats the patient (a visit was checked in)
    stranger_doctor: StaffMember  # never treated the patient
    patient: Patient
    other: Patient  # a second record, for merges
    booked: Appointment  # booked by reception, not yet happened
    visit: Appointment  # checked in
    day: date
    note: Any
    attachment: Any
    follow_up: Any
    portal_user: Any
    manage_token: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def owner(self) -> Any:
        return self.chain.users["owner"]


def _manage_token(appointment: Appointment) -> str:
    from scheduling.services import manage_link_issue  # type: ignore[attr-defined]

    return str(manage_link_issue(appointment=appointment))


@pytest.fixture
def world(in_a: Chain) -> World:
    clinic = clinic_setup(in_a, doctors=2, opens=time(7), closes=time(20), shift=(time(7), time(20)))
    doctor, stranger = clinic.doctors
    receptionist = in_a.users["receptionist"]
    patient = patients.patient_create(
        actor=in_a.users["owner"],
        first_name="Coverage",
        last_name="Probe",
        phone="+447911123456",
        email=f"coverage.{uuid.uuid4().hex[:12]}@example.com",
        date_of_birth=date(1980, 5, 17),
    )
    other = patients.patient_create(actor=in_a.users["owner"], first_name="Second", last_name="Record")
    day = clinic.days_ahead(7)

    def book(hour: int) -> Appointment:
        return sched.appointment_book(
            actor=receptionist,
            patient=patient,
            doctor=doctor,
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(day, hour),
        )

    booked, visit = book(10), book(12)
    with time_machine.travel(clinic.at(day, 8), tick=False):  # arrivals are recorded on the day
        sched.appointment_check_in(actor=receptionist, appointment=visit)
    d = doctor.user
    note = patients.note_create(actor=d, patient=patient, title="First visit", body="Sore throat.")
    patients.diagnosis_add(actor=d, patient=patient, icd10_code="J02.9", text="Pharyngitis")
    patients.prescription_add(actor=d, patient=patient, medication="Penicillin V", dose="500 mg", frequency="4x daily")
    attachment = patients.attachment_add(
        actor=d,
        patient=patient,
        upload=SimpleUploadedFile("swab.pdf", b"%PDF-1.4 result", content_type="application/pdf"),
        title="Swab result",
    )
    follow_up = patients.follow_up_create(actor=d, patient=patient, due_date=day + timedelta(days=14), reason="Review")
    sent = portal.code_request(identifier=patient.email, ip=f"192.0.2.{uuid.uuid4().int % 250 + 1}")
    assert sent is not None
    portal_user = portal.code_verify(identifier=patient.email, code=sent.code)
    return World(
        chain=in_a,
        clinic=clinic,
        doctor=doctor,
        stranger_doctor=stranger,
        patient=patient,
        other=other,
        booked=booked,
        visit=visit,
        day=day,
        note=note,
        attachment=attachment,
        follow_up=follow_up,
        portal_user=portal_user,
        manage_token=_manage_token(booked),
    )


# --- the probes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    who: str  # a role of the chain, "doctor", "stranger_doctor", "patient" (portal) or "anonymous"
    method: str
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None = None
    status: tuple[int, ...] = (200,)
    # which patient the answer shows; most show the world's patient
    patient: Callable[[World], Patient] = lambda w: w.patient


def _p(w: World) -> int:
    return w.patient.pk


def _outside_hours(w: World) -> dict[str, Any]:
    weekday = w.day.weekday()
    return {f"opens_{d}": "07:00" for d in range(7)} | {
        f"closes_{d}": ("08:00" if d == weekday else "20:00") for d in range(7)
    }


# What the doctor adds to the record, by the API (its fields) and from the chart (its forms' fields).
API_RECORD_ENTRIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "notes": lambda w: {"title": "Call", "body": "Better."},
    "diagnoses": lambda w: {"icd10_code": "R51", "text": "Headache"},
    "prescriptions": lambda w: {"medication": "Paracetamol", "dose": "1 g", "frequency": "as needed"},
    "attachments": lambda w: {
        "title": "Letter",
        "file": SimpleUploadedFile("letter.pdf", b"%PDF-1.4 x", "application/pdf"),
    },
    "follow-ups": lambda w: {"due_date": str(w.day + timedelta(days=30)), "reason": "Recheck"},
}
CHART_RECORD_ENTRIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "diagnoses": lambda w: {"diagnosis-icd10_code": "R51", "diagnosis-text": "Headache"},
    "prescriptions": lambda w: {
        "prescription-medication": "Ibuprofen",
        "prescription-dose": "400 mg",
        "prescription-frequency": "tds",
    },
    "attachments": lambda w: {
        "attachment-title": "Letter",
        "attachment-kind": "document",
        "attachment-file": SimpleUploadedFile("letter.pdf", b"%PDF-1.4 x", "application/pdf"),
    },
    "follow-ups": lambda w: {"follow_up-due_date": str(w.day + timedelta(days=30)), "follow_up-reason": "Recheck"},
    "consent-forms": lambda w: {
        "consent-kind": "treatment",
        "consent-title": "Consent",
        "consent-signed_on": str(w.day),
        "consent-signed_by": "patient",
    },
}


LEDGER = "/api/v1/invoicing"
LEDGER_PRICE = 7500


def _invoice(w: World) -> Any:
    """The issued invoice that completing the world's visit raised (made in _prepare)."""
    return w.extra["invoice"]


SHOWS_PATIENTS: dict[tuple[str, str], Probe] = {
    # --- the patient API
    ("api/v1/patients/", "get"): Probe("receptionist", "GET", lambda w: "/api/v1/patients/?q=Coverage Probe"),
    ("api/v1/patients/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: "/api/v1/patients/",
        lambda w: {"first_name": "Other", "last_name": "Person", "phone": "+447911123456"},
        status=(409,),  # the duplicate warning names the patient already registered
    ),
    ("api/v1/patients/merge/", "post"): Probe(
        "owner", "POST", lambda w: "/api/v1/patients/merge/", lambda w: {"keep": _p(w), "merge": w.other.pk}
    ),
    ("api/v1/patients/<int:pk>/", "get"): Probe("receptionist", "GET", lambda w: f"/api/v1/patients/{_p(w)}/"),
    ("api/v1/patients/<int:pk>/", "patch"): Probe(
        "receptionist", "PATCH", lambda w: f"/api/v1/patients/{_p(w)}/", lambda w: {"city": "Leeds"}
    ),
    ("api/v1/patients/<int:pk>/consent/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"/api/v1/patients/{_p(w)}/consent/",
        lambda w: {"channel": "sms", "given": True},
    ),
    ("api/v1/patients/<int:pk>/break-glass/", "post"): Probe(
        "stranger_doctor",
        "POST",
        lambda w: f"/api/v1/patients/{_p(w)}/break-glass/",
        lambda w: {"reason": "Unconscious in the waiting room"},
        status=(201,),
    ),
    **{
        (f"api/v1/patients/<int:pk>/{kind}/", "get"): Probe(
            "doctor", "GET", lambda w, k=kind: f"/api/v1/patients/{_p(w)}/{k}/"
        )
        for kind in ("notes", "diagnoses", "prescriptions", "attachments", "follow-ups")
    },
    **{
        (f"api/v1/patients/<int:pk>/{kind}/", "post"): Probe(
            "doctor", "POST", lambda w, k=kind: f"/api/v1/patients/{_p(w)}/{k}/", body, status=(201,)
        )
        for kind, body in API_RECORD_ENTRIES.items()
    },
    ("api/v1/patients/<int:pk>/audit/", "get"): Probe("owner", "GET", lambda w: f"/api/v1/patients/{_p(w)}/audit/"),
    ("api/v1/notes/<int:pk>/", "get"): Probe("doctor", "GET", lambda w: f"/api/v1/notes/{w.note.pk}/"),
    ("api/v1/notes/<int:pk>/", "patch"): Probe(
        "doctor", "PATCH", lambda w: f"/api/v1/notes/{w.note.pk}/", lambda w: {"body": "Sore throat, no fever."}
    ),
    ("api/v1/notes/<int:pk>/sign/", "post"): Probe("doctor", "POST", lambda w: f"/api/v1/notes/{w.note.pk}/sign/"),
    ("api/v1/notes/<int:pk>/addenda/", "post"): Probe(
        "doctor",
        "POST",
        lambda w: f"/api/v1/notes/{w.note.pk}/addenda/",
        lambda w: {"body": "Swab negative."},
        status=(201,),
    ),
    ("api/v1/attachments/<int:pk>/download/", "get"): Probe(
        "doctor", "GET", lambda w: f"/api/v1/attachments/{w.attachment.pk}/download/"
    ),
    ("api/v1/follow-ups/<int:pk>/close/", "post"): Probe(
        "doctor", "POST", lambda w: f"/api/v1/follow-ups/{w.follow_up.pk}/close/", lambda w: {"done": True}
    ),
    ("api/v1/patients/<int:pk>/care-team/", "get"): Probe(
        "owner", "GET", lambda w: f"/api/v1/patients/{_p(w)}/care-team/"
    ),
    ("api/v1/patients/<int:pk>/care-team/", "post"): Probe(
        "owner",
        "POST",
        lambda w: f"/api/v1/patients/{_p(w)}/care-team/",
        lambda w: {"doctor": w.stranger_doctor.pk},
        status=(201,),
    ),
    ("api/v1/patients/<int:pk>/care-team/<int:doctor_pk>/", "delete"): Probe(
        "owner",
        "DELETE",
        lambda w: f"/api/v1/patients/{_p(w)}/care-team/{w.extra['assigned'].pk}/",
        status=(204,),
    ),
    ("audit/emergency-access/", "*"): Probe("owner", "GET", lambda w: "/audit/emergency-access/"),
    ("api/v1/audit/users/<int:pk>/", "get"): Probe(
        "owner", "GET", lambda w: f"/api/v1/audit/users/{w.doctor.user.pk}/"
    ),
    # --- the calendar API
    ("api/v1/scheduling/leave/", "post"): Probe(
        "owner",
        "POST",
        lambda w: "/api/v1/scheduling/leave/",
        lambda w: {
            "doctor": w.doctor.pk,
            "start": w.clinic.at(w.day, 9).isoformat(),
            "end": w.clinic.at(w.day, 11).isoformat(),
            "reason": "Course",
        },
        status=(409,),  # the conflict list names the booked appointment
    ),
    ("api/v1/scheduling/leave/proposal/", "get"): Probe(
        "owner",
        "GET",
        lambda w: (
            f"/api/v1/scheduling/leave/proposal/?doctor={w.doctor.pk}"
            f"&start={w.clinic.at(w.day, 9).isoformat()}&end={w.clinic.at(w.day, 11).isoformat()}"
        ).replace("+", "%2B"),
    ),
    ("api/v1/scheduling/leave/resolve/", "post"): Probe(
        "owner",
        "POST",
        lambda w: "/api/v1/scheduling/leave/resolve/",
        lambda w: {
            "doctor": w.doctor.pk,
            "start": w.clinic.at(w.day, 9).isoformat(),
            "end": w.clinic.at(w.day, 11).isoformat(),
            "for_all": {"action": "cancel", "reason": "Course"},
        },
        status=(201,),  # the appointments cancelled are in the answer
    ),
    ("api/v1/appointments/", "get"): Probe("receptionist", "GET", lambda w: f"/api/v1/appointments/?patient={_p(w)}"),
    ("api/v1/appointments/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: "/api/v1/appointments/",
        lambda w: {
            "patient": _p(w),
            "doctor": w.doctor.pk,
            "branch": w.clinic.branch.pk,
            "service": w.clinic.service.pk,
            "start": w.clinic.at(w.day, 15).isoformat(),
        },
        status=(201,),
    ),
    ("api/v1/appointments/walk-in/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: "/api/v1/appointments/walk-in/",
        lambda w: {"patient": _p(w), "branch": w.extra["walk_in"].branch.pk, "service": w.extra["walk_in"].service.pk},
        status=(201,),
    ),
    ("api/v1/appointments/<int:pk>/", "get"): Probe(
        "receptionist", "GET", lambda w: f"/api/v1/appointments/{w.booked.pk}/"
    ),
    ("api/v1/appointments/<int:pk>/reschedule/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"/api/v1/appointments/{w.booked.pk}/reschedule/",
        lambda w: {"start": w.clinic.at(w.day, 16).isoformat()},
    ),
    **{
        (f"api/v1/appointments/<int:pk>/{action}/", "post"): Probe(
            "receptionist",
            "POST",
            lambda w, a=action: f"/api/v1/appointments/{(w.visit if a in ('start',) else w.booked).pk}/{a}/",
            (lambda w: {"reason": "Patient asked"}) if action == "cancel" else None,
        )
        for action in ("cancel", "confirm", "check-in", "start")
    },
    ("api/v1/appointments/<int:pk>/complete/", "post"): Probe(
        "doctor", "POST", lambda w: f"/api/v1/appointments/{w.extra['started'].pk}/complete/"
    ),
    ("api/v1/appointments/<int:pk>/no-show/", "post"): Probe(
        "receptionist", "POST", lambda w: f"/api/v1/appointments/{w.extra['past'].pk}/no-show/"
    ),
    ("api/v1/holds/<int:pk>/confirm/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"/api/v1/holds/{w.extra['hold'].pk}/confirm/",
        lambda w: {"hold_token": w.extra["hold"].hold_token, "patient": _p(w)},
    ),
    ("api/v1/calendar/branches/<int:pk>/day/<isodate:day>/", "get"): Probe(
        "receptionist", "GET", lambda w: f"/api/v1/calendar/branches/{w.clinic.branch.pk}/day/{w.day}/"
    ),
    ("api/v1/calendar/doctors/<int:pk>/week/<isodate:day>/", "get"): Probe(
        "receptionist", "GET", lambda w: f"/api/v1/calendar/doctors/{w.doctor.pk}/week/{w.day}/"
    ),
    # --- FHIR
    ("fhir/R4/Patient", "get"): Probe("receptionist", "GET", lambda w: "/fhir/R4/Patient?name=Coverage"),
    ("fhir/R4/Patient/<int:pk>", "get"): Probe("receptionist", "GET", lambda w: f"/fhir/R4/Patient/{_p(w)}"),
    ("fhir/R4/Appointment", "get"): Probe("receptionist", "GET", lambda w: f"/fhir/R4/Appointment?patient={_p(w)}"),
    ("fhir/R4/Appointment", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: "/fhir/R4/Appointment",
        lambda w: {
            "resourceType": "Appointment",
            "status": "booked",
            "start": w.clinic.at(w.day, 17).isoformat(),
            "serviceType": [{"coding": [{"code": str(w.clinic.service.pk)}]}],
            "participant": [
                {"actor": {"reference": f"Patient/{_p(w)}"}, "status": "accepted"},
                {"actor": {"reference": f"Practitioner/{w.doctor.pk}"}, "status": "accepted"},
                {"actor": {"reference": f"Location/{w.clinic.branch.pk}"}, "status": "accepted"},
            ],
        },
        status=(201,),
    ),
    ("fhir/R4/Appointment/<int:pk>", "get"): Probe(
        "receptionist", "GET", lambda w: f"/fhir/R4/Appointment/{w.booked.pk}"
    ),
    # --- pages
    ("patients/", "*"): Probe("receptionist", "GET", lambda w: "/patients/?q=Coverage"),
    ("patients/new/", "*"): Probe(
        "receptionist",
        "POST",
        lambda w: "/patients/new/",
        lambda w: {"first_name": "Other", "last_name": "Person", "phone": "+447911123456", "sex": "unknown"},
    ),
    ("patients/<int:pk>/", "*"): Probe("receptionist", "GET", lambda w: f"/patients/{_p(w)}/"),
    ("patients/<int:pk>/break-glass/", "*"): Probe(
        "stranger_doctor",
        "POST",
        lambda w: f"/patients/{_p(w)}/break-glass/",
        lambda w: {"reason": "Collapsed at reception, needs history"},
        status=(302,),
    ),
    ("patients/<int:pk>/notes/new/", "*"): Probe("doctor", "GET", lambda w: f"/patients/{_p(w)}/notes/new/"),
    ("patients/<int:pk>/notes/<int:note_pk>/", "*"): Probe(
        "doctor", "GET", lambda w: f"/patients/{_p(w)}/notes/{w.note.pk}/"
    ),
    ("patients/<int:pk>/notes/<int:note_pk>/addenda/", "*"): Probe(
        "doctor",
        "POST",
        lambda w: f"/patients/{_p(w)}/notes/{w.extra['signed'].pk}/addenda/",
        lambda w: {"body": "Swab negative."},
        status=(302,),
    ),
    ("patients/<int:pk>/audit/", "*"): Probe("owner", "GET", lambda w: f"/patients/{_p(w)}/audit/"),
    ("audit/users/<int:pk>/", "*"): Probe("owner", "GET", lambda w: f"/audit/users/{w.doctor.user.pk}/"),
    # --- the clinical record on the chart, merge and change history (frontend.record_views, history_views)
    ("patients/<int:pk>/edit/", "*"): Probe("receptionist", "GET", lambda w: f"/patients/{_p(w)}/edit/"),
    ("patients/<int:pk>/merge/", "*"): Probe("owner", "GET", lambda w: f"/patients/{_p(w)}/merge/?other={w.other.pk}"),
    **{
        (f"patients/<int:pk>/{tail}/", "*"): Probe(
            "doctor", "POST", lambda w, t=tail: f"/patients/{_p(w)}/{t}/", body, status=(302,)
        )
        for tail, body in CHART_RECORD_ENTRIES.items()
    },
    ("patients/<int:pk>/follow-ups/<int:follow_up_pk>/close/", "*"): Probe(
        "doctor",
        "POST",
        lambda w: f"/patients/{_p(w)}/follow-ups/{w.follow_up.pk}/close/",
        lambda w: {"outcome": "done"},
        status=(302,),
    ),
    ("patients/<int:pk>/consent-forms/<int:form_pk>/withdraw/", "*"): Probe(
        "doctor",
        "POST",
        lambda w: f"/patients/{_p(w)}/consent-forms/{w.extra['consent'].pk}/withdraw/",
        lambda w: {f"withdraw-{w.extra['consent'].pk}-reason": "Asked to"},
        status=(302,),
    ),
    ("patients/<int:pk>/history/", "*"): Probe("owner", "GET", lambda w: f"/patients/{_p(w)}/history/"),
    ("appointments/<int:pk>/history/", "*"): Probe("owner", "GET", lambda w: f"/appointments/{w.booked.pk}/history/"),
    ("api/v1/patients/<int:pk>/consent-forms/", "get"): Probe(
        "doctor", "GET", lambda w: f"/api/v1/patients/{_p(w)}/consent-forms/"
    ),
    ("api/v1/patients/<int:pk>/consent-forms/", "post"): Probe(
        "doctor",
        "POST",
        lambda w: f"/api/v1/patients/{_p(w)}/consent-forms/",
        lambda w: {"kind": "treatment", "title": "Consent", "signed_on": str(w.day)},
        status=(201,),
    ),
    ("api/v1/consent-forms/<int:pk>/withdraw/", "post"): Probe(
        "doctor",
        "POST",
        lambda w: f"/api/v1/consent-forms/{w.extra['consent'].pk}/withdraw/",
        lambda w: {"reason": "Asked to"},
    ),
    ("desk/<int:branch_pk>/feed/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/{w.clinic.branch.pk}/feed/?day={w.day}"
    ),
    ("desk/appointments/<int:pk>/panel/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/appointments/{w.booked.pk}/panel/"
    ),
    ("desk/<int:branch_pk>/find/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/{w.clinic.branch.pk}/find/?q=Coverage Probe"
    ),
    ("desk/<int:branch_pk>/walk-in/", "*"): Probe(
        "receptionist",
        "GET",
        lambda w: (
            f"/desk/{w.clinic.branch.pk}/walk-in/?source=phone&day={w.day}&service={w.clinic.service.pk}"
            f"&start={w.clinic.at(w.day, 14).isoformat()}&doctor={w.doctor.pk}&q=Coverage"
        ).replace("+", "%2B"),
    ),
    ("desk/appointments/<int:pk>/move/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/appointments/{w.booked.pk}/move/?day={w.day}"
    ),
    ("my-day/", "*"): Probe("doctor", "GET", lambda w: f"/my-day/?day={w.day}"),
    ("settings/leave/", "*"): Probe(
        "owner",
        "POST",
        lambda w: "/settings/leave/",
        lambda w: {
            "doctor": w.doctor.pk,
            "starts": f"{w.day}T09:00",
            "ends": f"{w.day}T11:00",
            "reason": "Course",
        },
    ),
    ("settings/branches/<int:branch_pk>/hours/", "*"): Probe(
        "owner", "POST", lambda w: f"/settings/branches/{w.clinic.branch.pk}/hours/", _outside_hours
    ),
    ("book/manage/<str:token>/", "*"): Probe("anonymous", "GET", lambda w: f"/book/manage/{w.manage_token}/"),
    ("book/manage/<str:token>/move/", "*"): Probe("anonymous", "GET", lambda w: f"/book/manage/{w.manage_token}/move/"),
    ("book/manage/<str:token>/calendar.ics", "*"): Probe(
        "anonymous", "GET", lambda w: f"/book/manage/{w.manage_token}/calendar.ics"
    ),
    # --- the desk's bookings ahead: the patient search, and a series' appointments
    ("desk/<int:branch_pk>/book/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/{w.clinic.branch.pk}/book/?q=Coverage Probe"
    ),
    ("desk/series/<int:pk>/", "*"): Probe("receptionist", "GET", lambda w: f"/desk/series/{w.extra['series'].pk}/"),
    # --- set-up pages: a change refused because it would strand booked appointments lists them
    ("settings/branches/<int:branch_pk>/calendar/", "*"): Probe(
        "owner",
        "POST",
        lambda w: f"/settings/branches/{w.clinic.branch.pk}/calendar/",
        lambda w: {"end_shift": _monday_of(w).pk, "last_day": str(w.day - timedelta(days=1))},
    ),
    ("settings/shifts/<int:pk>/", "*"): Probe(
        "owner",
        "POST",
        lambda w: f"/settings/shifts/{_monday_of(w).pk}/",
        lambda w: {"starts": "13:00", "ends": "20:00", "from_day": str(w.day)},
    ),
    ("settings/extra-shifts/<int:pk>/", "*"): Probe(
        "owner",
        "POST",
        lambda w: f"/settings/extra-shifts/{w.extra['extra_shift'].pk}/",
        lambda w: {"date": str(w.day + timedelta(days=1)), "starts": "20:00", "ends": "21:00"},
    ),
    ("settings/branches/<int:branch_pk>/special-days/<int:pk>/", "*"): Probe(
        "owner",
        "POST",
        lambda w: f"/settings/branches/{w.clinic.branch.pk}/special-days/{w.extra['special_day'].pk}/",
        lambda w: {"date": str(w.day), "opens": "13:00", "closes": "20:00"},
    ),
    ("portal/", "*"): Probe("patient", "GET", lambda w: "/portal/"),
    ("portal/details/", "*"): Probe("patient", "GET", lambda w: "/portal/details/"),
    ("portal/appointments/<int:pk>/change/", "*"): Probe(
        "patient", "GET", lambda w: f"/portal/appointments/{w.booked.pk}/change/"
    ),
    # --- dragging a visit's end on the book answers the appointment
    ("api/v1/appointments/<int:pk>/resize/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"/api/v1/appointments/{w.booked.pk}/resize/",
        lambda w: {"end": w.clinic.at(w.day, 10, 45).isoformat()},
    ),
    # --- the ledger: an invoice, and what is paid or credited on it, answers the patient it bills
    ("api/v1/invoicing/invoices/", "get"): Probe("billing", "GET", lambda w: f"{LEDGER}/invoices/?patient={_p(w)}"),
    ("api/v1/invoicing/invoices/<int:pk>/", "get"): Probe(
        "receptionist", "GET", lambda w: f"{LEDGER}/invoices/{_invoice(w).pk}/"
    ),
    ("api/v1/invoicing/invoices/<int:pk>/issue/", "post"): Probe(
        "billing", "POST", lambda w: f"{LEDGER}/invoices/{w.extra['draft'].pk}/issue/"
    ),
    ("api/v1/invoicing/invoices/<int:pk>/void/", "post"): Probe(
        "billing",
        "POST",
        lambda w: f"{LEDGER}/invoices/{_invoice(w).pk}/void/",
        lambda w: {"reason": "Raised in error"},
    ),
    ("api/v1/invoicing/invoices/<int:pk>/payments/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"{LEDGER}/invoices/{_invoice(w).pk}/payments/",
        lambda w: {"method": "cash", "amount_minor": 2000},
        status=(201,),
    ),
    ("api/v1/invoicing/invoices/<int:pk>/credit-notes/", "post"): Probe(
        "billing",
        "POST",
        lambda w: f"{LEDGER}/invoices/{_invoice(w).pk}/credit-notes/",
        lambda w: {"amount_minor": 1000, "reason": "Goodwill"},
        status=(201,),
    ),
    ("api/v1/invoicing/payments/<int:pk>/refunds/", "post"): Probe(
        "billing",
        "POST",
        lambda w: f"{LEDGER}/payments/{w.extra['payment'].pk}/refunds/",
        lambda w: {"amount_minor": 500, "reason": "Overcharged"},
        status=(201,),
    ),
    ("api/v1/invoicing/appointments/<int:pk>/invoice/", "post"): Probe(
        "billing", "POST", lambda w: f"{LEDGER}/appointments/{w.visit.pk}/invoice/", status=(201,)
    ),
    ("api/v1/invoicing/patients/<int:pk>/balance/", "get"): Probe(
        "receptionist", "GET", lambda w: f"{LEDGER}/patients/{_p(w)}/balance/"
    ),
    # --- session packages: a patient's purchases, the sessions booked on them, the desk's package line
    ("api/v1/packages/patients/<int:pk>/purchases/", "get"): Probe(
        "receptionist", "GET", lambda w: f"/api/v1/packages/patients/{_p(w)}/purchases/"
    ),
    ("api/v1/packages/patients/<int:pk>/purchases/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"/api/v1/packages/patients/{_p(w)}/purchases/",
        lambda w: {"product": w.extra["package_product"].pk, "branch": w.clinic.branch.pk},
        status=(201,),
    ),
    ("api/v1/packages/patients/<int:pk>/pending-sessions/", "get"): Probe(
        "receptionist", "GET", lambda w: f"/api/v1/packages/patients/{_p(w)}/pending-sessions/"
    ),
    ("api/v1/packages/appointments/<int:pk>/release/", "post"): Probe(
        "receptionist", "POST", lambda w: f"/api/v1/packages/appointments/{w.extra['package_visit'].pk}/release/"
    ),
    ("api/v1/packages/appointments/<int:pk>/use/", "post"): Probe(
        "receptionist", "POST", lambda w: f"/api/v1/packages/appointments/{w.extra['package_visit'].pk}/use/"
    ),
    ("api/v1/packages/purchases/<int:pk>/cancel/", "post"): Probe(
        "billing",
        "POST",
        lambda w: f"/api/v1/packages/purchases/{w.extra['package_purchase'].pk}/cancel/",
        lambda w: {"reason": "Moved away", "give_back": "none"},
    ),
    ("patients/<int:pk>/packages/<int:purchase_pk>/cancel/", "*"): Probe(
        "billing", "GET", lambda w: f"/patients/{_p(w)}/packages/{w.extra['package_purchase'].pk}/cancel/"
    ),
    ("patients/<int:pk>/packages/", "*"): Probe("receptionist", "GET", lambda w: f"/patients/{_p(w)}/packages/"),
    ("packages/appointments/<int:pk>/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/packages/appointments/{w.extra['package_visit'].pk}/"
    ),
    ("portal/packages/", "*"): Probe("patient", "GET", lambda w: "/portal/packages/"),
    ("api/v1/invoicing/receivables/", "get"): Probe("billing", "GET", lambda w: f"{LEDGER}/receivables/"),
    # --- the billing pages and the invoice's PDF: the invoices, balances and payments of the patient they bill
    ("api/v1/invoicing/invoices/<int:pk>/pdf/", "get"): Probe(
        "billing", "GET", lambda w: f"{LEDGER}/invoices/{_invoice(w).pk}/pdf/"
    ),
    ("billing/", "*"): Probe("billing", "GET", lambda w: "/billing/"),
    ("billing/invoices/<int:pk>/", "*"): Probe("receptionist", "GET", lambda w: f"/billing/invoices/{_invoice(w).pk}/"),
    ("billing/invoices/<int:pk>/print/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/billing/invoices/{_invoice(w).pk}/print/"
    ),
    ("billing/invoices/<int:pk>/pdf/", "*"): Probe(
        "billing", "GET", lambda w: f"/billing/invoices/{_invoice(w).pk}/pdf/"
    ),
    ("billing/patients/<int:pk>/", "*"): Probe("receptionist", "GET", lambda w: f"/billing/patients/{_p(w)}/"),
    # --- a credit note's page and PDF name the patient of the invoice it credits
    ("billing/credit-notes/<int:pk>/", "*"): Probe(
        "billing", "GET", lambda w: f"/billing/credit-notes/{w.extra['credit_note'].pk}/"
    ),
    ("billing/credit-notes/<int:pk>/pdf/", "*"): Probe(
        "billing", "GET", lambda w: f"/billing/credit-notes/{w.extra['credit_note'].pk}/pdf/"
    ),
    # --- fees and the card on file: the fees list names each fee's patient; the card (or its absence) is the patient's
    ("api/v1/invoicing/fees/", "get"): Probe("billing", "GET", lambda w: f"{LEDGER}/fees/"),
    ("api/v1/invoicing/fees/<int:pk>/waive/", "post"): Probe(
        "billing", "POST", lambda w: f"{LEDGER}/fees/{w.extra['fee'].pk}/waive/", lambda w: {"reason": "Goodwill"}
    ),
    ("billing/fees/", "*"): Probe("billing", "GET", lambda w: "/billing/fees/"),
    # --- what patients texted back (their texts and what was done)
    ("messages/replies/", "*"): Probe("receptionist", "GET", lambda w: "/messages/replies/"),
    # --- p15 templates: the message log, a message, sending it again, a patient's messages
    ("messages/", "*"): Probe("receptionist", "GET", lambda w: "/messages/"),
    ("messages/<int:pk>/", "*"): Probe("receptionist", "GET", lambda w: f"/messages/{w.extra['message'].pk}/"),
    ("patients/<int:pk>/messages/", "*"): Probe("receptionist", "GET", lambda w: f"/patients/{_p(w)}/messages/"),
    ("api/v1/messages/", "get"): Probe("receptionist", "GET", lambda w: "/api/v1/messages/"),
    ("api/v1/messages/<int:pk>/", "get"): Probe(
        "receptionist", "GET", lambda w: f"/api/v1/messages/{w.extra['message'].pk}/"
    ),
    ("api/v1/messages/<int:pk>/resend/", "post"): Probe(
        "receptionist", "POST", lambda w: f"/api/v1/messages/{w.extra['message'].pk}/resend/", status=(201,)
    ),
    ("api/v1/invoicing/patients/<int:pk>/card/", "get"): Probe(
        "receptionist", "GET", lambda w: f"{LEDGER}/patients/{_p(w)}/card/"
    ),
    ("patients/<int:pk>/card/", "*"): Probe("receptionist", "GET", lambda w: f"/patients/{_p(w)}/card/"),
    ("billing/visits/<int:pk>/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/billing/visits/{_invoice(w).appointment_id}/"
    ),
    # --- the day's takings name each payment's patient; a payment towards the balance names its invoices
    ("billing/takings/", "*"): Probe("receptionist", "GET", lambda w: "/billing/takings/"),
    ("api/v1/invoicing/takings/", "get"): Probe("receptionist", "GET", lambda w: f"{LEDGER}/takings/"),
    ("api/v1/invoicing/patients/<int:pk>/payments/", "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"{LEDGER}/patients/{_p(w)}/payments/",
        lambda w: {"method": "cash", "amount_minor": 2000, "currency": _invoice(w).currency},
        status=(201,),
    ),
}


WAITLIST = "api/v1/scheduling/waitlist/"
SHOWS_PATIENTS |= {
    ("desk/<int:branch_pk>/waitlist/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/{w.clinic.branch.pk}/waitlist/"
    ),
    ("desk/<int:branch_pk>/waitlist/offers/", "*"): Probe(
        "receptionist", "GET", lambda w: f"/desk/{w.clinic.branch.pk}/waitlist/offers/"
    ),
    ("waitlist/<str:token>/", "*"): Probe("anonymous", "GET", lambda w: f"/waitlist/{w.extra['waitlist_token']}/"),
    ("waitlist/offer/<str:token>/", "*"): Probe(
        "anonymous", "GET", lambda w: f"/waitlist/offer/{w.extra['offer_token']}/"
    ),
    (WAITLIST, "get"): Probe("receptionist", "GET", lambda w: f"/{WAITLIST}"),
    (WAITLIST, "post"): Probe(
        "receptionist",
        "POST",
        lambda w: f"/{WAITLIST}",
        lambda w: {
            "patient": w.patient.pk,
            "branch": w.clinic.branch.pk,
            "service": w.clinic.service.pk,
            "date_from": str(w.day),
            "date_to": str(w.day + timedelta(days=2)),
            "time_from": "14:00",
            "time_to": "18:00",
        },
        status=(201,),
    ),
    (WAITLIST + "<int:pk>/", "delete"): Probe(
        "receptionist", "DELETE", lambda w: f"/{WAITLIST}{w.extra['waitlist_entry'].pk}/"
    ),
    (WAITLIST + "offers/", "get"): Probe("receptionist", "GET", lambda w: f"/{WAITLIST}offers/"),
}


# The work lists (reporting/worklists.py): the world's follow-up is due in 14 days (on the list), its
# visit's invoice is owed (_prepare_ledger), its package has sessions left (_prepare_packages).
WORKLISTS = {"call-backs": "receptionist", "receivables": "billing", "packages": "billing"}
SHOWS_PATIENTS |= {
    **{
        (f"api/v1/reports/{name}/", "get"): Probe(who, "GET", lambda w, n=name: f"/api/v1/reports/{n}/")
        for name, who in WORKLISTS.items()
    },
    **{
        (f"reports/{name}/", "*"): Probe(who, "GET", lambda w, n=name: f"/reports/{n}/")
        for name, who in WORKLISTS.items()
    },
}


# The reports (reporting/api/views.py): the figures, money, messages and load are sums; the list behind
# a figure names each appointment's patient (the world's booked visit is one of the day's bookings).
NO_PATIENT_DATA |= {
    (f"api/v1/reports/{name}/", "get"): "sums per branch, doctor, service, day, channel or currency: no patient"
    for name in ("figures", "money", "messages", "load")
}
SHOWS_PATIENTS |= {
    ("api/v1/reports/appointments/", "get"): Probe(
        "owner", "GET", lambda w: f"/api/v1/reports/appointments/?figure=bookings&from={w.day}&to={w.day}"
    ),
}


# The reports' pages (frontend/report_views.py): the dashboards are sums and doctors' names; the list
# behind a figure names each appointment's patient (the world's booked visit is one of the day's bookings).
NO_PATIENT_DATA |= {
    (route, "*"): "sums per branch, doctor, service, day or currency, and the doctors' names: no patient"
    for route in ("reports/", "reports/overview/", "reports/branches/<int:pk>/", "reports/doctors/<int:pk>/")
}
SHOWS_PATIENTS |= {
    ("reports/appointments/", "*"): Probe(
        "owner", "GET", lambda w: f"/reports/appointments/?figure=bookings&from={w.day}&to={w.day}"
    ),
}


def _classified(op: tuple[str, str]) -> bool:
    # Sign-in, two-factor, passwords and API tokens are the caller's own account, whatever is added.
    return op in SHOWS_PATIENTS or op in NO_PATIENT_DATA or op[0].startswith(ACCOUNT_PREFIXES)


def test_every_route_and_operation_is_classified() -> None:
    tenant = operations(TENANT)
    missing = sorted(op for op in tenant if not _classified(op))
    assert not missing, f"say whether these show patient data (and probe them if they do): {missing}"
    stale = sorted(op for op in SHOWS_PATIENTS if op not in tenant)
    assert not stale, f"probes of routes that no longer exist: {stale}"
    # The platform site serves no chain data at all; its routes are listed so that one that starts
    # to (a chain's data reached from the platform) has to be looked at.
    public_routes = {route for route, _ in operations(PUBLIC)}
    assert all(not route.startswith(("patients", "desk", "fhir", "portal", "book")) for route in public_routes)
    assert PUBLIC_NO_PATIENT_DATA


# --- running a probe -------------------------------------------------------------------------------
def _prepare(w: World, op: tuple[str, str]) -> None:
    """The extra state a probe needs (made here, not in the world, to keep the world small)."""
    route = op[0]
    owner, receptionist = w.owner, w.chain.users["receptionist"]
    if route.endswith("complete/"):
        started = sched.appointment_start(actor=w.doctor.user, appointment=w.visit)
        w.extra["started"] = started
    if route.endswith("no-show/"):
        w.extra["past"] = _started_an_hour_ago(w)
    if route == "api/v1/holds/<int:pk>/confirm/":
        w.extra["hold"] = sched.appointment_hold(
            actor=receptionist,
            doctor=w.doctor,
            branch=w.clinic.branch,
            service=w.clinic.service,
            start=w.clinic.at(w.day, 18),
            source="staff",
        )
    if route == "api/v1/appointments/walk-in/":
        branch = daytime_branch(w.chain)
        w.chain.users["receptionist"].staff.branches.add(branch)
        w.extra["walk_in"] = clinic_setup(
            w.chain, branch=branch, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55))
        )
    if route == "api/v1/patients/<int:pk>/care-team/<int:doctor_pk>/":
        patients.care_team_assign(actor=owner, patient=w.patient, doctor=w.stranger_doctor)
        w.extra["assigned"] = w.stranger_doctor
    if route == "audit/emergency-access/":
        patients.break_glass_open(actor=w.stranger_doctor.user, patient=w.patient, reason="Collapsed in the hall")
    if route == "desk/series/<int:pk>/":
        w.extra["series"], _ = sched.series_book(
            actor=receptionist,
            patient=w.patient,
            doctor=w.stranger_doctor,
            branch=w.clinic.branch,
            service=w.clinic.service,
            first_start=w.clinic.at(w.day, 9),
            count=2,
        )
    if route == "settings/extra-shifts/<int:pk>/":
        # an evening fitted in past the branch's hours (an override), in an extra shift of its own
        sched.appointment_book(
            actor=owner,
            patient=w.patient,
            doctor=w.doctor,
            branch=w.clinic.branch,
            service=w.clinic.service,
            start=w.clinic.at(w.day, 20),
            override=True,
            override_reason="Evening clinic",
        )
        w.extra["extra_shift"] = sched.extra_shift_create(
            actor=owner, doctor=w.doctor, branch=w.clinic.branch, day=w.day, starts=time(20), ends=time(21)
        )
    if route == "settings/branches/<int:branch_pk>/special-days/<int:pk>/":
        w.extra["special_day"] = sched.special_day_create(
            actor=owner, branch=w.clinic.branch, day=w.day, opens=time(7), closes=time(20), note="Long day"
        )
    if route in (
        "patients/<int:pk>/consent-forms/<int:form_pk>/withdraw/",
        "api/v1/consent-forms/<int:pk>/withdraw/",
        "api/v1/patients/<int:pk>/consent-forms/",
    ):
        from patients.services import consent_form_record

        w.extra["consent"] = consent_form_record(
            actor=w.doctor.user, patient=w.patient, kind="treatment", title="Consent", signed_on=w.day
        )
    if route in ("patients/<int:pk>/notes/<int:note_pk>/addenda/", "api/v1/notes/<int:pk>/addenda/"):
        w.extra["signed"] = patients.note_sign(actor=w.doctor.user, note=w.note)
    if route == "api/v1/appointments/<int:pk>/resize/":
        sched.service_update(actor=owner, service=w.clinic.service, length_adjustable=True)
    if route.startswith(("api/v1/invoicing/", "billing/", "api/v1/reports/receivables/", "reports/receivables/")):
        _prepare_ledger(w, route)
    if route.startswith(("api/v1/invoicing/fees/", "billing/fees/")):
        _prepare_fee(w)
    if route.startswith("billing/credit-notes/"):
        from invoicing.services.credit_notes import credit_note_issue

        w.extra["credit_note"] = credit_note_issue(
            actor=w.owner, invoice=_invoice(w), amount_minor=1000, reason="Goodwill"
        )
    if route.startswith(("api/v1/packages/", "patients/<int:pk>/packages/", "packages/")):
        _prepare_packages(w)
    if route in ("api/v1/reports/packages/", "reports/packages/"):
        _prepare_packages(w)
    if route in ("messages/", "messages/<int:pk>/", "patients/<int:pk>/messages/") or (
        route.startswith("api/v1/messages/") and "templates" not in route and "settings" not in route
    ):
        _prepare_message(w)
    if "waitlist/" in route:
        _prepare_waitlist(w, op)
    if route == "messages/replies/":
        from notifications.replies import Inbound, inbound_message_receive
        from tests.notifications.twilio_signing import own_service

        service = own_service(w.clinic.chain)
        inbound_message_receive(
            inbound=Inbound(
                sid=f"SM{uuid.uuid4().hex}", from_number=w.patient.phone, body="?", messaging_service_sid=service
            )
        )


def _prepare_waitlist(w: World, op: tuple[str, str]) -> None:
    """The patient waits for an afternoon on the world's day; another patient's time then frees up
    and is offered to them (the offer's link from its message, as the patient clicks it)."""
    from tests.scheduling.waitlist_world import link_token

    if op == (WAITLIST, "post"):
        return  # the POST joins the patient itself
    joined = sched.waitlist_join(
        actor=w.owner,
        patient=w.patient,
        branch=w.clinic.branch,
        service=w.clinic.service,
        doctor=None,
        window=sched.Window(
            date_from=w.day, date_to=w.day + timedelta(days=2), time_from=time(14), time_to=time(18), weekdays=[]
        ),
    )
    w.extra["waitlist_entry"], w.extra["waitlist_token"] = joined.entry, joined.token
    freed = sched.appointment_book(
        actor=w.owner,
        patient=w.other,
        doctor=w.stranger_doctor,
        branch=w.clinic.branch,
        service=w.clinic.service,
        start=w.clinic.at(w.day, 15),
    )
    sched.appointment_cancel(actor=w.owner, appointment=freed, reason="patient called")
    offer = joined.entry.offers.get()
    w.extra["offer_token"] = link_token(offer)


def _prepare_message(w: World) -> None:
    """A reminder of the patient's booked appointment that bounced (e-mail: no recorded consent needed)."""
    from notifications.models import Channel, Kind, Message, MessageStatus
    from notifications.outbox import message_enqueue

    message = message_enqueue(
        kind=Kind.REMINDER,
        channel=Channel.EMAIL,
        recipient=w.patient.email,
        due_at=timezone.now() - timedelta(minutes=5),
        patient_id=w.patient.pk,
        appointment_id=w.booked.pk,
        branch_id=w.booked.branch_id,
    )
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, attempts=1, last_error="bounced")
    w.extra["message"] = message


def _started_an_hour_ago(w: World) -> Any:
    """An appointment of the patient that started an hour ago: booked yesterday, outside the plan
    (an override)."""
    start = (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    return sched.appointment_book(
        actor=w.owner,
        patient=w.patient,
        doctor=w.stranger_doctor,
        branch=w.clinic.branch,
        service=w.clinic.service,
        start=start,
        override=True,
        override_reason="Fitted in by the owner",
        now=start - timedelta(days=1),
    )


def _prepare_fee(w: World) -> None:
    """A no-show fee the patient owes (no card on file: it waits for the desk)."""
    from invoicing.fees import FeeCharge, FeeRule
    from invoicing.services.fees import FeeRuleIn, fee_policy_update

    fee_policy_update(actor=w.owner, no_show=FeeRuleIn(FeeRule.FIXED, amount_minor=2500), late_cancellation=FeeRuleIn())
    missed = sched.appointment_mark_no_show(actor=w.chain.users["receptionist"], appointment=_started_an_hour_ago(w))
    w.extra["fee"] = FeeCharge.objects.get(appointment=missed)


def _prepare_packages(w: World) -> None:
    """A package of the clinic's service sold to the patient, and a visit booked on it (a session reserved)."""
    from packages import services as pkg

    product = pkg.product_create(
        actor=w.owner, name="Probe 5", services=[w.clinic.service], sessions=5, price_minor=10000, validity_days=365
    )
    w.extra["package_product"] = product
    w.extra["package_purchase"] = pkg.package_sell(
        actor=w.owner, product=product, patient=w.patient, branch=w.clinic.branch
    )
    w.extra["package_visit"] = sched.appointment_book(
        actor=w.owner,
        patient=w.patient,
        doctor=w.stranger_doctor,
        branch=w.clinic.branch,
        service=w.clinic.service,
        start=w.clinic.at(w.day, 21),
        override=True,
        override_reason="Package probe",
    )


def _prepare_ledger(w: World, route: str) -> None:
    """The world's visit completed at a price: its invoice issued (or, to raise it by hand, not
    raised), a payment on it to refund, a draft to issue."""
    owner, receptionist = w.owner, w.chain.users["receptionist"]
    sched.service_update(actor=owner, service=w.clinic.service, price_minor=LEDGER_PRICE)
    visit = sched.appointment_start(actor=w.doctor.user, appointment=w.visit)
    if route == "api/v1/invoicing/appointments/<int:pk>/invoice/":
        with _no_invoice_on_completion():
            sched.appointment_complete(actor=w.doctor.user, appointment=visit)
        return
    sched.appointment_complete(actor=w.doctor.user, appointment=visit)
    w.extra["invoice"] = Invoice.objects.get(appointment_id=visit.pk)
    if route == "api/v1/invoicing/payments/<int:pk>/refunds/":
        w.extra["payment"] = billing.payment_record(
            actor=receptionist, invoice=w.extra["invoice"], method="cash", amount_minor=LEDGER_PRICE
        )
    if route in ("billing/takings/", "api/v1/invoicing/takings/"):
        billing.payment_record(actor=receptionist, invoice=w.extra["invoice"], method="cash", amount_minor=1000)
    if route == "api/v1/invoicing/invoices/<int:pk>/issue/":
        w.extra["draft"] = billing.invoice_draft_create(
            actor=owner,
            patient=w.patient,
            branch=w.clinic.branch,
            lines=[billing.LineIn(description="Dressing", unit_price_minor=1500)],
        )


@contextmanager
def _no_invoice_on_completion() -> Iterator[None]:
    """Completing a visit raises its invoice; without that, billing raises it by hand (the API)."""
    handlers = events._subscribers[AppointmentCompleted]
    handlers.remove(invoice_completed_visit)
    try:
        yield
    finally:
        handlers.append(invoice_completed_visit)


def _monday_of(w: World) -> Any:
    """The weekly shift of the world's doctor on the world's day (09:00 and 12:00 are booked in it)."""
    from scheduling.models import ShiftPattern

    return ShiftPattern.objects.get(doctor=w.doctor, weekday=w.day.weekday())


def _client_for(w: World, who: str, api_call: bool) -> Any:
    if who == "anonymous":
        return Client(HTTP_HOST=w.chain.host)
    user = {
        "doctor": w.doctor.user,
        "stranger_doctor": w.stranger_doctor.user,
        "patient": w.portal_user,
    }.get(who) or w.chain.users[who]
    if api_call:
        return Api(w.chain.host, user.email)
    client = Client(HTTP_HOST=w.chain.host)
    with schema_context(w.chain.schema):
        sign_in(client, user)  # past the second factor owners owe
    return client


def _send(client: Any, probe: Probe, w: World, api_call: bool) -> Any:
    path = probe.path(w)
    body = probe.body(w) if probe.body else None
    if isinstance(client, Api):
        if body and any(isinstance(v, SimpleUploadedFile) for v in body.values()):
            return client.client.post(path, body)  # multipart
        return client.call(probe.method, path, body)
    if probe.method == "GET":
        return client.get(path)
    return client.post(path, body or {})


@pytest.mark.parametrize("op", sorted(SHOWS_PATIENTS), ids=lambda op: f"{op[1]} {op[0]}")
def test_every_read_of_patient_data_is_in_the_access_log(world: World, op: tuple[str, str]) -> None:
    # given the world on the morning of its appointments, and whatever this probe needs
    on_the_day = time_machine.travel(world.clinic.at(world.day, 8), tick=True)
    on_the_day.start()
    probe = SHOWS_PATIENTS[op]
    _prepare(world, op)
    api_call = op[0].startswith(("api/", "fhir/"))
    client = _client_for(world, probe.who, api_call)
    patient = probe.patient(world)
    before = AccessLog.objects.filter(patient_id=patient.pk).values_list("id", flat=True)
    seen = set(before)
    # when the probe asks
    response = _send(client, probe, world, api_call)
    # then it was answered as expected, and the log has a row for the patient it showed
    assert response.status_code in probe.status, (response.status_code, getattr(response, "content", b"")[:400])
    rows = AccessLog.objects.filter(patient_id=patient.pk).exclude(id__in=seen)
    on_the_day.stop()
    assert rows.exists(), f"{op}: no access-log row for the patient it showed"
    if probe.who != "anonymous":
        expected = {
            "doctor": world.doctor.user,
            "stranger_doctor": world.stranger_doctor.user,
            "patient": world.portal_user,
        }.get(probe.who) or world.chain.users[probe.who]
        assert rows.filter(actor_id=expected.pk).exists(), f"{op}: logged, but not as its reader"


def test_the_answer_of_a_probe_really_shows_the_patient(world: World) -> None:
    # The probes are only as good as their requests: spot-check that a few really show the patient.
    for op in [
        ("desk/<int:branch_pk>/walk-in/", "*"),
        ("desk/appointments/<int:pk>/move/", "*"),
        ("patients/new/", "*"),
    ]:
        probe = SHOWS_PATIENTS[op]
        client = _client_for(world, probe.who, False)
        response = _send(client, probe, world, False)
        assert b"Coverage" in response.content, op
    response = _send(
        _client_for(world, "receptionist", True), SHOWS_PATIENTS[("api/v1/patients/", "post")], world, True
    )
    assert json.loads(response.content)["error"]["code"] == "possible_duplicates"
