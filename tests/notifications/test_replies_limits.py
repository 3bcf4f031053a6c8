"""What a text gets back, and which texts may act: one helpful answer per number per period (two
auto-responders never loop), a command answered once however often it is repeated, the branch's number
to call in the helpful answer, only texts to the chain's own Messaging Service act on a patient, one
Messaging Service per chain, and staff answering a text (refused after STOP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications import reply_services
from notifications.exceptions import MessagingServiceTaken, ReplyOptedOut
from notifications.models import InboundMessage, Kind, Message, MessageStatus, ReplyOutcome
from notifications.replies import Inbound, inbound_message_receive
from notifications.selectors import messaging_settings_get
from notifications.services import messaging_settings_update
from patients.models import Patient
from scheduling import services as sched
from scheduling.models import Status
from tenants.audit.models import AccessLog
from tenants.models import MessagingService
from tenants.org import services as org
from tests.factories import Chain
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.notifications.test_messaging_settings import _values
from tests.notifications.test_replies import MUM, _patient, _status, _texted
from tests.notifications.twilio_signing import new_sid, own_service, service_sid

BOT = "+447700900123"


@pytest.fixture
def clinic(in_a: Chain) -> Clinic:
    clinic = clinic_setup(in_a)
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
    own_service(in_a)
    return clinic


def _text(
    body: str, sender: str = MUM, *, service: str | None = None, later: timedelta | None = None
) -> InboundMessage:
    """A text to the chain's own number (or through ``service``), ``later`` from now."""
    sid = service if service is not None else service_sid(connection.schema_name)  # type: ignore[attr-defined]
    now = timezone.now() + later if later is not None else None
    inbound = Inbound(sid=new_sid(), from_number=sender, body=body, messaging_service_sid=sid)
    row, created = inbound_message_receive(inbound=inbound, now=now)
    assert created
    return row


def _answers(number: str) -> int:
    return Message.objects.filter(recipient=number).count()


# --- one helpful answer per number per period -------------------------------------------------------


def test_an_unknown_number_texting_again_and_again_is_answered_once_per_period(clinic):
    # given an unknown number (an auto-responder answering each of our texts)

    # when it texts twenty times
    rows = [_text(f"Auto-reply: I am away ({i})", sender=BOT) for i in range(20)]

    # then every text is recorded, the first is answered, the others are not
    assert _answers(BOT) == 1
    assert rows[0].outcome == ReplyOutcome.UNKNOWN_SENDER
    assert rows[0].reply_id is not None
    assert {(r.outcome, r.reply_id) for r in rows[1:]} == {(ReplyOutcome.SILENT, None)}
    assert "12 hours" in rows[1].detail


def test_after_the_period_the_number_is_answered_again(clinic):
    # given a patient's question answered
    _patient(clinic, "Mary")
    _text("Do I need to bring anything?")

    # when she asks again at once, and again thirteen hours later
    again = _text("And parking?")
    later = _text("Is there parking?", later=timedelta(hours=13))

    # then the second is recorded only, the third is answered
    assert (again.outcome, again.reply_id) == (ReplyOutcome.SILENT, None)
    assert (later.outcome, later.reply_id is not None) == (ReplyOutcome.ANSWERED, True)
    assert _answers(MUM) == 2


def test_commands_are_answered_but_the_same_command_only_once(clinic):
    # given a patient reminded of her appointment, who asked a question (answered)
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)
    question = _text("What should I bring?")

    # when she confirms, stops texts twice, and starts them again
    confirm = _text("C")
    stop = _text("STOP")
    stop_again = _text("stop")
    start = _text("START")

    # then each command is answered (the help limit does not hold them back) but the repeated STOP
    assert question.reply_id is not None
    assert (confirm.outcome, _status(appointment)) == (ReplyOutcome.CONFIRMED, Status.CONFIRMED)
    assert confirm.reply_id is not None
    assert stop.reply_id is not None
    assert start.reply_id is not None
    assert (stop_again.outcome, stop_again.reply_id) == (ReplyOutcome.OPTED_OUT, None)
    assert Patient.objects.get(pk=mum.pk).consents_to("sms")


