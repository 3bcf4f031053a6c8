"""Every input a client can send gets a 4xx in the error format, and nothing is written.

One test per kind of bad input (issue 9, point 1). Each counts the chain's rows before and after."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from patients import services as patients
from patients.models import ClinicalNote, FollowUp, Patient
from scheduling.models import CalendarEntry, ExtraShift, Series, Service, ShiftPattern, SpecialDay
from tenants.org.models import Invitation
from tests.factories.scheduling import clinic_setup
from tests.helpers import assert_error


def timezone_at(offset: str) -> dt_timezone:
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = (int(part) for part in offset[1:].split(":"))
    return dt_timezone(sign * timedelta(hours=hours, minutes=minutes))


def _day() -> date:
    return (timezone.now() + timedelta(days=14)).date()


@pytest.fixture
def desk(api, chain_a):
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a)
        patient = clinic.patient()
    return clinic, patient, api(chain_a, "owner")


def _rows(chain) -> dict[str, int]:
    with schema_context(chain.schema):
        models = (CalendarEntry, Series, Patient, SpecialDay, ShiftPattern, ExtraShift, Service, FollowUp, Invitation)
        return {m.__name__: m.objects.count() for m in models}


def _book(clinic, who, **change: Any) -> dict[str, Any]:
    return {
        "patient": who.pk,
        "doctor": clinic.doctors[0].pk,
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "start": clinic.at(_day(), 10).isoformat(),
        **change,
    }


def _refused(client, chain, requests: list[tuple[str, str, Any]], status: int = 400) -> None:
    """Each request is answered `status` in the error format, and the chain's rows do not change."""
    before = _rows(chain)
    for method, path, body in requests:
        response = client.call(method, path, body) if not isinstance(body, str) else client.call(method, path, raw=body)
        assert_error(response, status)
    assert _rows(chain) == before


@pytest.mark.parametrize(
    "moment",
    [
        "2030-06-07T10:99:00+01:00",  # minute 99
        "2030-02-30T10:00:00+01:00",  # February 30
        "2030-06-07T10:00:00+25:00",  # an offset beyond ±18:00
        "2030-06-07T25:00:00Z",  # hour 25
    ],
)
def test_impossible_date_times_are_400(desk, chain_a, moment):
    clinic, patient, owner = desk
    _refused(
        owner,
        chain_a,
        [
            ("POST", "/api/v1/appointments/", _book(clinic, patient, start=moment)),
            ("POST", "/api/v1/holds/", _book(clinic, patient, start=moment)),
            ("POST", "/api/v1/appointments/series/", _book(clinic, patient, start=moment, count=2)),
            ("POST", "/api/v1/scheduling/leave/", {"doctor": clinic.doctors[0].pk, "start": moment, "end": moment}),
            ("GET", f"/api/v1/appointments/?start_after={moment.replace('+', '%2B')}", None),
        ],
    )


