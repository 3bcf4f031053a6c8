"""Patients text back: C confirms, X cancels within the chain's policy, STOP and START stop and restart
texts, anything else gets a helpful answer; each text is matched to the right patient and the right
upcoming appointment (the one the latest confirmation or reminder texted to that number named), once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config.events import subscribe
from notifications.models import (
    Channel,
    InboundMessage,
    Intent,
    Kind,
    Message,
    MessageStatus,
    ReplyOutcome,
)
from notifications.outbox import message_enqueue
from notifications.policy import refusal
from notifications.replies import Inbound, inbound_message_receive, intent_of
from patients import services as patients
from patients.models import Patient
from scheduling import services as sched
from scheduling.events import AppointmentCancelled
from scheduling.models import Appointment, Status
from tenants.audit.models import AccessLog
from tests.factories.scheduling import Clinic, book, clinic_setup
from tests.notifications.twilio_signing import new_sid, own_service, service_sid

MUM = "+447911123456"
OTHER = "+447946000012"


@pytest.fixture
def clinic(in_a) -> Clinic:
    clinic = clinic_setup(in_a)
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24)
    own_service(in_a)
    return clinic


def _patient(clinic: Clinic, first: str, phone: str = MUM, *, consent: bool = True) -> Patient:
    patient = patients.patient_create(
        actor=clinic.owner, first_name=first, last_name="Lane", phone=phone, ignore_duplicates=True
    )
    if consent:
        patient = patients.consent_set(actor=clinic.owner, patient=patient, channel="sms", given=True)
    return patient


def _texted(appointment: Appointment, *, kind: Kind = Kind.REMINDER, ago: timedelta = timedelta(hours=1)) -> Message:
    """An SMS about ``appointment`` that reached the patient's phone ``ago`` (as the dispatcher leaves it)."""
    assert appointment.patient is not None
    message = message_enqueue(
        kind=kind,
        channel=Channel.SMS,
        recipient=appointment.patient.phone,
        due_at=timezone.now() - ago,
        patient_id=appointment.patient_id,
        appointment_id=appointment.pk,
        branch_id=appointment.branch_id,
    )
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.DELIVERED, sent_at=timezone.now() - ago, provider_id=new_sid()
    )
    return message


def _text(body: str, sender: str = MUM, *, now: datetime | None = None, **more: str) -> InboundMessage:
    more.setdefault("messaging_service_sid", _service())
    row, created = inbound_message_receive(
        inbound=Inbound(sid=new_sid(), from_number=sender, body=body, **more), now=now
    )
    assert created
    return row


def _service() -> str:
    """The Messaging Service of the chain the test runs in (its own: texts through it act)."""
    return service_sid(connection.schema_name)  # type: ignore[attr-defined]


def _status(appointment: Appointment) -> str:
    return Appointment.objects.get(pk=appointment.pk).status


def _reply(row: InboundMessage) -> Message:
    assert row.reply is not None
    reply = Message.objects.get(pk=row.reply_id)
    assert (reply.kind, reply.channel, reply.recipient, reply.status) == (
        Kind.REPLY,
        Channel.SMS,
        row.from_number,
        MessageStatus.PENDING,
    )
    return reply


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("C", Intent.CONFIRM),
        ("  c ", Intent.CONFIRM),
        ("Confirm", Intent.CONFIRM),
        ("YES!", Intent.CONFIRM),
        ("x", Intent.CANCEL),
        (" Cancel. ", Intent.CANCEL),
        ("STOP", Intent.STOP),
        ("unsubscribe", Intent.STOP),
        ("Start", Intent.START),
        ("help", Intent.HELP),
        ("?", Intent.HELP),
        ("Can I bring my son?", Intent.OTHER),
        ("", Intent.OTHER),
    ],
)
def test_each_reply_word_is_read_case_and_space_insensitively(body, intent):
    # when a text is read, then its word says what it asks for
    assert intent_of(body=body) == intent


