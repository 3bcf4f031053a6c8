"""How the access log keeps itself readable without losing a read: identical listings by one user
within a short window are coalesced into the first (never dropped), single records are always
logged, bearer secrets in URLs are never written to it, and refusals that show records log them."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import RequestFactory

from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_record, access_log_rows
from tenants.authz import Actor


def _listing(actor: Actor, ids: list[int], path: str = "/desk/1/?day=2030-01-07") -> None:
    access_log_rows(
        actor=actor,
        object_type="appointment",
        rows=[{"id": i, "patient_id": 1000 + i} for i in ids],
        request=RequestFactory().get(path),
    )


def _rows(actor: Actor) -> int:
    return AccessLog.objects.filter(actor_id=actor.pk, object_type="appointment").count()


def test_the_desk_refresh_is_coalesced_into_one_listing(in_a, django_capture_on_commit_callbacks):
    receptionist = in_a.users["receptionist"]
    # given a listing of two appointments, committed
    with django_capture_on_commit_callbacks(execute=True):
        _listing(receptionist, [1, 2])
    assert _rows(receptionist) == 2
    # when the same page shows the same rows again a moment later
    with django_capture_on_commit_callbacks(execute=True):
        _listing(receptionist, [2, 1])
    # then the first listing stands for it
    assert _rows(receptionist) == 2


def test_anything_different_is_logged_again(in_a, django_capture_on_commit_callbacks):
    receptionist, doctor = in_a.users["receptionist"], in_a.users["doctor"]
    with django_capture_on_commit_callbacks(execute=True):
        _listing(receptionist, [11, 12])
        _listing(receptionist, [11, 12, 13])  # a new appointment on the grid
        _listing(receptionist, [11, 12], path="/desk/1/?day=2030-01-08")  # another day
        _listing(doctor, [11, 12])  # another reader
    assert _rows(receptionist) == 2 + 3 + 2
    assert _rows(doctor) == 2


def test_a_single_record_view_is_never_coalesced(in_a, django_capture_on_commit_callbacks):
    doctor = in_a.users["doctor"]
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            access_log_record(actor=doctor, action="view", object_type="patient", object_ids=[5], patient_ids=[5])
    assert AccessLog.objects.filter(actor_id=doctor.pk, object_type="patient", object_id="5").count() == 3


def _failed_request_after_listing(actor: Actor) -> None:
    with transaction.atomic():
        _listing(actor, [21])
        raise RuntimeError("the request failed after the read")


def test_a_listing_rolled_back_does_not_hide_the_next(in_a, django_capture_on_commit_callbacks):
    receptionist = in_a.users["receptionist"]
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            _failed_request_after_listing(receptionist)
        assert _rows(receptionist) == 0
        _listing(receptionist, [21])
    assert _rows(receptionist) == 1


def test_the_window_can_be_switched_off(in_a, settings, django_capture_on_commit_callbacks):
    settings.ACCESS_LOG_COALESCE_SECONDS = 0
    receptionist = in_a.users["receptionist"]
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            _listing(receptionist, [31])
    assert _rows(receptionist) == 2


def test_manage_link_tokens_never_reach_the_log(in_a, client):
    from patients.services import patient_create
    from scheduling import services as sched
    from tests.factories.scheduling import book, clinic_setup

    # given an online booking's manage link
    clinic = clinic_setup(in_a, doctors=1)

    day = clinic.days_ahead(3)
    patient = patient_create(actor=clinic.owner, first_name="Link", last_name="Holder")
    booked = book(clinic, clinic.at(day, 11), patient=patient)
    token = sched.manage_link_issue(appointment=booked)
    # when someone opens it
    response = client.get(f"/book/manage/{token}/", HTTP_HOST=in_a.host)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # the page shows the patient's appointment
    # then the read is logged, without the token
    row = AccessLog.objects.filter(patient_id=patient.pk, object_type="appointment").latest("id")
    assert row.actor_label == "anonymous"
    assert token not in row.path
    assert row.path == "/book/manage/[redacted]/"
