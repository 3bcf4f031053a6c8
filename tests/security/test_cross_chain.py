"""Nothing issued in one chain works in another: every link, token, session and cache entry made at
chain A is replayed at chain B, where a row with the same id exists, and refused.

The ids are made equal on purpose (each chain's calendar sequence is set to the same value first):
a link or token that carried only an id, signed with the platform-wide key, would open chain B's row."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from patients import services as records
from patients.models import Attachment, Patient
from scheduling import services as sched
from scheduling.models import Appointment, Status
from tenants.accounts.models import User
from tenants.org import services as org
from tests.factories import Chain
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import Api, assert_error

PDF = b"%PDF-1.4\n% chain A's lab result\n"


@dataclass
class Pair:
    a: Clinic
    b: Clinic


@pytest.fixture
def pair(chain_a: Chain, chain_b: Chain) -> Pair:
    cache.clear()
    with schema_context(chain_a.schema):
        a = clinic_setup(chain_a, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55)))
    with schema_context(chain_b.schema):
        b = clinic_setup(chain_b, doctors=1, opens=time(0), closes=time(23, 55), shift=(time(0), time(23, 55)))
    return Pair(a, b)


def _align(table: str, *schemas: str) -> None:
    """The next row of `table` gets the same id in every schema."""
    top = 0
    for schema in schemas:
        with schema_context(schema), connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
            top = max(top, cursor.fetchone()[0])
    for schema in schemas:
        with schema_context(schema), connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, top + 1])


def _in_days(clinic: Clinic, days: int, hour: int = 10) -> datetime:
    return clinic.at(clinic.days_ahead(days), hour)


def _book_in_b(pair: Pair) -> Appointment:
    with schema_context(pair.b.chain.schema):
        return sched.appointment_book(
            actor=pair.b.owner,
            patient=pair.b.patient(),
            doctor=pair.b.doctors[0],
            branch=pair.b.branch,
            service=pair.b.service,
            start=_in_days(pair.b, 3),
        )


def _visitor_holds(clinic: Clinic, client: Client, post) -> None:
    """A visitor picks the first free time on the chain's booking page and holds it."""
    page = client.get(
        f"/book/?branch={clinic.branch.pk}&service={clinic.service.pk}&pick=1", HTTP_HOST=clinic.chain.host
    ).content.decode()
    doctor, start = re.search(
        r'name="doctor" value="(\d+)"><input type="hidden" name="start" value="([^"]+)"', page
    ).groups()
    post("/book/hold/", {"branch": clinic.branch.pk, "service": clinic.service.pk, "doctor": doctor, "start": start})


def _online_booking_in_a(pair: Pair, client: Client, capture) -> tuple[str, Appointment]:
    """Book at chain A through the public pages, as a visitor does; the manage link it ends on."""
    host = pair.a.chain.host

    def post(path: str, data: dict) -> object:
        with capture(execute=True):
            return client.post(path, data, HTTP_HOST=host)

    _visitor_holds(pair.a, client, post)
    post("/book/details/", {"first_name": "Ada", "last_name": "Alpha", "contact": "ada@example.com"})
    done = post("/book/confirm/", {"code": re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)})
    assert done.status_code == 302, done.content[:300]
    with schema_context(pair.a.chain.schema):
        booked = Appointment.objects.get(patient__email="ada@example.com")
    return done["Location"], booked


def _state(schema: str, pk: int) -> tuple:
    with schema_context(schema):
        row = Appointment.objects.get(pk=pk)
        return row.status, row.span, row.patient_id, row.doctor_id


