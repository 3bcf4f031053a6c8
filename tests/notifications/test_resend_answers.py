"""An answer to a patient's text is never sent again: it answered that text at that moment (her "C"
was confirmed, her "STOP" ended her texts). Sent again later it could tell her a visit since cancelled
"is confirmed", or text a number that has since opted out. Staff write to her afresh instead; the
message's page says why "Send again" is not offered."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from notifications import services as msg_services
from notifications.exceptions import MessageNotResendable
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from patients import services as patients
from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Appointment
from tests.conftest import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.helpers import sign_in

MUM = "+447911123456"

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    clinic = clinic_setup(in_a)
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
    return clinic


def _mary(clinic: Clinic) -> Patient:
    """Mary, who agreed to texts on MUM."""
    mary = patients.patient_create(
        actor=clinic.owner, first_name="Mary", last_name="Lane", phone=MUM, ignore_duplicates=True
    )
    return patients.consent_set(actor=clinic.owner, patient=mary, channel="sms", given=True)


def _answer_sent(text: str, *, patient: Patient | None, appointment: Appointment | None = None) -> Message:
    """An answer to one of the patient's texts, as the replies write it (an outbox row of kind REPLY)
    and the dispatcher leaves it: sent."""
    answer = message_enqueue(
        kind=Kind.REPLY,
        channel=Channel.SMS,
        recipient=MUM,
        due_at=timezone.now(),
        patient_id=patient.pk if patient else None,
        appointment_id=appointment.pk if appointment else None,
        branch_id=appointment.branch_id if appointment else None,
        context={"text": text},
    )
    Message.objects.filter(pk=answer.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    return Message.objects.get(pk=answer.pk)


def test_an_answer_is_not_resent_to_a_patient_who_then_texted_stop(clinic: Clinic) -> None:
    # given Mary confirmed her visit by text and was answered, then texted STOP (her consent withdrawn)
    mary = _mary(clinic)
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mary)
    answer = _answer_sent("Thank you: your visit is confirmed.", patient=mary, appointment=appointment)
    patients.consent_set(actor=clinic.owner, patient=mary, channel="sms", given=False)
    before = Message.objects.count()

    # when reception sends the old answer again
    with pytest.raises(MessageNotResendable) as refused:
        msg_services.message_resend(actor=clinic.receptionist, message=answer)

    # then refused with the stable code, and nothing is written: no text to a number that opted out
    assert refused.value.code == "message_not_resendable"
    assert Message.objects.count() == before


def test_the_stop_confirmation_is_not_resent(clinic: Clinic) -> None:
    # given Mary texted STOP and was told she gets no more texts (the one text sent past her opt-out: no patient)
    _mary(clinic)
    confirmation = _answer_sent("You will get no more texts from us. Reply START to get them again.", patient=None)
    before = Message.objects.count()

    # when reception sends it again
    with pytest.raises(MessageNotResendable):
        msg_services.message_resend(actor=clinic.receptionist, message=confirmation)

    # then nothing is written
    assert Message.objects.count() == before


def test_an_answer_saying_confirmed_is_not_resent_after_the_visit_was_cancelled(clinic: Clinic) -> None:
    # given Mary was told by text her visit is confirmed, then the desk cancelled it
    mary = _mary(clinic)
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mary)
    answer = _answer_sent("Thank you: your visit is confirmed.", patient=mary, appointment=appointment)
    sched.appointment_cancel(actor=clinic.receptionist, appointment=appointment, reason="doctor ill")
    before = Message.objects.count()

    # when reception sends the old answer again
    with pytest.raises(MessageNotResendable):
        msg_services.message_resend(actor=clinic.receptionist, message=answer)

    # then Mary is not told again that her cancelled visit is confirmed
    assert Message.objects.count() == before


def test_the_answers_page_says_why_it_is_not_sent_again(clinic: Clinic, in_a: Chain, client: Any) -> None:
    # given Mary's "C" was answered
    mary = _mary(clinic)
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mary)
    answer = _answer_sent("Thank you: your visit is confirmed.", patient=mary, appointment=appointment)
    sign_in(client, in_a.users["receptionist"])

    # when reception opens the answer's page
    html = client.get(f"/messages/{answer.pk}/", HTTP_HOST=in_a.host).content.decode()

    # then no "Send again", and the page says why and what to do instead
    assert ">Send again</button>" not in html
    assert "An answer to a patient&#x27;s text is not sent again" in html
    assert "Contact the patient afresh instead." in html
    # and a post anyway writes nothing
    client.post(f"/messages/{answer.pk}/resend/", HTTP_HOST=in_a.host)
    assert not Message.objects.filter(resend_of=answer).exists()


def test_an_offer_of_a_freed_time_is_not_sent_again_once_another_patient_booked_it(clinic: Clinic) -> None:
    # given an offer of a freed time e-mailed to Mary, and the time now another patient's booking
    mary = _mary(clinic)
    taken = book(clinic, clinic.at(clinic.days_ahead(3), 11))
    offer = message_enqueue(
        kind=Kind.WAITLIST_OFFER,
        channel=Channel.SMS,
        recipient=MUM,
        due_at=timezone.now(),
        patient_id=mary.pk,
        appointment_id=taken.pk,
        branch_id=taken.branch_id,
        context={"text": "We keep it for you until 10:30."},
    )
    Message.objects.filter(pk=offer.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    before = Message.objects.count()

    # when reception sends the offer again
    with pytest.raises(MessageNotResendable) as refused:
        msg_services.message_resend(actor=clinic.receptionist, message=Message.objects.get(pk=offer.pk))

    # then it is refused, saying why, and Mary is not offered another patient's visit
    assert "sent once" in refused.value.message
    assert Message.objects.count() == before