@pytest.mark.parametrize("offset", ["+16:00", "-17:30", "+18:00"])
def test_offsets_postgresql_cannot_hold_are_read_as_the_instant_they_name(desk, chain_a, offset):
    # given a real instant written with a far offset (±16:00 to ±18:00: valid ISO 8601, beyond
    # what PostgreSQL takes)
    clinic, _patient, owner = desk
    start = datetime.fromisoformat(clinic.at(_day(), 9).isoformat()).astimezone(timezone_at(offset))
    body = {"doctor": clinic.doctors[0].pk, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    # when it is sent as leave and as a list filter, then it is that instant, not a server error
    leave = owner.call("POST", "/api/v1/scheduling/leave/", body)
    assert leave.status_code == 201, leave.content
    assert datetime.fromisoformat(leave.json()["start"]) == start
    listed = owner.call("GET", "/api/v1/appointments/?" + urlencode({"start_after": start.isoformat()}))
    assert listed.status_code == 200, listed.content


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_at_the_edges_of_the_calendar_are_400_in_every_date_parameter(desk, chain_a, day):
    clinic, patient, owner = desk
    doctor, branch, service = clinic.doctors[0].pk, clinic.branch.pk, clinic.service.pk
    shift = {"doctor": doctor, "branch": branch, "weekday": 1, "starts": "09:00", "ends": "10:00"}
    _refused(
        owner,
        chain_a,
        [
            ("GET", f"/api/v1/availability/?service={service}&branch={branch}&date_from={day}&date_to={day}", None),
            ("GET", f"/api/v1/appointments/?start_after={day}T00:00:00Z", None),
            ("GET", f"/api/v1/appointments/?start_before={day}T23:30:00Z", None),
            ("GET", f"/api/v1/calendar/branches/{branch}/day/{day}/", None),
            ("GET", f"/api/v1/calendar/doctors/{doctor}/week/{day}/", None),
            ("POST", "/api/v1/appointments/", _book(clinic, patient, start=f"{day}T10:00:00Z")),
            ("POST", "/api/v1/holds/", _book(clinic, patient, start=f"{day}T10:00:00Z")),
            ("POST", "/api/v1/appointments/series/", _book(clinic, patient, start=f"{day}T10:00:00Z", count=52)),
            ("POST", "/api/v1/scheduling/leave/", {"doctor": doctor, "start": f"{day}T09:00Z", "end": f"{day}T10:00Z"}),
            ("POST", f"/api/v1/branches/{branch}/special-days/", {"date": day}),
            ("POST", "/api/v1/scheduling/shifts/", {**shift, "valid_from": day}),
            ("POST", "/api/v1/scheduling/extra-shifts/", {**shift, "date": day}),
            ("POST", "/api/v1/patients/", {"first_name": "Edge", "last_name": "Case", "date_of_birth": day}),
        ],
    )


def test_integers_beyond_their_column_are_4xx_in_bodies_queries_and_paths(desk, chain_a):
    clinic, patient, owner = desk
    bigint, past_bigint, past_int = 2**63 - 1, 2**63, 2**31
    _refused(
        owner,
        chain_a,
        [
            ("POST", "/api/v1/appointments/", _book(clinic, patient, patient=past_bigint)),
            ("POST", "/api/v1/scheduling/services/", {"name": "Huge", "duration_minutes": past_int}),
            ("POST", "/api/v1/scheduling/services/", {"name": "Huge", "duration_minutes": 30, "price_minor": past_int}),
            (
                "PUT",
                "/api/v1/scheduling/offerings/",
                {"doctor": clinic.doctors[0].pk, "branch": clinic.branch.pk, "service_ids": [past_bigint]},
            ),
            ("GET", f"/api/v1/appointments/?patient={past_bigint}", None),
            ("GET", f"/api/v1/scheduling/leave/?doctor={past_bigint}", None),
            ("GET", f"/api/v1/scheduling/shifts/?weekday={past_int}", None),
            ("GET", f"/api/v1/scheduling/rooms/?branch={past_bigint}", None),
            ("GET", f"/api/v1/staff/?branch={past_bigint}", None),
        ],
    )
    # A path id no column can hold names nothing: 404, in the error format.
    _refused(
        owner,
        chain_a,
        [
            ("GET", f"/api/v1/appointments/{past_bigint}/", None),
            ("GET", f"/api/v1/appointments/{bigint}/", None),
            ("POST", f"/api/v1/appointments/{past_bigint}/cancel/", {}),
            ("GET", f"/api/v1/patients/{2**70}/", None),
        ],
        status=404,
    )


@pytest.mark.parametrize("value", [1.5, "1.5", "1e0", True, "0x1", " 1 1"])
def test_numbers_that_are_not_whole_ids_are_400_and_book_nobody(desk, chain_a, value):
    clinic, patient, owner = desk
    # `1.5` was read as patient 1 and booked them: the id is refused instead
    _refused(
        owner,
        chain_a,
        [
            ("POST", "/api/v1/appointments/", _book(clinic, patient, patient=value)),
            ("POST", "/api/v1/appointments/", _book(clinic, patient, doctor=value)),
            ("GET", f"/api/v1/appointments/?patient={value}", None),
            ("GET", f"/api/v1/scheduling/leave/?doctor={value}", None),
        ],
    )


def test_an_exponent_number_is_not_an_id(desk, chain_a):
    clinic, patient, owner = desk
    # JSON's 1e0 is a float to the parser, even when it is whole
    body = json.dumps(_book(clinic, patient)).replace(f'"patient": {patient.pk}', '"patient": 1e0')
    _refused(owner, chain_a, [("POST", "/api/v1/appointments/", body)])


def test_unicode_digits_are_not_digits(desk, chain_a):
    clinic, patient, owner = desk
    arabic = str(patient.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert int(arabic) == patient.pk  # what Python would have done with it
    doctor = str(clinic.doctors[0].pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    _refused(
        owner,
        chain_a,
        [
            ("POST", "/api/v1/appointments/", _book(clinic, patient, patient=arabic)),
            ("POST", "/api/v1/appointments/", _book(clinic, patient, start="٢٠٣٠-06-07T10:00:00+01:00")),
            ("GET", f"/api/v1/appointments/?patient={arabic}", None),
            ("GET", f"/api/v1/scheduling/leave/?doctor={doctor}", None),
            ("GET", f"/api/v1/scheduling/shifts/?doctor={doctor}", None),
            ("PATCH", f"/api/v1/staff/{clinic.doctors[0].pk}/", {"branch_ids": [arabic]}),
        ],
    )


def test_nul_bytes_anywhere_in_a_json_body_are_400(desk, chain_a):
    clinic, patient, owner = desk
    _refused(
        owner,
        chain_a,
        [
            ("POST", "/api/v1/appointments/", _book(clinic, patient, notes="before\u0000after")),
            ("POST", "/api/v1/patients/", {"first_name": "Nul\u0000", "last_name": "Byte"}),
            ("POST", "/api/v1/patients/", {"first_name": "Nul", "last_name": "Key", "\u0000": "x"}),
            ("POST", "/api/v1/scheduling/services/", {"name": "X", "duration_minutes": 30, "description": "\u0000"}),
        ],
    )
    assert_error(owner.call("POST", "/api/v1/patients/", {"first_name": "a\u0000"}), 400, "malformed_request")


def test_tokens_and_keys_outside_printable_ascii_are_400(desk, chain_a):
    clinic, patient, owner = desk
    with schema_context(chain_a.schema):
        from scheduling import services as sched

        hold = sched.appointment_hold(
            actor=clinic.owner,
            doctor=clinic.doctors[0],
            branch=clinic.branch,
            service=clinic.service,
            start=clinic.at(_day(), 11),
            source="staff",
        )
    accept = {"first_name": "A", "last_name": "B", "password": "a-long-password-1"}
    _refused(
        owner,
        chain_a,
        [
            ("POST", f"/api/v1/holds/{hold.pk}/confirm/", {"hold_token": "é" * 20, "patient": patient.pk}),
            ("POST", f"/api/v1/holds/{hold.pk}/confirm/", {"hold_token": "x" * 65, "patient": patient.pk}),
            ("POST", "/api/v1/invitations/accept/", {**accept, "token": "jeton-é"}),
            ("POST", "/api/v1/invitations/accept/", {**accept, "token": "with space"}),
        ],
    )
    for key in ("clé-1", "tab\there", "nul\x00key"):
        before = _rows(chain_a)
        response = owner.client.post(
            "/api/v1/appointments/",
            json.dumps(_book(clinic, patient)),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert_error(response, 400)
        assert _rows(chain_a) == before


def test_an_idempotency_key_longer_than_its_column_is_400(desk, chain_a):
    clinic, patient, owner = desk
    before = _rows(chain_a)
    response = owner.client.post(
        "/api/v1/appointments/",
        json.dumps(_book(clinic, patient)),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k" * 101,
    )
    error = assert_error(response, 400, "validation_error")
    assert "Idempotency-Key" in error["fields"]
    assert _rows(chain_a) == before
    # the longest key the column holds is fine
    ok = owner.client.post(
        "/api/v1/appointments/",
        json.dumps(_book(clinic, patient)),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k" * 100,
    )
    assert ok.status_code == 201, ok.content


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/appointments/",
        "/api/v1/patients/",
        "/api/v1/branches/",
        "/api/v1/staff/",
        "/api/v1/scheduling/services/",
        "/api/v1/scheduling/rooms/",
        "/api/v1/scheduling/shifts/",
        "/api/v1/invitations/",
    ],
)
def test_options_on_a_list_endpoint_is_405_in_the_error_format(desk, chain_a, path):
    _clinic, _patient, owner = desk
    _refused(owner, chain_a, [("OPTIONS", path, None)], status=405)


def test_a_form_encoded_body_is_415_and_books_nobody(desk, chain_a):
    # the schema documents JSON bodies only; a form (where an array's shape is anyone's guess) is refused
    clinic, patient, owner = desk
    before = _rows(chain_a)
    form = owner.client.post("/api/v1/appointments/", _book(clinic, patient))  # multipart, as a browser form
    encoded = owner.client.post(
        "/api/v1/appointments/", "patient=1&doctor=1", content_type="application/x-www-form-urlencoded"
    )
    assert_error(form, 415, "unsupported_media_type")
    assert_error(encoded, 415, "unsupported_media_type")
    assert _rows(chain_a) == before


# --- a merge moves signed notes, and their lock holds ------------------------------------------------
def _signed_note(clinic, patient) -> ClinicalNote:
    doctor = clinic.doctors[0]
    patients.care_team_assign(actor=clinic.owner, patient=patient, doctor=doctor)
    note = patients.note_create(actor=doctor.user, patient=patient, title="Visit", body="Signed content")
    return patients.note_sign(actor=doctor.user, note=note)


def test_a_merge_moves_signed_notes_to_the_surviving_record(in_a, api):
    # given a duplicate record that has a signed note
    clinic = clinic_setup(in_a)
    keep, duplicate = clinic.patient("Keep"), clinic.patient("Duplicate")
    note = _signed_note(clinic, duplicate)
    # when an owner merges it through the API
    response = api(in_a, "owner").call("POST", "/api/v1/patients/merge/", {"keep": keep.pk, "merge": duplicate.pk})
    # then the merge succeeds and the note, unchanged, belongs to the surviving record
    assert response.status_code == 200, response.content
    moved = ClinicalNote.objects.get(pk=note.pk)
    assert moved.patient_id == keep.pk
    assert (moved.status, moved.title, moved.body) == ("signed", "Visit", "Signed content")
    assert moved.signed_at == note.signed_at
    assert Patient.objects.get(pk=duplicate.pk).merged_into_id == keep.pk


def test_a_signed_note_stays_locked_after_a_merge_and_outside_one(in_a):
    # given a signed note moved by a merge
    clinic = clinic_setup(in_a)
    keep, duplicate, stranger = clinic.patient("Keep"), clinic.patient("Duplicate"), clinic.patient("Other")
    note = _signed_note(clinic, duplicate)
    patients.patient_merge(actor=clinic.owner, keep=keep, merge=duplicate)
    # when anyone changes its content, deletes it, or points it at a record it was not merged into
    attempts = [
        lambda: ClinicalNote.objects.filter(pk=note.pk).update(body="Rewritten"),
        lambda: ClinicalNote.objects.filter(pk=note.pk).update(patient=stranger),
        lambda: ClinicalNote.objects.filter(pk=note.pk).update(patient=duplicate, body="Back"),
        lambda: ClinicalNote.objects.filter(pk=note.pk).delete(),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    # then the database refused every one
    kept = ClinicalNote.objects.get(pk=note.pk)
    assert (kept.patient_id, kept.body, kept.status) == (keep.pk, "Signed content", "signed")