def test_twilios_opt_out_field_decides_over_the_words():
    # Twilio already acted on its own keywords: its verdict is the patient's
    assert intent_of(body="cancel", opt_out_type="STOP") == Intent.STOP
    assert intent_of(body="unstop", opt_out_type="START") == Intent.START
    # "yes" is Twilio's opt-in word and our confirmation: it confirms (and opts in, below)
    assert intent_of(body="yes", opt_out_type="START") == Intent.CONFIRM


def test_c_confirms_the_appointment_the_latest_reminder_was_about(clinic):
    # given a patient with an appointment, reminded by SMS
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    reminder = _texted(appointment)

    # when she replies "C"
    row = _text(" c")

    # then that appointment is confirmed and she is told so, through the outbox
    assert _status(appointment) == Status.CONFIRMED
    assert (row.outcome, row.patient_id, row.appointment_id, row.answers_id) == (
        ReplyOutcome.CONFIRMED,
        mum.pk,
        appointment.pk,
        reminder.pk,
    )
    reply = _reply(row)
    assert "confirmed" in reply.context["text"]
    assert (reply.patient_id, reply.appointment_id) == (mum.pk, appointment.pk)


def test_a_second_confirmation_is_answered_once_it_is_not_a_repeat_of_a_moment_ago(clinic):
    # given a confirmed appointment
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)
    _text("C")

    # when she texts "yes" again at once, and again the next day
    again = _text("yes")
    next_day = _text("yes", now=timezone.now() + timedelta(hours=13))

    # then nothing changes; the repeat is recorded and not answered, the next day's is told it already is
    assert (again.outcome, again.reply_id) == (ReplyOutcome.ALREADY_CONFIRMED, None)
    assert "answered" in again.detail
    assert next_day.outcome == ReplyOutcome.ALREADY_CONFIRMED
    assert _status(appointment) == Status.CONFIRMED
    assert "already confirmed" in _reply(next_day).context["text"]


def test_x_cancels_as_the_patient_and_the_desk_hears_of_it(clinic):
    # given an appointment three days ahead (outside the 24 h window), reminded by SMS
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)
    heard: list[AppointmentCancelled] = []
    subscribe(AppointmentCancelled, heard.append)

    # when she replies "X"
    row = _text("X")

    # then it is cancelled by her own account, as the patient's cancellation (fees, waitlist and
    # notices follow the normal event), not late
    stored = Appointment.objects.get(pk=appointment.pk)
    assert stored.status == Status.CANCELLED
    assert stored.cancellation_reason == "Cancelled by the patient's text message"
    assert stored.late_cancellation is False
    assert [(e.appointment_id, e.by_patient, e.late) for e in heard] == [(appointment.pk, True, False)]
    assert (row.outcome, row.appointment_id) == (ReplyOutcome.CANCELLED, appointment.pk)
    # and she gets one text: the cancellation notice (with the link to book again) is the answer
    texts = Message.objects.filter(recipient=MUM, status=MessageStatus.PENDING)
    assert [(m.kind, m.pk) for m in texts] == [(Kind.CANCELLED, row.reply_id)]
    assert "cancelled" in row.detail


def test_x_without_an_sms_cancellation_notice_is_answered_by_text(clinic):
    # given a patient who never agreed to texts about her visits (the notice goes by e-mail, or not at all)
    mum = _patient(clinic, "Mary", consent=False)
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)

    # when she replies "X"
    row = _text("X")

    # then it is cancelled and her text is answered by one SMS saying so
    assert (row.outcome, _status(appointment)) == (ReplyOutcome.CANCELLED, Status.CANCELLED)
    assert "is cancelled" in _reply(row).context["text"]
    assert Message.objects.filter(recipient=MUM, channel=Channel.SMS, status=MessageStatus.PENDING).count() == 1


