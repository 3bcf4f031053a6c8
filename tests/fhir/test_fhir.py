"""FHIR R4: every answer is R4 (fhirclient's 4.0.1 models) and R4B (fhir.resources); searches page
with a true total and links, read dates at any precision with prefixes and identifiers with their
system; Slot reads; Appointment create goes through the booking door, honours end and minutesDuration,
and refuses as an OperationOutcome that names the field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django_tenants.utils import schema_context
from rest_framework import exceptions as drf

from config.errors import Conflict
from patients.models import Patient
from patients.services import patient_create
from scheduling import services as sched
from scheduling.fhir import outcomes
from scheduling.fhir.exceptions import Unprocessable
from scheduling.models import Appointment
from tenants.audit.models import AccessLog
from tests.factories.scheduling import clinic_setup
from tests.fhir.conftest import FHIR, Fhir, World, outcome_issues, r4_valid

TYPES = {
    ("Patient", "identifier"): "token",
    ("Patient", "name"): "string",
    ("Patient", "birthdate"): "date",
    ("Patient", "phone"): "token",
    ("Schedule", "actor"): "reference",
    ("Slot", "schedule"): "reference",
    ("Slot", "start"): "date",
    ("Slot", "service-type"): "token",
    ("Appointment", "patient"): "reference",
    ("Appointment", "practitioner"): "reference",
    ("Appointment", "location"): "reference",
    ("Appointment", "date"): "date",
    ("Appointment", "status"): "token",
}


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def _link(bundle: dict[str, Any], relation: str) -> str | None:
    url = next((link["url"] for link in bundle.get("link", []) if link["relation"] == relation), None)
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _slot_search(w: World, day: date) -> str:
    doctor, branch, service = w.clinic.doctors[0], w.clinic.branch, w.clinic.service
    return (
        f"/fhir/R4/Slot?schedule=Schedule/d{doctor.pk}-b{branch.pk}&service-type={service.pk}"
        f"&start=ge{day}&start=lt{day + timedelta(days=1)}"
    )


def test_capability_statement_declares_every_parameter_with_its_type(api, chain_a):
    # when anyone asks for the CapabilityStatement
    body = Fhir(api(chain_a)).get("/fhir/R4/metadata")
    # then it is R4 and each search parameter has the type FHIR gives it
    assert body["fhirVersion"] == "4.0.1"
    declared = {(r["type"], p["name"]): p["type"] for r in body["rest"][0]["resource"] for p in r["searchParam"]}
    for key, kind in TYPES.items():
        assert declared[key] == kind, key
    slot = next(r for r in body["rest"][0]["resource"] if r["type"] == "Slot")
    assert {"read", "search-type"} <= {i["code"] for i in slot["interaction"]}
    assert "strict" in body["rest"][0]["documentation"]


def test_every_resource_reads_and_validates(world):
    w = world
    doctor, branch, service = w.clinic.doctors[0], w.clinic.branch, w.clinic.service
    slot_id = world.fhir.get(_slot_search(w, w.day))["entry"][0]["resource"]["id"]
    reads = [
        f"/fhir/R4/Patient/{w.patient.pk}",
        f"/fhir/R4/Practitioner/{doctor.pk}",
        f"/fhir/R4/Location/{branch.pk}",
        f"/fhir/R4/HealthcareService/{service.pk}",
        f"/fhir/R4/Schedule/d{doctor.pk}-b{branch.pk}",
        f"/fhir/R4/Slot/{slot_id}",
        f"/fhir/R4/Appointment/{w.booked.pk}",
    ]
    for path in reads:
        assert w.fhir.get(path)["id"] == path.rsplit("/", 1)[1]
    assert w.fhir.get(f"/fhir/R4/Patient/{w.patient.pk}")["identifier"][0]["value"] == w.patient.mrn
    with schema_context(w.chain.schema):
        assert AccessLog.objects.filter(
            object_type="patient", action="view", patient_id=w.patient.pk, path=f"/fhir/R4/Patient/{w.patient.pk}"
        ).exists()


def test_searches_return_bundles_with_the_true_total(world):
    w = world
    p, day, doctors = w.patient.pk, w.day, w.clinic.doctors
    searches = [
        (f"/fhir/R4/Patient?name={w.patient.first_name[:4]}", 1),
        (f"/fhir/R4/Patient?identifier={w.patient.mrn}", 1),
        (f"/fhir/R4/Schedule?actor=Practitioner/{doctors[0].pk}", 1),
        (f"/fhir/R4/Schedule?actor=Practitioner/{doctors[0].pk},Practitioner/{doctors[1].pk}", 2),
        (f"/fhir/R4/Appointment?patient=Patient/{p}", 2),
        (f"/fhir/R4/Appointment?patient={p}&status=booked", 1),
        (f"/fhir/R4/Appointment?patient=Patient/{p}&status=cancelled", 1),
        (f"/fhir/R4/Appointment?patient=Patient/{p}&status=booked,cancelled", 2),
        (f"/fhir/R4/Appointment?patient=Patient/{p}&status=http://hl7.org/fhir/appointmentstatus|booked", 1),
        (f"/fhir/R4/Appointment?patient=Patient/{p}&date=ge{day}&date=lt{day}T12:00:00Z", 1),
        (f"/fhir/R4/Appointment?date={day}&practitioner=Practitioner/{doctors[1].pk}", 1),
    ]
    for path, expected in searches:
        body = w.fhir.get(path)
        assert body["total"] == expected, path
        assert len(body.get("entry", [])) == expected, path
        for entry in body.get("entry", []):
            resource = entry["resource"]
            assert entry["fullUrl"].endswith(f"/{resource['resourceType']}/{resource['id']}")
    assert _ids(w.fhir.get(f"/fhir/R4/Appointment?patient=Patient/{p}&status=booked")) == [str(w.booked.pk)]
    for path in ("/fhir/R4/Practitioner", "/fhir/R4/Location", "/fhir/R4/HealthcareService"):
        assert w.fhir.get(path)["total"] >= 1


def test_search_pages_with_self_next_previous_and_a_true_total(world):
    # given seven patients of one family
    w = world
    with schema_context(w.chain.schema):
        made = [patient_create(actor=w.clinic.owner, first_name=f"Kid{i}", last_name="Pagewell").pk for i in range(7)]
    # when a client pages three at a time from the first answer's links
    first = w.fhir.get("/fhir/R4/Patient?name=Pagewell&_count=3")
    seen, page, pages = [], first, 0
    while True:
        pages += 1
        assert page["total"] == 7
        seen += _ids(page)
        next_url = _link(page, "next")
        if next_url is None:
            break
        page = w.fhir.get(next_url)
    # then every patient comes once, in three pages, and the links say where they are
    assert sorted(int(i) for i in seen) == sorted(made)
    assert pages == 3
    assert _link(first, "previous") is None
    assert _link(first, "self") == "/fhir/R4/Patient?name=Pagewell&_count=3&_offset=0"
    assert _link(page, "previous") == "/fhir/R4/Patient?name=Pagewell&_count=3&_offset=3"
    assert _link(first, "last") == "/fhir/R4/Patient?name=Pagewell&_count=3&_offset=6"
    # and _count is bounded, 0 asks for the total only
    assert _link(w.fhir.get("/fhir/R4/Patient?name=Pagewell&_count=5000"), "self").endswith("_count=200&_offset=0")
    only_total = w.fhir.get("/fhir/R4/Patient?name=Pagewell&_count=0")
    assert only_total["total"] == 7
    assert "entry" not in only_total


def test_more_than_a_hundred_matches_are_all_counted_and_reachable(world):
    # given 120 appointments of one doctor over eight days
    w = world
    doctor = w.clinic.doctors[1]
    with schema_context(w.chain.schema):
        patient = w.clinic.patient("Many")
        made = 0
        for d in range(1, 9):
            for hh in range(9, 17):
                for mm in (0, 30):
                    if made == 120:
                        break
                    sched.appointment_book(
                        actor=w.clinic.owner,
                        patient=patient,
                        doctor=doctor,
                        branch=w.clinic.branch,
                        service=w.clinic.service,
                        start=w.clinic.at(w.day + timedelta(days=d), hh, mm),
                    )
                    made += 1
    # when the client asks for them all
    path: str | None = f"/fhir/R4/Appointment?patient=Patient/{patient.pk}&_count=200"
    body = w.fhir.get(path)
    # then the total is the true count (not capped at 100) and all are on the page
    assert body["total"] == 120
    assert len(body["entry"]) == 120
    assert _link(body, "next") is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("birthdate=1984", {"may", "nov"}),
        ("birthdate=1984-05", {"may"}),
        ("birthdate=eq1984-05-17", {"may"}),
        ("birthdate=1984-05-17T10:00:00Z", set()),  # the day is not within that second
        ("birthdate=ne1984", {"jan"}),
        ("birthdate=gt1984-05", {"nov", "jan"}),
        ("birthdate=ge1984-05", {"may", "nov", "jan"}),
        ("birthdate=lt1984-06", {"may"}),
        ("birthdate=le1984-11", {"may", "nov"}),
        ("birthdate=sa1984", {"jan"}),
        ("birthdate=eb1985", {"may", "nov"}),
        ("birthdate=ap1985-01-01", {"may", "nov", "jan"}),  # 10% of ~40 years either side
        ("birthdate=ap1900-01-01", set()),
        ("birthdate=ge1984&birthdate=lt1985", {"may", "nov"}),
        ("birthdate=1984-05,1985", {"may", "jan"}),
        ("birthdate=0001", set()),
        ("birthdate=ge9999-12-31", set()),
        ("birthdate=gt9999", set()),
        ("birthdate=lt0001-01-01", set()),
    ],
)
def test_partial_dates_and_prefixes_on_birthdate(world, query, expected):
    # given three patients born in May and November 1984 and in January 1985
    w = world
    with schema_context(w.chain.schema):
        born = {"may": date(1984, 5, 17), "nov": date(1984, 11, 2), "jan": date(1985, 1, 1)}
        names = {
            patient_create(actor=w.clinic.owner, first_name=key.title(), last_name="Dateson", date_of_birth=dob).pk: key
            for key, dob in born.items()
        }
    # when they are searched by birth date
    body = w.fhir.get(f"/fhir/R4/Patient?name=Dateson&{query}")
    # then the prefixes and precision decide
    assert {names[int(i)] for i in _ids(body)} == expected
    assert body["total"] == len(expected)


def test_prefixes_on_the_appointment_date(world):
    w = world
    p = w.patient.pk
    ten = w.clinic.at(w.day, 10).astimezone(w.clinic.tz).isoformat()

    def found(query: str) -> set[str]:
        return set(_ids(w.fhir.get(f"/fhir/R4/Appointment?patient={p}&{query}".replace("+", "%2B"))))

    booked, cancelled = str(w.booked.pk), str(w.cancelled.pk)
    assert found(f"date={w.day:%Y-%m}") == {booked, cancelled}
    assert found(f"date={w.day}") == {booked, cancelled}
    assert found(f"date={ten[:16]}{ten[19:]}") == {booked}  # to the minute, with the branch's offset
    assert found(f"date=gt{ten}") == {cancelled}
    assert found(f"date=sa{ten}") == {cancelled}
    assert found(f"date=le{ten}") == {booked}
    assert found(f"date=ne{w.day}") == set()
    assert found(f"date=lt{w.day}") == set()
    assert found(f"date=ap{w.day}") == {booked, cancelled}


@pytest.mark.parametrize(
    ("identifier", "matches"),
    [
        ("urn:clinicflow:mrn|{mrn}", True),
        ("{mrn}", True),
        ("{lower}", True),
        ("|{mrn}", False),  # no system: every MRN has one
        ("http://other.example/mrn|{mrn}", False),
        ("urn:clinicflow:mrn|P999999999", False),
        ("urn:clinicflow:mrn|", True),  # every patient with an MRN
        ("other|,urn:clinicflow:mrn|{mrn}", True),
    ],
)
def test_identifier_honours_its_system(world, identifier, matches):
    w = world
    value = identifier.format(mrn=w.patient.mrn, lower=w.patient.mrn.lower()).replace("|", "%7C")
    body = w.fhir.get(f"/fhir/R4/Patient?identifier={value}&_count=200")
    assert (str(w.patient.pk) in _ids(body)) is matches


def test_undeclared_parameters_are_refused_unless_the_client_asks_for_lenient(world):
    w = world
    # when a parameter the CapabilityStatement does not declare is sent
    refused = w.fhir.get("/fhir/R4/Patient?name=Ingrid&gender=female", status=400)
    # then a 400 names it and what is supported
    issue = outcome_issues(refused)[0]
    assert issue["code"] == "invalid"
    assert issue["expression"] == ["gender"]
    assert "gender" in issue["diagnostics"]
    assert "birthdate" in issue["diagnostics"]
    modifier = outcome_issues(w.fhir.get("/fhir/R4/Patient?name:exact=Ingrid", status=400))[0]
    assert ":exact" in modifier["diagnostics"]
    # and with Prefer: handling=lenient it is ignored and left out of the self link
    lenient = w.fhir.get("/fhir/R4/Patient?name=Ingrid&gender=female", prefer="handling=lenient")
    assert lenient["total"] == 1
    assert "gender" not in _link(lenient, "self")


def test_slot_read_is_stable_and_ends_when_the_slot_is_taken(world):
    w = world
    doctor, branch, service = w.clinic.doctors[0], w.clinic.branch, w.clinic.service
    # given a free slot found by search
    slot = w.fhir.get(_slot_search(w, w.day))["entry"][0]["resource"]
    # when it is read, it is the same slot
    assert w.fhir.get(f"/fhir/R4/Slot/{slot['id']}") == slot
    assert slot["schedule"]["reference"] == f"Schedule/d{doctor.pk}-b{branch.pk}"
    # and once booked, it is no longer there
    with schema_context(w.chain.schema):
        sched.appointment_book(
            actor=w.clinic.owner,
            patient=w.clinic.patient(),
            doctor=doctor,
            branch=branch,
            service=service,
            start=_instant(slot["start"]),
        )
    gone = outcome_issues(w.fhir.get(f"/fhir/R4/Slot/{slot['id']}", status=404))[0]
    assert gone["code"] == "not-found"
    assert slot["id"] in gone["diagnostics"]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_slot_read_does_not_reveal_another_branch(api, world):
    # given a doctor with free slots at branch 2, which the receptionist of branch 1 does not see
    w = world
    with schema_context(w.chain.schema):
        there = clinic_setup(w.chain, branch=w.chain.branches[1], doctors=1)
    owner = Fhir(api(w.chain, "owner"))
    search = (
        f"/fhir/R4/Slot?schedule=Schedule/d{there.doctors[0].pk}-b{there.branch.pk}"
        f"&service-type={there.service.pk}&start=ge{w.day}&start=lt{w.day + timedelta(days=1)}"
    )
    slot_id = owner.get(search)["entry"][0]["resource"]["id"]
    assert owner.get(f"/fhir/R4/Slot/{slot_id}")["id"] == slot_id
    # when the receptionist reads it or searches its schedule
    refused = w.fhir.get(f"/fhir/R4/Slot/{slot_id}", status=404)
    searched = w.fhir.get(search)
    # then she learns nothing: the same 404 as a slot that never was, an empty search
    never = w.fhir.get(f"/fhir/R4/Slot/d{there.doctors[0].pk}-b{there.branch.pk}-s1-00010101T0000Z", status=404)
    assert outcome_issues(refused)[0]["code"] == outcome_issues(never)[0]["code"] == "not-found"
    assert searched["total"] == 0


@pytest.mark.parametrize(
    "slot_id", ["garbage", "d1-b1-s1-20271399T9999Z", "d99999999999999999-b1-s1-20270101T0900Z", "\u0661-b1"]
)
def test_a_slot_id_that_cannot_be_ours_is_a_404(world, slot_id):
    issues = outcome_issues(world.fhir.get(f"/fhir/R4/Slot/{slot_id}", status=404))
    assert issues[0]["code"] == "not-found"


def _appointment(w: World, start: str, **extra: Any) -> dict[str, Any]:
    with schema_context(w.chain.schema):
        other = w.clinic.patient("Fhir")
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": start,
        "serviceType": [{"coding": [{"system": "urn:clinicflow:service", "code": str(w.clinic.service.pk)}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{other.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{w.clinic.doctors[0].pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{w.clinic.branch.pk}"}, "status": "accepted"},
        ],
        **extra,
    }


def _count() -> int:
    return Appointment.objects.count()


def test_slots_are_the_free_times_and_can_be_booked_as_appointments(world):
    w = world
    slots = w.fhir.get(_slot_search(w, w.day))
    starts = [e["resource"]["start"] for e in slots["entry"]]
    ten = w.clinic.at(w.day, 10).astimezone(UTC)
    assert ten.strftime("%Y-%m-%dT%H:%M:%SZ") not in starts  # booked
    first = slots["entry"][0]["resource"]
    body = _appointment(w, first["start"], end=first["end"], minutesDuration=w.clinic.service.duration_minutes)
    created = w.fhir.post("/fhir/R4/Appointment", body)
    assert w.fhir.last["Location"].endswith(f"/fhir/R4/Appointment/{created['id']}")
    assert (created["start"], created["end"]) == (first["start"], first["end"])
    again = outcome_issues(w.fhir.post("/fhir/R4/Appointment", body, status=409))[0]
    assert again["code"] == "conflict"
    assert again["details"]["coding"][0]["code"] in ("doctor_busy", "patient_busy")


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        ({"end_minutes": 45}, ["Appointment.end"]),
        ({"minutesDuration": 15}, ["Appointment.minutesDuration"]),
        ({"end_minutes": 60, "minutesDuration": 60}, ["Appointment.end", "Appointment.minutesDuration"]),
        ({"status": "cancelled"}, ["Appointment.status"]),
    ],
)
def test_appointment_create_refuses_what_it_would_not_book(world, extra, fields):
    # given a free slot of a 30-minute service, asked for with another length or status
    w = world
    slot = w.fhir.get(_slot_search(w, w.day))["entry"][0]["resource"]
    if "end_minutes" in extra:
        end = _instant(slot["start"]) + timedelta(minutes=extra.pop("end_minutes"))
        extra["end"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = _appointment(w, slot["start"], **extra)
    with schema_context(w.chain.schema):
        before = _count()
    # when it is posted
    refused = w.fhir.post("/fhir/R4/Appointment", body, status=422)
    # then a 422 names each field, and nothing is booked
    issues = outcome_issues(refused)
    assert [i["expression"][0] for i in issues if "expression" in i] == fields
    assert all(i["diagnostics"] for i in issues)
    with schema_context(w.chain.schema):
        assert _count() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "issue", "says"),
    [
        ("GET", "/fhir/R4/Patient/999999", None, {}, 404, "not-found", "No Patient with id 999999"),
        ("GET", "/fhir/R4/Patient/99999999999999999999999", None, {}, 404, "not-found", "No Patient"),
        ("GET", "/fhir/R4/Nothing", None, {}, 404, "not-found", "/fhir/R4/Nothing"),
        ("GET", "/fhir/R5/Patient", None, {}, 404, "not-found", "metadata"),
        ("GET", "/fhir/R4/Schedule/garbage", None, {}, 404, "not-found", "garbage"),
        ("PUT", "/fhir/R4/Patient/1", {"resourceType": "Patient"}, {}, 405, "not-supported", "PUT"),
        ("DELETE", "/fhir/R4/Appointment/1", None, {}, 405, "not-supported", "DELETE"),
        ("POST", "/fhir/R4/Appointment/1", {"resourceType": "Appointment"}, {}, 405, "not-supported", "POST"),
        ("GET", "/fhir/R4/Patient?name=x", None, {"accept": "application/fhir+xml"}, 406, "not-supported", "xml"),
        ("GET", "/fhir/R4/Patient?name=Ingrid&_format=xml", None, {}, 406, "not-supported", "xml"),
        ("GET", "/fhir/R4/Appointment?date=yesterday", None, {}, 400, "invalid", "yesterday"),
        ("GET", "/fhir/R4/Appointment?date=1999-02-30", None, {}, 400, "invalid", "calendar"),
        ("GET", "/fhir/R4/Appointment?date=1999-02-03T10:00%2B25:00", None, {}, 400, "invalid", "calendar"),
        ("GET", "/fhir/R4/Appointment?patient=Patient/%D9%A3", None, {}, 400, "invalid", "Patient/123"),
        ("GET", "/fhir/R4/Appointment?status=booked", None, {}, 400, "invalid", "practitioner"),
        ("GET", "/fhir/R4/Appointment?patient=1&status=boked", None, {}, 400, "invalid", "boked"),
        ("GET", "/fhir/R4/Patient", None, {}, 400, "invalid", "identifier"),
        ("GET", "/fhir/R4/Patient?name=ab%00", None, {}, 400, "invalid", "NUL"),
        ("GET", "/fhir/R4/Patient?name=x&_count=1.5", None, {}, 400, "invalid", "_count"),
        ("POST", "/fhir/R4/Appointment", "{", {}, 400, "invalid", "JSON"),
        ("POST", "/fhir/R4/Appointment", {"resourceType": "Patient"}, {}, 400, "invalid", "resourceType"),
        ("POST", "/fhir/R4/Appointment", {"resourceType": "Appointment", "status": "nonsense"}, {}, 400, "invalid", ""),
        (
            "POST",
            "/fhir/R4/Appointment",
            {"resourceType": "Appointment", "status": "booked", "participant": []},
            {},
            400,
            "invalid",
            "",
        ),
        ("POST", "/fhir/R4/Appointment", "x=1", {"content_type": "text/plain"}, 415, "not-supported", "text/plain"),
    ],
)
def test_errors_are_operation_outcomes_with_the_real_message(world, method, path, body, headers, status, issue, says):
    w = world
    with schema_context(w.chain.schema):
        before = _count()
    refused = w.fhir.send(method, path, body, status=status, **headers)
    issues = outcome_issues(refused)
    assert {i["code"] for i in issues} == {issue}
    text = " ".join(i["diagnostics"] for i in issues)
    assert says in text
    assert "The request is not valid." not in text
    with schema_context(w.chain.schema):
        assert _count() == before


def test_an_invalid_body_names_each_field(world):
    w = world
    body = {"resourceType": "Appointment", "status": "booked", "start": "not a time", "participant": "x"}
    issues = outcome_issues(w.fhir.post("/fhir/R4/Appointment", body, status=400))
    paths = {i["expression"][0] for i in issues if "expression" in i}
    assert {"Appointment.start", "Appointment.participant"} <= paths
    unknown = _appointment(w, "1999-01-01T09:00:00Z")
    unknown["participant"][0]["actor"]["reference"] = "Patient/999999999"
    missing = outcome_issues(w.fhir.post("/fhir/R4/Appointment", unknown, status=400))
    assert missing[-1]["expression"] == ["Appointment.participant[0].actor.reference"]
    assert "999999999" in missing[-1]["diagnostics"]


def test_a_second_patient_practitioner_or_location_is_refused_not_swapped_in(world):
    w = world
    with schema_context(w.chain.schema):
        second = w.clinic.patient("Second")
        before = _count()
    extras = {
        "Patient": f"Patient/{second.pk}",
        "Practitioner": f"Practitioner/{w.clinic.doctors[1].pk}",
        "Location": f"Location/{w.clinic.branch.pk}",
    }
    for kind, reference in extras.items():
        body = _appointment(w, w.clinic.at(w.day, 11).astimezone(UTC).isoformat())
        body["participant"].append({"actor": {"reference": reference}, "status": "accepted"})
        issues = outcome_issues(w.fhir.post("/fhir/R4/Appointment", body, status=400))
        named = [i for i in issues if i.get("expression")]
        assert [i["expression"] for i in named] == [["Appointment.participant[3].actor.reference"]], (kind, issues)
        assert f"exactly one {kind}" in named[0]["diagnostics"]
    with schema_context(w.chain.schema):
        assert _count() == before


def test_fhir_needs_authentication_and_the_right_role(api, world, chain_a):
    w = world
    anonymous = Fhir(api(chain_a)).get(f"/fhir/R4/Patient/{w.patient.pk}", status=401)
    assert outcome_issues(anonymous)[0]["code"] == "login"
    billing = Fhir(api(chain_a, "billing")).get(f"/fhir/R4/Patient?name={w.patient.first_name}", status=403)
    assert outcome_issues(billing)[0]["code"] == "forbidden"


def test_patient_search_reads_phone_and_refuses_what_is_not_one(world):
    w = world
    with schema_context(w.chain.schema):
        caller = patient_create(actor=w.clinic.owner, first_name="Phoebe", last_name="Caller", phone="+44 7911 123456")
        assert Patient.objects.filter(pk=caller.pk).exists()
    assert _ids(w.fhir.get("/fhir/R4/Patient?phone=%2B447911123456")) == [str(caller.pk)]
    assert _ids(w.fhir.get("/fhir/R4/Patient?phone=7911%20123456")) == [str(caller.pk)]
    refused = outcome_issues(w.fhir.get("/fhir/R4/Patient?phone=call-me", status=400))
    assert refused[0]["expression"] == ["phone"]


def test_errors_are_fhir_json(world):
    response = world.fhir.client.get("/fhir/R4/Nothing/here", HTTP_ACCEPT=FHIR)
    assert response.status_code == 404
    assert response["Content-Type"].startswith(FHIR)
    assert json.loads(response.content)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "start", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00"]
)
def test_an_appointment_at_the_edges_of_the_calendar_is_refused(world, start):
    w = world
    with schema_context(w.chain.schema):
        before = _count()
    refused = w.fhir.post("/fhir/R4/Appointment", _appointment(w, start), status=400)
    assert outcome_issues(refused)[-1]["expression"] == ["Appointment.start"]
    with schema_context(w.chain.schema):
        assert _count() == before


@pytest.mark.parametrize(
    ("exc", "status", "issue"),
    [
        (drf.Throttled(wait=3), 429, "throttled"),
        (drf.AuthenticationFailed("Invalid token."), 401, "login"),
        (drf.PermissionDenied(), 403, "forbidden"),
        (drf.NotAcceptable(), 406, "not-supported"),
        (drf.UnsupportedMediaType("text/plain"), 415, "not-supported"),
        (Conflict("Someone else changed it."), 409, "conflict"),
        (Unprocessable("Too long.", fields={"Appointment.end": ["Too long."]}), 422, "processing"),
    ],
)
def test_each_status_has_the_issue_type_fhir_gives_it(exc, status, issue):
    found = outcomes.described(exc)
    assert found is not None
    assert found[0] == status
    body = outcomes.outcome(*found)
    r4_valid(body)
    assert {i["code"] for i in body["issue"]} == {issue}
    assert all(i["diagnostics"] and i["diagnostics"] == i["details"]["text"] for i in body["issue"])


def test_an_idempotency_key_longer_than_its_column_is_named_not_a_server_error(world):
    w = world
    slot = w.fhir.get(_slot_search(w, w.day))["entry"][0]["resource"]
    with schema_context(w.chain.schema):
        before = _count()
    refused = w.fhir.post("/fhir/R4/Appointment", _appointment(w, slot["start"]), status=400, idempotency_key="k" * 500)
    assert outcome_issues(refused)[-1]["expression"] == ["Idempotency-Key"]
    with schema_context(w.chain.schema):
        assert _count() == before