def test_the_helpful_answer_names_the_branchs_number_to_call(clinic):
    # given the branch has a phone number and a patient with no text about a visit yet
    org.branch_update(actor=clinic.owner, branch=clinic.branch, phone="020 7946 0000")
    _patient(clinic, "Mary")

    # when she asks a question, and an unknown number texts
    asked = _text("Do I need to bring anything?")
    stranger = _text("hello", sender=BOT)

    # then both answers give the branch's number to call
    for row in (asked, stranger):
        text = Message.objects.get(pk=row.reply_id).context["text"]
        assert f"Please call {clinic.branch.name} on 020 7946 0000." in text, text


# --- only the chain's own Messaging Service acts ------------------------------------------------------


@pytest.mark.parametrize("service", ["shared", "other chain"])
def test_a_text_not_through_the_chains_own_service_changes_nothing(clinic, chain_b, settings, service):
    # given Mary reminded of her visit, with SMS consent
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)
    before = _answers(MUM)
    through = settings.TWILIO_MESSAGING_SERVICE_SID if service == "shared" else service_sid(chain_b.schema)

    # when "X" and "STOP" come from her number through another Messaging Service
    cancel = _text("X", service=through)
    stop = _text("STOP", service=through)

    # then both are recorded, nothing is cancelled, her consent stands, nothing is answered
    assert {cancel.outcome, stop.outcome} == {ReplyOutcome.OTHER_SERVICE}
    assert (cancel.patient_id, cancel.reply_id) == (None, None)
    assert _status(appointment) == Status.BOOKED
    assert Patient.objects.get(pk=mum.pk).consents_to("sms")
    assert _answers(MUM) == before


def test_a_chain_with_no_service_of_its_own_does_not_act_on_texts(in_a: Chain, settings):
    # given a chain that sends through the platform's shared service, and a patient with a visit
    clinic = clinic_setup(in_a)
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)

    # when she texts X through the shared service
    row = _text("X", service=settings.TWILIO_MESSAGING_SERVICE_SID)

    # then it is recorded as not to this clinic's own number, and nothing changes
    assert row.outcome == ReplyOutcome.OTHER_SERVICE
    assert "shared" in row.detail
    assert _status(appointment) == Status.BOOKED


# --- one Messaging Service, one chain -------------------------------------------------------------------

A_SID = "MG" + "a1" * 16


def _name_service(chain: Chain, sid: str) -> Any:
    with schema_context(chain.schema):
        try:
            messaging_settings_update(actor=chain.users["owner"], values=_values(twilio_messaging_service_sid=sid))
        except MessagingServiceTaken as refused:
            return refused
        return None


def _service_of(chain: Chain) -> str:
    with schema_context(chain.schema):
        return messaging_settings_get().twilio_messaging_service_sid


def test_a_chain_cannot_name_another_chains_messaging_service(chain_a, chain_b):
    # given chain A texts through its own Messaging Service
    assert _name_service(chain_a, A_SID) is None

    # when chain B's owner names it as B's own
    refused = _name_service(chain_b, A_SID)

    # then refused with a stable code, naming what to do; B keeps what it had
    assert refused is not None
    assert refused.code == "messaging_service_taken"
    assert "your own" in refused.fields["twilio_messaging_service_sid"][0]
    assert _service_of(chain_b) != A_SID
    assert list(MessagingService.objects.filter(sid=A_SID).values_list("clinic_id", flat=True)) == [chain_a.clinic.pk]


def test_the_platforms_shared_service_cannot_be_named_as_a_chains_own(chain_a, settings):
    # when an owner names the platform's shared Messaging Service as her own
    refused = _name_service(chain_a, settings.TWILIO_MESSAGING_SERVICE_SID)

    # then refused: replies through it reach no one chain
    assert refused is not None
    assert refused.code == "messaging_service_taken"
    assert not MessagingService.objects.filter(sid=settings.TWILIO_MESSAGING_SERVICE_SID).exists()


