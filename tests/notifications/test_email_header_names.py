"""The names messages put in a subject or on a line of their own (a service, a branch, a room, a
person, the chain) are one line: a line break, a tab or another control character is refused where
the name is typed, by the service (so the API and the pages alike), with the field named and
nothing saved."""

from __future__ import annotations

import pytest

from config.errors import ApplicationError
from config.validation import name_error
from scheduling import services as sched
from scheduling.models import Room, Service
from tenants.org import services as org
from tenants.org.models import Branch, ChainSettings, Invitation
from tests.conftest import Chain
from tests.factories.scheduling import clinic_setup
from tests.helpers import Api, assert_error

pytestmark = pytest.mark.django_db

BROKEN = ["Massage\nBcc: all@example.com", "Massage\r\nX: y", "Mass\tage", "Mass\u2028age", "Mass\x1bage"]


def _refused(call, field: str) -> ApplicationError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApplicationError) as refused:
        call()
    assert refused.value.status == 400
    assert refused.value.code == "validation_error"
    assert field in (refused.value.fields or {}), refused.value.fields
    return refused.value


@pytest.mark.parametrize("name", BROKEN)
def test_a_service_name_with_a_line_break_or_control_character_is_refused(in_a: Chain, name: str) -> None:
    # given a service
    clinic = clinic_setup(in_a)
    before = Service.objects.get(pk=clinic.service.pk).name

    # when the owner renames it with a line break, or creates one so
    refused = _refused(lambda: sched.service_update(actor=clinic.owner, service=clinic.service, name=name), "name")
    _refused(lambda: sched.service_create(actor=clinic.owner, name=name, duration_minutes=30), "name")

    # then refused in words, and nothing changed
    assert refused.fields == {"name": ["A name is one line: no line breaks, tabs or other control characters."]}
    assert Service.objects.get(pk=clinic.service.pk).name == before
    assert not Service.objects.filter(name=name).exists()


def test_rooms_branches_and_the_chain_refuse_a_line_break_in_their_name(in_a: Chain) -> None:
    owner = in_a.users["owner"]
    branch = in_a.branches[0]
    name = "Camden\nBcc: all@example.com"

    # when the owner names a room, a branch (new or existing) and the chain with a line break
    _refused(lambda: sched.room_create(actor=owner, branch=branch, name=name), "name")
    _refused(lambda: org.branch_create(actor=owner, name=name, timezone_name="Europe/London"), "name")
    _refused(lambda: org.branch_update(actor=owner, branch=branch, name=name), "name")
    _refused(lambda: org.chain_settings_update(actor=owner, name=name), "name")

    # then nothing was saved
    assert not Room.objects.filter(name=name).exists()
    assert not Branch.objects.filter(name=name).exists()
    assert Branch.objects.get(pk=branch.pk).name == branch.name
    assert ChainSettings.objects.get(pk=1).name != name


def test_a_new_doctor_cannot_take_a_name_with_a_line_break(in_a: Chain) -> None:
    # given a doctor invited by the owner
    _, link = org.staff_invite(
        actor=in_a.users["owner"], email="new.doctor@example.com", roles=["doctor"], branch_ids=[in_a.branches[0].pk]
    )
    token = link.rstrip("/").rsplit("/", 1)[-1]

    # when she accepts with a line break in her name
    _refused(
        lambda: org.invitation_accept(
            token=token, first_name="Ada\nBcc: all@example.com", last_name="Lane", password="Correct-Horse-42"
        ),
        "first_name",
    )

    # then the invitation is still open: no account was made
    assert Invitation.objects.get(email="new.doctor@example.com").status == "pending"


def test_the_api_refuses_a_service_name_with_a_line_break_with_its_code(in_a: Chain) -> None:
    # given a service and the owner's API client
    clinic = clinic_setup(in_a)
    api = Api(in_a.host, in_a.email("owner"))

    # when the owner renames it through the API with a line break
    response = api.call("PATCH", f"/api/v1/scheduling/services/{clinic.service.pk}/", {"name": "Massage\nBcc: x@y.z"})

    # then 400 with the stable code and the field's message, and the name stays
    body = assert_error(response, 400, "validation_error")
    assert body["fields"]["name"] == ["A name is one line: no line breaks, tabs or other control characters."]
    assert Service.objects.get(pk=clinic.service.pk).name == clinic.service.name


def test_names_in_the_scripts_people_write_stay_allowed() -> None:
    # a name with accents, an apostrophe, an emoji joined by a zero-width joiner, or right-to-left script
    for name in ("Clínica São João", "O'Brien & Co", "Family \U0001f468\u200d\U0001f469\u200d\U0001f467 care", "عيادة"):
        assert name_error(name) is None, name
    assert name_error("   ") == "The name cannot be empty."
