from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.models import Clinic, Domain
from tenants.org.models import ChainSettings, Role, StaffMember
from tests.factories import PASSWORD
from tests.helpers import Api, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(api):
    return api(None, as_email="operator@platform.example")


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("select 1 from information_schema.schemata where schema_name = %s", [name])
        return cur.fetchone() is not None


def test_operator_creates_a_chain_with_schema_domain_and_owner(operator, client):
    response = operator.call(
        "POST",
        "/api/v1/clinics/",
        {
            "name": "Harbour Clinics",
            "slug": "harbour",
            "owner_email": "Boss@Harbour.example",
            "timezone": "Europe/Dublin",
            "currency": "eur",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "harbour"
    assert body["status"] == "active"
    assert body["url"] == "http://harbour.localhost:8000"
    assert _schema_exists("harbour")
    assert Domain.objects.filter(domain="harbour.localhost", tenant__slug="harbour").exists()
    with schema_context("harbour"):
        chain = ChainSettings.objects.get()
        assert (chain.name, chain.default_timezone, chain.currency) == ("Harbour Clinics", "Europe/Dublin", "EUR")
        owner = StaffMember.objects.get(user__email="boss@harbour.example")
        assert owner.roles == [Role.OWNER]
        assert not owner.user.has_usable_password()

    # the owner's one-time link sets a password, then the owner signs in at the chain's address
    path = body["owner_setup_link"].split(":8000", 1)[1]
    page = client.get(path, HTTP_HOST="harbour.localhost", follow=True)
    assert page.status_code == 200
    assert b"Choose a password" in page.content
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD}, HTTP_HOST="harbour.localhost")
    assert done.status_code == 302
    assert Api("harbour.localhost", "boss@harbour.example").token


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"slug": "Bad Slug!"}, {"slug"}),
        ({"slug": "www"}, {"slug"}),
        ({"timezone": "Mars/Olympus"}, {"timezone"}),
        ({"currency": "XXX"}, {"currency"}),
        ({"owner_email": "not-an-email"}, {"owner_email"}),
        ({"plan": "platinum"}, {"plan"}),
    ],
)
def test_invalid_chain_is_refused_and_nothing_is_created(operator, payload, fields):
    body = {
        "name": "X",
        "slug": "valid-slug",
        "owner_email": "x@example.com",
        "timezone": "UTC",
        "currency": "USD",
        **payload,
    }
    before = set(Clinic.objects.values_list("slug", flat=True))
    error = assert_error(operator.call("POST", "/api/v1/clinics/", body), 400, "validation_error")
    assert set(error["fields"]) == fields
    assert set(Clinic.objects.values_list("slug", flat=True)) == before
    assert not _schema_exists("valid_slug")


def test_duplicate_slug_is_a_conflict(operator, chain_a):
    body = {
        "name": "Again",
        "slug": chain_a.clinic.slug,
        "owner_email": "x@example.com",
        "timezone": "UTC",
        "currency": "USD",
    }
    assert_error(operator.call("POST", "/api/v1/clinics/", body), 409, "clinic_slug_taken")


def test_only_platform_operators_manage_chains(api, chain_a):
    anonymous = api(None)
    assert_error(anonymous.call("GET", "/api/v1/clinics/"), 401, "not_authenticated")
    with schema_context("public"):
        User.objects.create_user(email="plain@platform.example", password=PASSWORD)
    plain = api(None, as_email="plain@platform.example")
    assert_error(plain.call("GET", "/api/v1/clinics/"), 403, "permission_denied")
    assert_error(plain.call("POST", f"/api/v1/clinics/{chain_a.clinic.slug}/suspend/", {"reason": "x"}), 403)
    assert Clinic.objects.get(pk=chain_a.clinic.pk).status == Clinic.Status.ACTIVE


def _cli_create(name: str, slug: str, timezone: str = "Asia/Tokyo") -> None:
    options = {"name": name, "slug": slug, "owner-email": "o@cli.example", "timezone": timezone, "currency": "JPY"}
    call_command("clinic_create", *(arg for key, value in options.items() for arg in (f"--{key}", value)))


def test_cli_creates_a_chain_and_reports_bad_input(capsys):
    _cli_create("Cli Care", "cli-care")
    out = capsys.readouterr().out
    assert "schema cli_care" in out
    assert "http://cli-care.localhost:8000/accounts/reset/" in out
    with pytest.raises(CommandError, match="clinic_slug_taken"):
        _cli_create("Again", "cli-care")
    with pytest.raises(CommandError, match="timezone"):
        _cli_create("Bad", "bad-tz", timezone="Nowhere")


def test_a_spare_schema_becomes_the_new_chain(operator):
    from tenants.services import clinic_spares_replenish

    assert clinic_spares_replenish(target=1) == 1
    spare = Clinic.objects.get(status=Clinic.Status.SPARE)
    assert not operator.call("GET", "/api/v1/clinics/?status=spare").json()["results"]  # operators never see spares
    response = operator.call(
        "POST",
        "/api/v1/clinics/",
        {
            "name": "Quick Care",
            "slug": "quick-care",
            "owner_email": "q@quick.example",
            "timezone": "UTC",
            "currency": "USD",
        },
    )
    assert response.status_code == 201, response.content
    clinic = Clinic.objects.get(slug="quick-care")
    assert clinic.pk == spare.pk
    assert clinic.status == Clinic.Status.ACTIVE
    assert _schema_exists("quick_care")
    assert not _schema_exists(spare.schema_name)
    with schema_context("quick_care"):
        assert ChainSettings.objects.get().name == "Quick Care"
        from patients.models import Patient
        from patients.services import patient_create

        # the sequence behind MRNs came along with the rename
        owner = User.objects.get(email="q@quick.example")
        owner.set_password(PASSWORD)
        owner.save()
        assert patient_create(actor=owner, first_name="A", last_name="B").mrn == "P0000001"
        assert Patient.objects.count() == 1
        # the reporting marks' triggers follow the rename: they write to the chain's own schema
        from datetime import time

        from reporting.models import Dirty
        from scheduling.models import BranchHours
        from tenants.org.models import Branch

        branch = Branch.objects.create(name="Quay", timezone="UTC")
        BranchHours.objects.create(branch=branch, weekday=0, opens=time(9), closes=time(17))
        assert Dirty.objects.filter(scope="hours", branch_id=branch.pk).exists()
    assert not Clinic.objects.filter(status=Clinic.Status.SPARE).exists()