def test_x_inside_the_cancellation_window_is_refused_as_the_booking_link_refuses_it(clinic):
    # given an appointment tomorrow morning-ish, inside a week-long window
    sched.policy_update(actor=clinic.owner, cancellation_window_hours=24 * 7)
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(2), 10), patient=mum)
    _texted(appointment)

    # when she replies "X"
    row = _text("x")

    # then the appointment stands, no portal account was made for the refusal, and she is told to call
    assert _status(appointment) == Status.BOOKED
    assert Patient.objects.get(pk=mum.pk).user_id is None
    assert row.outcome == ReplyOutcome.TOO_LATE
    text = _reply(row).context["text"]
    assert "not cancelled" in text
    assert "Please call" in text


def test_several_appointments_resolve_to_the_one_the_latest_text_named(clinic):
    # given a patient with three upcoming appointments, the latest reminder about the second
    mum = _patient(clinic, "Mary")
    first = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    second = book(clinic, clinic.at(clinic.days_ahead(5), 10), patient=mum)
    third = book(clinic, clinic.at(clinic.days_ahead(9), 10), patient=mum)
    _texted(first, kind=Kind.CONFIRMATION, ago=timedelta(days=2))
    _texted(third, kind=Kind.CONFIRMATION, ago=timedelta(days=1))
    _texted(second, kind=Kind.REMINDER, ago=timedelta(minutes=30))

    # when she replies "X"
    row = _text("X")

    # then only the second is cancelled
    assert [_status(a) for a in (first, second, third)] == [Status.BOOKED, Status.CANCELLED, Status.BOOKED]
    assert row.appointment_id == second.pk


def test_a_parent_and_child_sharing_a_phone_each_resolve_to_their_own_appointment(clinic):
    # given a mother and her son with one phone, each with an appointment
    mum = _patient(clinic, "Mary")
    son = _patient(clinic, "Sam")
    hers = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    his = book(clinic, clinic.at(clinic.days_ahead(4), 11), patient=son)

    # when the son's reminder comes last and the phone replies "C"
    _texted(hers, ago=timedelta(hours=3))
    _texted(his, ago=timedelta(hours=1))
    row = _text("C")

    # then the son's appointment is confirmed, under his record
    assert (_status(his), _status(hers)) == (Status.CONFIRMED, Status.BOOKED)
    assert (row.patient_id, row.patients_matched) == (son.pk, 2)

    # and when the mother's reminder follows and the phone replies "X", hers is cancelled
    _texted(hers, ago=timedelta(minutes=5))
    row = _text("X")
    assert (_status(hers), _status(his)) == (Status.CANCELLED, Status.CONFIRMED)
    assert row.patient_id == mum.pk


def test_a_reply_about_an_appointment_no_longer_changeable_changes_nothing_else(clinic):
    # given the latest reminder's appointment was cancelled at the desk; another is still booked
    mum = _patient(clinic, "Mary")
    reminded = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    other = book(clinic, clinic.at(clinic.days_ahead(6), 10), patient=mum)
    _texted(other, ago=timedelta(days=2))
    _texted(reminded, ago=timedelta(hours=1))
    sched.appointment_cancel(actor=clinic.receptionist, appointment=reminded, reason="Doctor ill")

    # when she replies "X"
    row = _text("X")

    # then the other appointment is not touched, and she is told the one she meant is cancelled
    assert _status(other) == Status.BOOKED
    assert row.outcome == ReplyOutcome.NOT_CHANGEABLE
    assert "is cancelled" in _reply(row).context["text"]


def test_without_a_text_the_only_upcoming_appointment_is_meant(clinic):
    # given a patient with one upcoming appointment and no text about it
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)

    # when she texts "C", then it is confirmed
    assert _text("C").outcome == ReplyOutcome.CONFIRMED
    assert _status(appointment) == Status.CONFIRMED