def test_a_manage_link_of_chain_a_opens_nothing_at_chain_b(pair, client, django_capture_on_commit_callbacks):
    # given an online booking at chain A, and an appointment with the same id at chain B
    _align("scheduling_calendarentry", pair.a.chain.schema, pair.b.chain.schema)
    manage, booked_a = _online_booking_in_a(pair, client, django_capture_on_commit_callbacks)
    booked_b = _book_in_b(pair)
    assert booked_a.pk == booked_b.pk
    before = _state(pair.b.chain.schema, booked_b.pk)
    b_host = pair.b.chain.host

    # when chain A's link is used at chain B: view, .ics, move, cancel
    view = client.get(manage, HTTP_HOST=b_host)
    ics = client.get(manage + "calendar.ics", HTTP_HOST=b_host)
    move_page = client.get(manage + "move/", HTTP_HOST=b_host)
    move = client.post(manage + "move/", {"start": _in_days(pair.b, 4).isoformat()}, HTTP_HOST=b_host)
    cancel = client.post(manage + "cancel/", HTTP_HOST=b_host)

    # then every one is refused, and chain B's appointment is untouched
    assert [r.status_code for r in (view, ics, move_page, move, cancel)] == [404] * 5
    assert b"Alpha" not in view.content
    assert _state(pair.b.chain.schema, booked_b.pk) == before
    # while at chain A the link still works
    assert client.get(manage, HTTP_HOST=pair.a.chain.host).status_code == 200
    assert client.get(manage + "calendar.ics", HTTP_HOST=pair.a.chain.host).status_code == 200


def _api_hold(reception: Api, clinic: Clinic) -> dict:
    body = {
        "doctor": clinic.doctors[0].pk,
        "branch": clinic.branch.pk,
        "service": clinic.service.pk,
        "start": _in_days(clinic, 3).isoformat(),
    }
    return reception.call("POST", "/api/v1/holds/", body).json()


def test_a_hold_token_of_chain_a_confirms_nothing_at_chain_b_through_the_api(api, pair):
    # given a hold made through the API at chain A, and one with the same id at chain B
    _align("scheduling_calendarentry", pair.a.chain.schema, pair.b.chain.schema)
    reception_a, reception_b = api(pair.a.chain, "receptionist"), api(pair.b.chain, "receptionist")
    held_a, held_b = _api_hold(reception_a, pair.a), _api_hold(reception_b, pair.b)
    assert held_a["id"] == held_b["id"]
    with schema_context(pair.b.chain.schema):
        patient_b = pair.b.patient()
    before = _state(pair.b.chain.schema, held_b["id"])
    confirm = f"/api/v1/holds/{held_a['id']}/confirm/"

    # when chain A's hold token is sent to chain B: by chain B's staff, and with chain A's credentials
    by_b_staff = reception_b.call("POST", confirm, {"hold_token": held_a["hold_token"], "patient": patient_b.pk})
    foreign = Api(pair.b.chain.host)
    foreign.client.defaults["HTTP_AUTHORIZATION"] = f"Token {reception_a.token}"
    with_a_credentials = foreign.call("POST", confirm, {"hold_token": held_a["hold_token"], "patient": patient_b.pk})

    # then both are refused and chain B's hold is still an open hold of nobody
    assert_error(by_b_staff, 404, "not_found")
    assert_error(with_a_credentials, 401)
    assert _state(pair.b.chain.schema, held_b["id"]) == before
    assert before[0] == Status.HELD
    assert before[2] is None


def test_a_booking_session_of_chain_a_holds_nothing_at_chain_b(pair, client, django_capture_on_commit_callbacks):
    # given a visitor holding a time at chain A, and a hold with the same id at chain B
    _align("scheduling_calendarentry", pair.a.chain.schema, pair.b.chain.schema)
    b_host = pair.b.chain.host
    _visitor_holds(pair.a, client, lambda path, data: client.post(path, data, HTTP_HOST=pair.a.chain.host))
    with schema_context(pair.a.chain.schema):
        hold_a = Appointment.objects.get(status=Status.HELD)
    with schema_context(pair.b.chain.schema):
        hold_b = sched.appointment_hold(
            actor=None,
            doctor=pair.b.doctors[0],
            branch=pair.b.branch,
            service=pair.b.service,
            start=_in_days(pair.b, 3),
        )
    assert hold_a.pk == hold_b.pk
    before = _state(pair.b.chain.schema, hold_b.pk)

    # when the visitor's session cookie is replayed at chain B, and when a chain B session carries
    # chain A's hold id and token
    replayed = client.get("/book/details/", HTTP_HOST=b_host)
    with schema_context(pair.b.chain.schema):
        forged = SessionStore()
        forged["hold"] = {"id": hold_a.pk, "token": hold_a.hold_token}
        forged.save()
    visitor = Client()
    visitor.cookies[settings.SESSION_COOKIE_NAME] = forged.session_key
    details = visitor.get("/book/details/", HTTP_HOST=b_host)
    confirm = visitor.post("/book/confirm/", {"code": "123456"}, HTTP_HOST=b_host)

    # then chain B knows no such hold
    assert [r.status_code for r in (replayed, details, confirm)] == [404, 404, 404]
    assert _state(pair.b.chain.schema, hold_b.pk) == before


