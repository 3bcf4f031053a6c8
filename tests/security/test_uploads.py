"""Uploaded files live under the chain's own prefix with generated names, and only the authorised
download view serves them."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from patients.models import Attachment
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import Api

PDF = b"%PDF-1.4\n% a lab result\n"


@pytest.fixture
def upload(api, chain_a, settings, tmp_path):
    """A doctor of chain A, booked by the owner to see a patient, uploads a file with a telling name."""
    settings.MEDIA_ROOT = tmp_path
    with schema_context(chain_a.schema):
        clinic = clinic_setup(chain_a, doctors=1)
        patient = clinic.patient("Uma")
        day = clinic.days_ahead(2)
        book(clinic, clinic.at(day, 10), actor=clinic.owner, patient=patient)
    client = api(chain_a, as_email=clinic.doctors[0].user.email)
    created = client.client.post(
        f"/api/v1/patients/{patient.pk}/attachments/",
        {"title": "Bloods", "file": SimpleUploadedFile("Uma Upload HIV result.pdf", PDF)},
    )
    assert created.status_code == 201, created.content
    with schema_context(chain_a.schema):
        attachment = Attachment.objects.get(pk=created.json()["id"])
    return client, attachment, tmp_path


def test_a_file_is_stored_under_its_chain_with_a_generated_name(upload, chain_a):
    # given an uploaded file named after the patient and the result
    _, attachment, media_root = upload

    # then it is stored as <schema>/attachments/<yyyy>/<uuid>.pdf, with nothing of the name it had
    name = attachment.file.name
    assert re.fullmatch(rf"{chain_a.schema}/attachments/{timezone.now():%Y}/[0-9a-f]{{32}}\.pdf", name), name
    assert not re.search(r"(?i)uma|upload|hiv|result", name.split("/attachments/")[1])
    assert (media_root / name).read_bytes() == PDF
    assert attachment.original_name == "Uma Upload HIV result.pdf"


def test_the_download_view_serves_it_as_an_attachment_under_its_name(upload):
    # when the doctor downloads it
    client, attachment, _ = upload
    response = client.call("GET", f"/api/v1/attachments/{attachment.pk}/download/")

    # then it is a download, under the name it was uploaded with, never rendered inline
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="Uma Upload HIV result.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_no_url_serves_the_media_folder(upload, chain_a):
    # when anyone asks for the stored path under MEDIA_URL, signed in or not
    client, attachment, _ = upload
    for who in (client, Api(chain_a.host)):
        # then nothing is served
        for path in (f"/media/{attachment.file.name}", f"/{attachment.file.name}"):
            response = who.call("GET", path)
            assert response.status_code == 404, path
            assert PDF not in response.content
