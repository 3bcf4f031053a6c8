"""The replies page (/messages/replies/): whoever reads the message log reads what patients texted back,
whom it was matched to and what was done, within the branches they see, and answers a text from the
page; the texts are access-logged; doctors and patients are refused and nothing is logged for them."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.models import Kind, Message
from notifications.replies import Inbound, inbound_message_receive
from patients import services as patients
from patients.models import Patient
from patients.portal import portal_user_for
from scheduling import services as sched
from tenants.audit.models import AccessLog
from tests.factories import Chain
from tests.factories.scheduling import book, clinic_setup
from tests.helpers import sign_in
from tests.notifications.twilio_signing import new_sid, own_service

pytestmark = pytest.mark.django_db

PAGE = "/messages/replies/"
PHONE = "+447911123456"


@pytest.fixture
def replied(in_a: Chain):
    """A patient at the first branch texted X (cancelled); one at the second branch texted C."""
    sched.policy_update(actor=in_a.users["owner"], cancellation_window_hours=24)
    here = clinic_setup(in_a, branch=in_a.branches[0], doctors=1)
    there = clinic_setup(in_a, branch=in_a.branches[1], doctors=1)
    mary = patients.patient_create(actor=here.owner, first_name="Mary", last_name="Lane", phone=PHONE)
    olga = patients.patient_create(actor=here.owner, first_name="Olga", last_name="Far", phone="+447946000012")
    book(here, here.at(here.days_ahead(3), 10), patient=mary)
    book(there, there.at(there.days_ahead(4), 11), patient=olga, actor=there.owner)
    service = own_service(in_a)
    cancelled, _ = inbound_message_receive(
        inbound=Inbound(sid=new_sid(), from_number=PHONE, body="X", messaging_service_sid=service)
    )
    confirmed, _ = inbound_message_receive(
        inbound=Inbound(sid=new_sid(), from_number=olga.phone, body="C", messaging_service_sid=service)
    )
    return mary, olga, cancelled, confirmed


def test_the_owner_reads_every_reply_with_what_was_done(replied, in_a: Chain, client: Any):
    mary, olga, cancelled, _ = replied
    # given the owner signed in
    sign_in(client, in_a.users["owner"])

    # when she opens the replies page
    page = client.get(PAGE, HTTP_HOST=in_a.host)

    # then both texts show, with their patients and outcomes, and the read is on the access log
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Replies from patients</h1>" in html
    assert "Mary Lane" in html
    assert "Olga Far" in html
    assert "Appointment cancelled" in html
    assert "Appointment confirmed" in html
    logged = AccessLog.objects.filter(object_type="inbound_sms", action="list", actor_id=in_a.users["owner"].pk)
    assert {mary.pk, olga.pk} <= set(logged.values_list("patient_id", flat=True))
    assert str(cancelled.pk) in set(logged.values_list("object_id", flat=True))


def test_reception_reads_only_replies_about_its_branches(replied, in_a: Chain, client: Any):
    # given the receptionist, who works at the first branch only
    sign_in(client, in_a.users["receptionist"])

    # when she opens the replies page, then she sees the first branch's reply and not the second's
    html = client.get(PAGE, HTTP_HOST=in_a.host).content.decode()
    assert "Mary Lane" in html
    assert "Olga Far" not in html


def test_a_patient_may_not_read_the_replies(replied, in_a: Chain, client: Any):
    mary = replied[0]
    # given a patient signed in to the portal
    sign_in(client, portal_user_for(patient=Patient.objects.get(pk=mary.pk)))

    # when she opens the replies page, then she is refused
    assert client.get(PAGE, HTTP_HOST=in_a.host).status_code == 403


def test_a_doctor_does_not_read_the_patients_texts_and_nothing_is_logged(replied, in_a: Chain, client: Any):
    # given a doctor signed in (doctors have no message log)
    sign_in(client, in_a.users["doctor"])
    logged = AccessLog.objects.count()

    # when she opens the replies page
    page = client.get(PAGE, HTTP_HOST=in_a.host)

    # then refused like the message log: no text, no number, nothing on the access log
    assert page.status_code == 403
    assert b"Mary Lane" not in page.content
    assert PHONE.encode() not in page.content
    assert AccessLog.objects.count() == logged


def _stranger_texts(in_a: Chain, body: str) -> Any:
    row, _ = inbound_message_receive(
        inbound=Inbound(sid=new_sid(), from_number="+447700900123", body=body, messaging_service_sid=own_service(in_a))
    )
    return row


def test_a_text_about_no_appointment_shows_a_dash(replied, in_a: Chain, client: Any):
    # given an unknown number texted a question
    _stranger_texts(in_a, "Are you open on Sunday?")
    sign_in(client, in_a.users["owner"])

    # when the owner opens the replies page, then its appointment column says "—", never "None"
    html = client.get(PAGE, HTTP_HOST=in_a.host).content.decode()
    assert "Are you open on Sunday?" in html
    assert ">—</span>" in html
    assert ">None<" not in html


def test_reception_answers_a_text_from_the_page(replied, in_a: Chain, client: Any):
    # given a question from an unknown number, and reception signed in
    question = _stranger_texts(in_a, "Are you open on Sunday?")
    sign_in(client, in_a.users["receptionist"])
    page = client.get(PAGE, HTTP_HOST=in_a.host).content.decode()
    assert f'action="/messages/replies/{question.pk}/answer/"' in page

    # when she answers it
    response = client.post(
        f"/messages/replies/{question.pk}/answer/", {"answer": "Yes, 10 to 4."}, HTTP_HOST=in_a.host, follow=True
    )

    # then an SMS answer goes to the number, and the page says so
    answer = Message.objects.get(
        kind=Kind.REPLY, recipient="+447700900123", staff_user_id=in_a.users["receptionist"].pk
    )
    assert answer.context["text"].endswith(": Yes, 10 to 4.")
    assert "Answer written" in response.content.decode()


def test_an_answer_after_stop_is_refused_with_a_clear_message_and_nothing_written(replied, in_a: Chain, client: Any):
    # given a number that asked a question and then texted STOP
    question = _stranger_texts(in_a, "Are you open on Sunday?")
    _stranger_texts(in_a, "STOP")
    sign_in(client, in_a.users["receptionist"])
    before = Message.objects.count()

    # when reception answers the question
    response = client.post(
        f"/messages/replies/{question.pk}/answer/", {"answer": "Yes."}, HTTP_HOST=in_a.host, follow=True
    )

    # then she is told why, and nothing is written
    assert "texted STOP" in response.content.decode()
    assert Message.objects.count() == before


def test_a_doctor_cannot_answer_and_reception_cannot_answer_another_branchs_text(replied, in_a: Chain, client: Any):
    confirmed = replied[3]  # Olga's text, about an appointment at the second branch
    before = Message.objects.count()

    # a doctor is refused
    sign_in(client, in_a.users["doctor"])
    url = f"/messages/replies/{confirmed.pk}/answer/"
    assert client.post(url, {"answer": "Hi"}, HTTP_HOST=in_a.host).status_code == 403

    # reception of the first branch does not find a text about the second
    sign_in(client, in_a.users["receptionist"])
    assert client.post(url, {"answer": "Hi"}, HTTP_HOST=in_a.host).status_code == 404
    assert Message.objects.count() == before


def test_staff_answers_show_on_the_row_after_the_automatic_one_oldest_first(replied, in_a: Chain, client: Any):
    # given a question from an unknown number, answered automatically, and reception signed in
    question = _stranger_texts(in_a, "Are you open on Sunday?")
    sign_in(client, in_a.users["receptionist"])

    # when she answers it twice
    url = f"/messages/replies/{question.pk}/answer/"
    client.post(url, {"answer": "Yes, 10 to 4."}, HTTP_HOST=in_a.host)
    client.post(url, {"answer": "And on Monday 8 to 6."}, HTTP_HOST=in_a.host)

    # then the row shows the automatic answer, then both of hers, with who wrote them and their status
    html = client.get(PAGE, HTTP_HOST=in_a.host).content.decode()
    row = html[html.index(f'id="text-{question.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Automatic answer:" in row
    assert row.count(f"{in_a.users['receptionist']} answered:") == 2
    assert row.index("Automatic answer:") < row.index(": Yes, 10 to 4.") < row.index(": And on Monday 8 to 6.")
    assert "Waiting to be sent" in row


def test_an_x_answered_by_the_cancellation_notice_shows_the_notice_as_sent(replied, in_a: Chain, client: Any):
    # given a patient who agreed to texts replied X: the SMS cancellation notice answered her text
    here = clinic_setup(in_a, branch=in_a.branches[0], doctors=1)
    ann = patients.patient_create(actor=here.owner, first_name="Ann", last_name="Texter", phone="+447946000077")
    patients.consent_set(actor=here.owner, patient=ann, channel="sms", given=True)
    book(here, here.at(here.days_ahead(5), 12), patient=ann)
    cancelled, _ = inbound_message_receive(
        inbound=Inbound(sid=new_sid(), from_number=ann.phone, body="X", messaging_service_sid=own_service(in_a))
    )
    notice = Message.objects.get(pk=cancelled.reply_id)
    assert notice.kind == Kind.CANCELLED
    sign_in(client, in_a.users["owner"])

    # before it goes: the row says the cancellation notice answers it, and shows no made-up answer
    row = _row(client.get(PAGE, HTTP_HOST=in_a.host).content.decode(), cancelled.pk)
    assert "Answered by the cancellation notice" in row
    assert "told by the cancellation notice" not in row

    # when the notice has gone, the row shows the text as it was sent
    Message.objects.filter(pk=notice.pk).update(
        status="sent", sent_at=notice.due_at, body="Clinic: your Check-up on Thursday is cancelled. Book again: x"
    )
    row = _row(client.get(PAGE, HTTP_HOST=in_a.host).content.decode(), cancelled.pk)
    assert "Answered by the cancellation notice" in row
    assert "Clinic: your Check-up on Thursday is cancelled. Book again: x" in row


def _row(html: str, pk: int) -> str:
    row = html[html.index(f'id="text-{pk}"') :]
    return row[: row.index("</tr>")]