def test_an_invitation_of_chain_a_is_refused_at_chain_b(chain_a, chain_b, client):
    # given an invitation issued at chain A
    with schema_context(chain_a.schema):
        _, link = org.staff_invite(
            actor=chain_a.users["owner"], email="crossing@example.com", roles=["receptionist"], branch_ids=[]
        )
    token = link.rstrip("/").rsplit("/", 1)[-1]
    accept = {"token": token, "first_name": "Cross", "last_name": "Ing", "password": "Another-Horse-77"}

    # when it is opened and accepted at chain B, as a page and through the API
    page = client.get(f"/invite/{token}/", HTTP_HOST=chain_b.host)
    posted = client.post(
        f"/invite/{token}/",
        {
            "first_name": "Cross",
            "last_name": "Ing",
            "password": accept["password"],
            "password_again": accept["password"],
        },
        HTTP_HOST=chain_b.host,
    )
    by_api = Api(chain_b.host).call("POST", "/api/v1/invitations/accept/", accept)

    # then chain B knows no such invitation and nobody joined it
    assert page.status_code == 404
    assert posted.status_code == 404
    assert_error(by_api, 404)
    with schema_context(chain_b.schema):
        assert not User.objects.filter(email="crossing@example.com").exists()
    # while at chain A the link opens the invitation
    assert client.get(f"/invite/{token}/", HTTP_HOST=chain_a.host).status_code == 200


def test_cache_entries_and_rate_limits_stay_in_their_chain(chain_a, chain_b, client):
    # given a value cached at chain A
    cache.clear()
    with schema_context(chain_a.schema):
        cache.set("probe", "alpha's secret")

    # when chain B reads and writes the same key
    with schema_context(chain_b.schema):
        seen_at_b = cache.get("probe")
        cache.set("probe", "bravo's")
    with schema_context(chain_a.schema):
        seen_at_a = cache.get("probe")

    # then each chain sees only its own
    assert seen_at_b is None
    assert seen_at_a == "alpha's secret"

    # and a visitor who used up chain A's hold limit from this address is not limited at chain B
    limited = None
    for _ in range(200):
        answer = client.post("/book/hold/", {"branch": 0}, HTTP_HOST=chain_a.host)
        if answer.status_code == 302:  # "Too many attempts": sent back to the start
            limited = answer
            break
    assert limited is not None, "chain A never limited the holds"
    assert client.post("/book/hold/", {"branch": 0}, HTTP_HOST=chain_b.host).status_code == 404


def test_an_attachment_of_chain_a_is_not_served_at_chain_b(api, chain_a, chain_b, settings, tmp_path):
    # given a file in a patient's record at chain A
    settings.MEDIA_ROOT = tmp_path
    with schema_context(chain_a.schema):
        owner, doctor = chain_a.users["owner"], chain_a.users["doctor"]
        patient = records.patient_create(actor=owner, first_name="File", last_name="Alpha")
        records.care_team_assign(actor=owner, patient=patient, doctor=doctor.staff)
        attachment = records.attachment_add(
            actor=doctor, patient=patient, upload=SimpleUploadedFile("lab.pdf", PDF), title="Lab"
        )
    url = f"/api/v1/attachments/{attachment.pk}/download/"
    doctor_a = api(chain_a, "doctor")
    assert doctor_a.call("GET", url).status_code == 200

    # when chain B's staff ask for that id at chain B, and chain A's doctor's token is sent there
    by_b = api(chain_b, "owner").call("GET", url)
    foreign = Api(chain_b.host)
    foreign.client.defaults["HTTP_AUTHORIZATION"] = f"Token {doctor_a.token}"
    with_a_credentials = foreign.call("GET", url)

    # then chain B has no such file, and chain A's credentials mean nothing there
    assert by_b.status_code == 404
    assert_error(with_a_credentials, 401)
    with schema_context(chain_b.schema):
        assert not Attachment.objects.filter(pk=attachment.pk).exists()
        assert not Patient.objects.filter(last_name="Alpha").exists()