def test_without_a_text_several_appointments_are_answered_helpfully_and_none_changes(clinic):
    # given two upcoming appointments and no text naming one
    mum = _patient(clinic, "Mary")
    both = [book(clinic, clinic.at(clinic.days_ahead(d), 10), patient=mum) for d in (3, 5)]

    # when she texts "X"
    row = _text("X")

    # then nothing is cancelled and she is told how to choose
    assert [_status(a) for a in both] == [Status.BOOKED, Status.BOOKED]
    assert row.outcome == ReplyOutcome.AMBIGUOUS
    assert "2 upcoming appointments" in _reply(row).context["text"]


def test_no_upcoming_appointment_and_an_unknown_number_are_answered_helpfully(clinic):
    # given a patient with nothing booked
    _patient(clinic, "Mary")

    # when she texts "C", and a stranger texts "X"
    mine = _text("C")
    stranger = _text("X", sender=OTHER)

    # then each is told what to do, and nothing else happens
    assert mine.outcome == ReplyOutcome.NO_APPOINTMENT
    assert "no upcoming appointment" in _reply(mine).context["text"]
    assert (stranger.outcome, stranger.patient_id) == (ReplyOutcome.UNKNOWN_SENDER, None)
    assert "could not find this number" in _reply(stranger).context["text"]


@pytest.mark.parametrize("body", ["help", "What time is it again?"])
def test_help_and_anything_else_get_a_helpful_answer(clinic, body):
    # given a patient with an appointment
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)

    # when she texts something that is not a command
    row = _text(body)

    # then she is told the commands, and the appointment is as it was
    assert row.outcome == ReplyOutcome.ANSWERED
    text = _reply(row).context["text"]
    assert "reply C to confirm" in text
    assert "X to cancel" in text
    assert _status(appointment) == Status.BOOKED


def test_stop_withdraws_sms_consent_of_everyone_with_the_number_and_start_gives_it_back(clinic):
    # given a mother and son sharing a phone, both agreeing to texts, and another patient
    mum, son = _patient(clinic, "Mary"), _patient(clinic, "Sam")
    stranger = _patient(clinic, "Olga", phone=OTHER)

    # when the phone texts STOP
    row = _text("STOP")

    # then neither mother nor son gets texts any more (the dispatcher's policy refuses them); the
    # other patient still does; one last text confirms the opt-out
    for patient in (mum, son):
        assert not Patient.objects.get(pk=patient.pk).consents_to("sms")
    assert Patient.objects.get(pk=stranger.pk).consents_to("sms")
    reminder = message_enqueue(
        kind=Kind.REMINDER, channel=Channel.SMS, recipient=MUM, due_at=timezone.now(), patient_id=mum.pk
    )
    assert refusal(Message.objects.get(pk=reminder.pk)) is not None
    assert row.outcome == ReplyOutcome.OPTED_OUT
    confirmation = _reply(row)
    assert confirmation.patient_id is None  # not refused by the consent it confirms withdrawing
    assert "no more texts" in confirmation.context["text"]

    # when the phone texts START, then both agree again
    row = _text("start")
    for patient in (mum, son):
        assert Patient.objects.get(pk=patient.pk).consents_to("sms")
    assert row.outcome == ReplyOutcome.OPTED_IN
    assert refusal(Message.objects.get(pk=reminder.pk)) is None


def test_twilios_opt_out_is_recorded_without_a_second_answer(clinic):
    # given a patient who agreed to texts, with an appointment
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)

    # when Twilio's opt-out handling caught "cancel" as STOP (it has answered the patient itself)
    row = _text_opt_out("cancel", "STOP")

    # then her consent is withdrawn, Twilio's field is kept, nothing is sent, and nothing is cancelled
    assert not Patient.objects.get(pk=mum.pk).consents_to("sms")
    assert (row.intent, row.opt_out_type, row.outcome, row.reply_id) == (
        Intent.STOP,
        "STOP",
        ReplyOutcome.OPTED_OUT,
        None,
    )
    assert _status(appointment) == Status.BOOKED

    # and "yes" that Twilio reads as START both opts her in and confirms
    row = _text_opt_out("Yes", "START")
    assert Patient.objects.get(pk=mum.pk).consents_to("sms")
    assert (row.outcome, _status(appointment)) == (ReplyOutcome.CONFIRMED, Status.CONFIRMED)


