"""Message pages at the desk: the log (status in words, the provider's error, filters, branch
scoping), a message's page with "Send again" (a new message, due now), and the patient's messages
on their record (access-logged)."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.models import Channel, Kind, Message, MessageStatus
from tenants.audit.models import AccessLog
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import sign_in
from tests.notifications.message_world import settled, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    return clinic_setup(in_a, doctors=1)


def _failed(clinic: Clinic) -> Message:
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    return settled(
        written(patient=appointment.patient, appointment=appointment, recipient="+15005550001"),
        MessageStatus.FAILED,
        error="21211: The 'To' number is not a valid phone number.",
    )


def test_the_log_shows_a_failure_in_words_with_its_error_and_filters_by_status(
    clinic: Clinic, in_a: Chain, client: Any
):
    failed = _failed(clinic)
    delivered = settled(
        written(patient=failed.patient, channel=Channel.EMAIL, recipient="d@example.com"), MessageStatus.DELIVERED
    )
    sign_in(client, in_a.users["receptionist"])
    # when reception opens the log
    page = client.get("/messages/", HTTP_HOST=in_a.host)
    # then the failure says so in words, with the provider's error, and the delivered e-mail is listed
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Messages</h1>" in html
    assert '<a href="/messages/replies/">Replies from patients</a>' in html
    assert '<span class="badge danger">Failed</span>' in html
    assert "Error: 21211: The &#x27;To&#x27; number is not a valid phone number." in html
    assert "d@example.com" in html
    # and filtering on failures leaves the delivered one out
    html = client.get("/messages/?status=failed", HTTP_HOST=in_a.host).content.decode()
    assert "+15005550001" in html
    assert "d@example.com" not in html
    # and the listing is in the access log, under the patient
    assert AccessLog.objects.filter(object_type="message", object_id=str(delivered.pk), action="list").exists()


def test_reception_resends_a_failed_message_from_its_page(clinic: Clinic, in_a: Chain, client: Any):
    failed = _failed(clinic)
    sign_in(client, in_a.users["receptionist"])
    page = client.get(f"/messages/{failed.pk}/", HTTP_HOST=in_a.host)
    assert page.status_code == 200
    assert b'<button type="submit">Send again</button>' in page.content
    # when she sends it again
    answer = client.post(f"/messages/{failed.pk}/resend/", HTTP_HOST=in_a.host)
    # then she lands on the new message, waiting to be sent now, which says what it resends
    resent = Message.objects.get(resend_of=failed)
    assert answer.status_code == 302
    assert answer["Location"] == f"/messages/{resent.pk}/"
    html = client.get(answer["Location"], HTTP_HOST=in_a.host).content.decode()
    assert "Sent again: the new message below goes out now." in html
    assert "Waiting to be sent" in html
    assert f'href="/messages/{failed.pk}/">the earlier message</a>' in html
    # and the failed one's page no longer offers another resend while this one is on its way
    html = client.get(f"/messages/{failed.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert "A resend of this message is already on its way." in html
    assert ">Send again</button>" not in html


def test_a_code_offers_no_resend(clinic: Clinic, in_a: Chain, client: Any):
    code = settled(written(patient=clinic.patient(), kind=Kind.SIGN_IN_CODE), MessageStatus.FAILED, error="x")
    sign_in(client, in_a.users["owner"])
    html = client.get(f"/messages/{code.pk}/", HTTP_HOST=in_a.host).content.decode()
    assert "A code is never sent twice" in html
    assert ">Send again</button>" not in html
    assert client.post(f"/messages/{code.pk}/resend/", HTTP_HOST=in_a.host).status_code == 302
    assert not Message.objects.filter(resend_of=code).exists()


def test_another_branchs_message_is_not_found_for_reception(in_a: Chain, client: Any):
    other = clinic_setup(in_a, branch=in_a.branches[1], doctors=1)
    failed = _failed(other)
    sign_in(client, in_a.users["receptionist"])  # works at branch 1 only
    assert client.get(f"/messages/{failed.pk}/", HTTP_HOST=in_a.host).status_code == 404
    assert client.post(f"/messages/{failed.pk}/resend/", HTTP_HOST=in_a.host).status_code == 404
    assert not Message.objects.filter(resend_of=failed).exists()
    assert "+15005550001" not in client.get("/messages/", HTTP_HOST=in_a.host).content.decode()


def test_a_doctor_has_no_message_log(in_a: Chain, client: Any):
    sign_in(client, in_a.users["doctor"])
    assert client.get("/messages/", HTTP_HOST=in_a.host).status_code == 403


def test_the_patients_messages_are_listed_from_their_record_and_the_read_is_logged(
    clinic: Clinic, in_a: Chain, client: Any
):
    failed = _failed(clinic)
    sign_in(client, in_a.users["receptionist"])
    # the record links to the patient's messages
    chart = client.get(f"/patients/{failed.patient_id}/", HTTP_HOST=in_a.host).content.decode()
    assert f'href="/patients/{failed.patient_id}/messages/"' in chart
    page = client.get(f"/patients/{failed.patient_id}/messages/", HTTP_HOST=in_a.host)
    html = page.content.decode()
    assert page.status_code == 200
    assert f"<h1>Messages to {failed.patient}</h1>" in html
    assert '<span class="badge danger">Failed</span>' in html
    assert AccessLog.objects.filter(
        object_type="message", object_id=str(failed.pk), patient_id=failed.patient_id, action="list"
    ).exists()


def test_a_message_no_longer_needed_says_why_on_its_page(clinic: Clinic, in_a: Chain, client: Any):
    # given a reminder dropped because its appointment was cancelled
    appointment = book(clinic, clinic.free_slot(clinic.days_ahead(3)), actor=clinic.owner)
    reminder = settled(
        written(patient=appointment.patient, appointment=appointment, recipient="+447700900321"),
        MessageStatus.CANCELLED,
        error="The appointment was cancelled.",
    )
    sign_in(client, in_a.users["receptionist"])
    # when reception opens its page
    html = client.get(f"/messages/{reminder.pk}/", HTTP_HOST=in_a.host).content.decode()
    # then it says it was not needed any more, and why
    assert reminder.get_status_display() in html
    assert "The appointment was cancelled." in html
