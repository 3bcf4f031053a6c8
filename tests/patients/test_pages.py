"""Patient pages by role; every page read is in the access log."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tenants.audit.models import AccessLog
from tests.helpers import sign_in


@pytest.mark.parametrize(
    ("who", "path", "status", "shows_notes"),
    [
        ("receptionist", "chart", 200, False),
        ("billing", "chart", 200, False),
        ("branch_manager", "chart", 200, False),
        ("doctor", "chart", 200, True),
        ("outsider", "chart", 200, False),
        ("receptionist", "search", 200, False),
        ("billing", "search", 403, False),
        ("doctor", "note", 200, False),
        ("receptionist", "note", 403, False),
        ("outsider", "note", 403, False),
        ("owner", "audit", 200, False),
        ("branch_manager", "audit", 403, False),
    ],
)
def test_patient_pages_by_role(client, record, who, path, status, shows_notes):
    user = record.outsider if who == "outsider" else record.chain.users[who]
    with schema_context(record.chain.schema):  # the session lives in the chain's schema
        sign_in(client, user)
    url = {
        "chart": f"/patients/{record.patient.pk}/",
        "search": "/patients/?q=mul",
        "note": f"/patients/{record.patient.pk}/notes/new/",
        "audit": f"/patients/{record.patient.pk}/audit/",
    }[path]
    response = client.get(url, HTTP_HOST=record.chain.host)
    assert response.status_code == status
    assert (b"Cough for 3 weeks" in response.content) is shows_notes
    if status == 200 and path == "chart":
        with schema_context(record.chain.schema):
            assert AccessLog.objects.filter(actor_id=user.pk, action="view", patient_id=record.patient.pk).exists()


def test_outsider_sees_the_break_glass_form_not_the_notes(client, record):
    with schema_context(record.chain.schema):
        client.force_login(record.outsider)
    page = client.get(f"/patients/{record.patient.pk}/", HTTP_HOST=record.chain.host).content
    assert b"Open in an emergency" in page
    response = client.post(
        f"/patients/{record.patient.pk}/break-glass/",
        {"reason": "Patient collapsed in the waiting room"},
        HTTP_HOST=record.chain.host,
        follow=True,
    )
    assert b"Cough for 3 weeks" in response.content


def test_registering_a_likely_duplicate_shows_the_candidates(client, record):
    with schema_context(record.chain.schema):
        client.force_login(record.chain.users["receptionist"])
    form = {"first_name": "Someone", "last_name": "Else", "sex": "unknown", "phone": "+44 7911 123456"}
    page = client.post("/patients/new/", form, HTTP_HOST=record.chain.host)
    assert page.status_code == 200
    assert record.patient.mrn.encode() in page.content
    done = client.post("/patients/new/", {**form, "ignore_duplicates": "on"}, HTTP_HOST=record.chain.host)
    assert done.status_code == 302