def _text_opt_out(body: str, opt_out_type: str) -> InboundMessage:
    row, _ = inbound_message_receive(
        inbound=Inbound(
            sid=new_sid(), from_number=MUM, body=body, opt_out_type=opt_out_type, messaging_service_sid=_service()
        )
    )
    return row


def test_the_same_message_sid_twice_changes_nothing_the_second_time(clinic):
    # given a text "X" that was handled
    mum = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mum)
    _texted(appointment)
    inbound = Inbound(sid=new_sid(), from_number=MUM, body="X", messaging_service_sid=_service())
    first, created = inbound_message_receive(inbound=inbound)
    assert created
    messages = Message.objects.count()

    # when Twilio delivers it again
    again, created = inbound_message_receive(inbound=inbound)

    # then it is the same row, and no second answer or change is made
    assert (created, again.pk) == (False, first.pk)
    assert InboundMessage.objects.filter(sid=inbound.sid).count() == 1
    assert Message.objects.count() == messages
    assert _status(appointment) == Status.CANCELLED


def test_a_text_is_access_logged_under_its_patients(clinic):
    # given a mother and son sharing a phone
    mum, son = _patient(clinic, "Mary"), _patient(clinic, "Sam")

    # when the phone texts
    row = _text("hello")

    # then the text is on the access log under both patients
    logged = AccessLog.objects.filter(object_type="inbound_sms", object_id=str(row.pk))
    assert sorted(logged.values_list("patient_id", flat=True)) == sorted([mum.pk, son.pk])
    assert set(logged.values_list("action", flat=True)) == {AccessLog.Action.CREATE}


def test_twilios_help_is_recorded_without_a_second_answer(clinic):
    # given a patient; Twilio's opt-out handling answered her HELP itself
    mum = _patient(clinic, "Mary")

    # when its webhook tells us
    row = _text_opt_out("help", "HELP")

    # then the text is recorded under her, and we send nothing more
    assert (row.intent, row.outcome, row.patient_id, row.reply_id) == (Intent.HELP, ReplyOutcome.ANSWERED, mum.pk, None)


def test_x_from_a_number_handed_to_someone_else_does_not_cancel_the_previous_holders_visit(clinic):
    # given Mary was reminded on MUM about her appointment, then changed her number
    mary = _patient(clinic, "Mary")
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mary)
    _texted(appointment)
    patients.patient_update(actor=clinic.owner, patient=mary, phone="+447946000099")
    # and the carrier gave MUM to another patient of the chain
    _patient(clinic, "Stranger", phone=MUM)

    # when the number's new holder texts X
    row = _text("X", sender=MUM)

    # then Mary's visit stands: the old text speaks for nobody but the number's holder now
    assert _status(appointment) in (Status.BOOKED, Status.CONFIRMED)
    assert row.outcome != ReplyOutcome.CANCELLED


def test_x_after_the_texted_visit_was_cancelled_acts_on_the_only_upcoming_one(clinic):
    # given Mary was reminded of a visit the desk then cancelled, and she booked another one at the desk
    mary = _patient(clinic, "Mary")
    old = book(clinic, clinic.at(clinic.days_ahead(2), 10), patient=mary)
    _texted(old)
    sched.appointment_cancel(actor=clinic.receptionist, appointment=old, reason="doctor ill")
    new = book(clinic, clinic.at(clinic.days_ahead(5), 11), patient=mary)

    # when she texts X (no text named the new visit yet)
    row = _text("X")

    # then her only upcoming visit is the one cancelled
    assert _status(new) == Status.CANCELLED, (row.outcome, row.detail)
