"""Who manages which waitlist: staff read and change the waitlists of the branches they work at (the
one answer, tenants.org.selectors.branch_ids_visible), owners every branch's; patients none. Each role
at branch 2, on the desk's page and over the API; a refusal writes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from patients.services import patient_create
from scheduling.models import WaitlistEntry, WaitlistStatus
from tests.factories.scheduling import Clinic, clinic_setup
from tests.helpers import Api, sign_in
from tests.scheduling.waitlist_world import DAY, join, patient

pytestmark = pytest.mark.django_db
URL = "/api/v1/scheduling/waitlist/"

#: role -> may they read and change branch 2's waitlist
ROLES = {
    "owner": True,
    "manager of branch 1": False,
    "reception of branch 1": False,
    "doctor working at branch 2": True,
    "doctor of branch 1 only": False,
}


@pytest.fixture
def world(in_a):
    cache.clear()
    one = clinic_setup(in_a, branch=in_a.branches[0], doctors=1)
    two = clinic_setup(in_a, branch=in_a.branches[1], doctors=1)
    return one, two


def _user(role: str, one: Clinic, two: Clinic):  # type: ignore[no-untyped-def]
    users = one.chain.users
    return {
        "owner": users["owner"],
        "manager of branch 1": users["branch_manager"],
        "reception of branch 1": users["receptionist"],
        "doctor working at branch 2": two.doctors[0].user,
        "doctor of branch 1 only": one.doctors[0].user,
    }[role]


def _form(clinic: Clinic) -> dict[str, str]:
    return {
        "service": str(clinic.service.pk),
        "doctor": "",
        "date_from": DAY.isoformat(),
        "date_to": (DAY + timedelta(days=7)).isoformat(),
        "time_from": "09:00",
        "time_to": "12:00",
        "notes": "",
    }


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_on_branch_twos_waitlist_page(world, client, role):
    # given a patient waiting at branch 2 and another to add, and the role signed in
    one, two = world
    waiting = join(two)
    newcomer = patient(two, "Newcomer")
    sign_in(client, _user(role, one, two))
    host = two.chain.host
    allowed = ROLES[role]

    # when they open branch 2's waitlist, add the newcomer and remove the one waiting
    page = client.get(f"/desk/{two.branch.pk}/waitlist/", HTTP_HOST=host)
    added = client.post(
        f"/desk/{two.branch.pk}/waitlist/?patient={newcomer.pk}", {"patient": newcomer.pk, **_form(two)}, HTTP_HOST=host
    )
    client.post(f"/desk/waitlist/{waiting.pk}/remove/", {"confirm": "1"}, HTTP_HOST=host)

    # then those who work there (and the owner) read, add and remove; the others are refused and nothing changed
    waiting.refresh_from_db()
    joined = WaitlistEntry.objects.filter(patient=newcomer, status=WaitlistStatus.WAITING).exists()
    if allowed:
        assert page.status_code == 200
        assert waiting.patient.last_name in page.content.decode()
        assert "Staff see and change the waitlists of the branches they work at" in page.content.decode()
        assert added.status_code == 302
        assert (joined, waiting.status) == (True, WaitlistStatus.REMOVED)
    else:
        assert page.status_code in (403, 404)
        assert waiting.patient.last_name not in page.content.decode()
        assert (joined, waiting.status) == (False, WaitlistStatus.WAITING)


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_on_branch_twos_waitlist_over_the_api(world, role):
    # given a patient waiting at branch 2 and another to add, and the role's API client
    one, two = world
    waiting = join(two)
    newcomer = patient(two, "Newcomer")
    api = Api(two.chain.host, _user(role, one, two).email)
    body = {
        "patient": newcomer.pk,
        "branch": two.branch.pk,
        "service": two.service.pk,
        "date_from": DAY.isoformat(),
        "date_to": (DAY + timedelta(days=7)).isoformat(),
        "time_from": "09:00",
        "time_to": "12:00",
    }

    # when they list branch 2's waitlist (and every branch's they see), add the newcomer and remove the one waiting
    listed = api.call("GET", f"{URL}?branch={two.branch.pk}")
    every = api.call("GET", URL)
    added = api.call("POST", URL, body)
    removed = api.call("DELETE", f"{URL}{waiting.pk}/")

    # then those who work there (and the owner) read, add and remove; the others are refused and nothing changed
    waiting.refresh_from_db()
    joined = WaitlistEntry.objects.filter(patient=newcomer, status=WaitlistStatus.WAITING).exists()
    if ROLES[role]:
        assert [e["id"] for e in listed.json()] == [waiting.pk]
        assert waiting.pk in [e["id"] for e in every.json()]
        assert (added.status_code, removed.status_code) == (201, 200)
        assert (joined, waiting.status) == (True, WaitlistStatus.REMOVED)
    else:
        assert listed.status_code == 403
        assert waiting.pk not in [e["id"] for e in every.json()]
        assert (added.status_code, removed.status_code) == (403, 404)
        assert (joined, waiting.status) == (False, WaitlistStatus.WAITING)


def test_a_patient_signed_in_to_the_portal_reads_and_changes_no_waitlist(world, django_capture_on_commit_callbacks):
    # given a patient waiting at branch 2, and another patient signed in to the portal
    _one, two = world
    waiting = join(two)
    host = two.chain.host
    me = patient_create(actor=two.owner, first_name="Pat", last_name="Portal", email="pat.portal@example.com")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/sign-in/", {"identifier": me.email}, HTTP_HOST=host)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
    assert client.post("/portal/code/", {"code": code}, HTTP_HOST=host).status_code == 302

    # when they open the desk's waitlist, add themselves and remove the one waiting, on the page and the API
    page = client.get(f"/desk/{two.branch.pk}/waitlist/", HTTP_HOST=host)
    client.post(f"/desk/{two.branch.pk}/waitlist/?patient={me.pk}", {"patient": me.pk, **_form(two)}, HTTP_HOST=host)
    client.post(f"/desk/waitlist/{waiting.pk}/remove/", {"confirm": "1"}, HTTP_HOST=host)
    listed = client.get(URL, HTTP_HOST=host)
    client.delete(f"{URL}{waiting.pk}/", HTTP_HOST=host)

    # then each is refused and nothing changed
    assert page.status_code in (302, 403, 404)
    assert waiting.patient.last_name not in page.content.decode()
    assert listed.status_code in (401, 403) or listed.json() == []
    waiting.refresh_from_db()
    assert waiting.status == WaitlistStatus.WAITING
    assert not WaitlistEntry.objects.filter(patient=me).exists()