def test_a_service_a_chain_gives_up_may_be_named_by_another(chain_a, chain_b):
    # given chain A named a service, then changed to another
    _name_service(chain_a, A_SID)
    _name_service(chain_a, "MG" + "b2" * 16)

    # when chain B names the first one, then it is B's
    assert _name_service(chain_b, A_SID) is None
    assert _service_of(chain_b) == A_SID
    assert MessagingService.objects.get(sid=A_SID).clinic_id == chain_b.clinic.pk


# --- staff answer a text -------------------------------------------------------------------------------


def test_reception_answers_a_patients_question_by_sms(clinic):
    # given Mary asked a question
    mum = _patient(clinic, "Mary")
    question = _text("Do I need to bring anything?")

    # when reception answers it
    answer = reply_services.text_answer(
        actor=clinic.receptionist, text=question, answer="  Just your glasses, thank you.  "
    )

    # then one SMS answer goes to her number now, headed with the clinic's name, written by the receptionist
    assert (answer.kind, answer.recipient, answer.status) == (Kind.REPLY, MUM, MessageStatus.PENDING)
    assert answer.context["text"].endswith(": Just your glasses, thank you.")
    assert (answer.patient_id, answer.staff_user_id) == (mum.pk, clinic.receptionist.pk)
    assert AccessLog.objects.filter(
        actor_id=clinic.receptionist.pk, action="create", object_type="message", object_id=str(answer.pk)
    ).exists()


def test_an_answer_is_refused_after_the_number_texted_stop_and_nothing_is_written(clinic):
    # given Mary asked a question and then texted STOP
    _patient(clinic, "Mary")
    question = _text("Do I need to bring anything?")
    _text("STOP")
    before = Message.objects.count()

    # when reception answers her question
    with pytest.raises(ReplyOptedOut) as refused:
        reply_services.text_answer(actor=clinic.receptionist, text=question, answer="Just your glasses.")

    # then refused, saying why, and nothing is written
    assert "STOP" in refused.value.message
    assert Message.objects.count() == before
    # and after START she may be answered again
    _text("START")
    assert reply_services.text_answer(actor=clinic.receptionist, text=question, answer="Glasses.").pk


def test_a_doctor_may_not_answer_a_text_and_nothing_is_written(clinic):
    from config.errors import PermissionDenied

    question = _text("hello", sender=BOT)
    before = Message.objects.count()
    with pytest.raises(PermissionDenied):
        reply_services.text_answer(actor=clinic.chain.users["doctor"], text=question, answer="Hello.")
    assert Message.objects.count() == before


# --- the automatic answers in the patient's language ------------------------------------------------------


def test_a_german_speaking_patient_is_answered_in_german(clinic):
    # given a patient whose language is German, reminded of her visit; the branch has a phone number
    from patients import services as patients

    org.branch_update(actor=clinic.owner, branch=clinic.branch, phone="020 7946 0000")
    anna = patients.patient_create(
        actor=clinic.owner, first_name="Anna", last_name="Lang", phone=MUM, preferred_language="de"
    )
    patients.consent_set(actor=clinic.owner, patient=anna, channel="sms", given=True)
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=anna)
    _texted(appointment)

    # when she confirms, asks a question and stops texts
    confirm, question, stop = _text("C"), _text("Parkplatz?"), _text("STOP")

    # then each answer is in German, with the branch's number to call
    said = [Message.objects.get(pk=row.reply_id).context["text"] for row in (confirm, question, stop)]
    assert "Danke, Ihr Termin am" in said[0]
    assert "ist bestätigt" in said[0]
    assert f"Bitte rufen Sie {clinic.branch.name} unter 020 7946 0000 an." in said[1]
    assert "Sie erhalten keine SMS mehr von uns" in said[2]


def test_an_english_speaking_patient_and_an_unknown_number_are_answered_in_english(clinic):
    _patient(clinic, "Mary")
    for row in (_text("help"), _text("hello", sender=BOT)):
        assert "Please call" in Message.objects.get(pk=row.reply_id).context["text"]
