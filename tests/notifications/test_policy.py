"""Consent, opt-out, the chain's switches and quiet hours, judged again when a message is sent; and
times written on the branch's clock in the patient's language, on both sides of a clock change."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from notifications.models import Channel, Kind, Message
from notifications.outbox import message_enqueue
from notifications.placeholders import placeholders
from notifications.policy import postponed, refusal, routes
from patients.services import consent_set
from scheduling import services as sched
from tests.factories.scheduling import MONDAY, book, clinic_setup, clock_changes, local_today
from tests.notifications.sent_world import messaging, reachable, reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[24 * 60], quiet=(time(21), time(8)), sms_enabled=True, email_enabled=True)
    return clinic_setup(in_a, doctors=1, shift=(time(7), time(19)), opens=time(7), closes=time(19))


def test_a_patient_who_opts_out_after_booking_gets_no_more_texts(clinic):
    # given a reminder written while the patient agreed to texts
    patient = reachable(clinic)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    [reminder] = reminders(appointment.pk)
    assert refusal(reminder) is None
    # when the patient withdraws SMS consent (STOP, or at the desk)
    consent_set(actor=clinic.owner, patient=patient, channel="sms", given=False)
    reminder.refresh_from_db()
    reminder.patient.refresh_from_db()
    # then the reminder is refused when its time comes, saying why
    assert refusal(reminder) == "The patient opted out of SMS messages."
    # and nothing new is written by text: the next booking is confirmed and reminded by e-mail only
    later = book(clinic, clinic.at(MONDAY, 12), patient=patient)
    assert {m.channel for m in Message.objects.filter(appointment_id=later.pk)} == {Channel.EMAIL}


def test_texts_need_consent_emails_about_a_booking_do_not_until_withdrawn(clinic):
    # given a patient who never said anything about texts or e-mails
    patient = reachable(clinic, sms=False)
    patient.phone = "+447912399999"
    patient.save()
    # then booking messages go by e-mail, not by text
    assert routes(patient, kind=Kind.CONFIRMATION) == [(Channel.EMAIL, patient.email)]
    # and a follow-up reminder (not about a booking) needs consent on either channel
    assert routes(patient, kind=Kind.FOLLOW_UP) == []
    # when they withdraw e-mail consent
    patient = consent_set(actor=clinic.owner, patient=patient, channel="email", given=False)
    # then nothing reaches them
    assert routes(patient, kind=Kind.CONFIRMATION) == []


def test_what_the_patient_asked_for_is_sent_whatever_the_consent_and_the_hour(clinic):
    # given a patient who opted out of texts, asking for a sign-in code by SMS at 23:00
    patient = consent_set(actor=clinic.owner, patient=reachable(clinic), channel="sms", given=False)
    code = message_enqueue(
        kind=Kind.SIGN_IN_CODE,
        channel=Channel.SMS,
        recipient=patient.phone,
        due_at=clinic.at(MONDAY, 23),
        patient_id=patient.pk,
        branch_id=clinic.branch.pk,
        context={"code": "123456", "secret": ["code"]},
    )
    # then it is neither refused nor held back
    assert refusal(code) is None
    assert postponed(code, now=clinic.at(MONDAY, 23)) is None
    # and the code is a secret
    assert placeholders(code).secrets == ("123456",)


def test_the_chain_turning_a_channel_off_stops_what_waits_on_it(clinic):
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    [reminder] = reminders(appointment.pk)
    messaging(sms_enabled=False)
    assert refusal(reminder) == "The chain has turned SMS messages off."


def test_a_reminder_of_a_cancelled_appointment_is_refused_if_it_slipped_through(clinic):
    # given a reminder already claimed by the dispatcher when the appointment is cancelled
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    [reminder] = reminders(appointment.pk)
    Message.objects.filter(pk=reminder.pk).update(status="sending")
    sched.appointment_cancel(actor=clinic.receptionist, appointment=appointment)
    reminder.refresh_from_db()
    # then sending it is refused
    assert refusal(reminder) == "The appointment is cancelled: nothing to tell about it any more."


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ((0, 21, 0), (1, 8, 0)),  # quiet hours begin: the next morning
        ((1, 3, 15), (1, 8, 0)),  # in the night: this morning
        ((1, 8, 0), None),  # they are over
        ((0, 20, 59), None),  # not yet
    ],
)
def test_quiet_hours_on_the_branchs_clock(clinic, now, until):
    appointment = book(clinic, clinic.at(MONDAY + timedelta(days=3), 10), patient=reachable(clinic))
    [reminder] = reminders(appointment.pk)
    day, hh, mm = now
    expected = clinic.at(MONDAY + timedelta(days=until[0]), until[1], until[2]) if until else None
    assert postponed(reminder, now=clinic.at(MONDAY + timedelta(days=day), hh, mm)) == expected


@pytest.mark.parametrize("change", ["forward", "back"])
def test_quiet_hours_end_at_eight_on_the_morning_after_a_clock_change(clinic, change):
    # given a message due on the night the clocks change
    forward, back = clock_changes(clinic.branch.timezone, after=local_today(clinic.tz) + timedelta(days=2))
    day = forward if change == "forward" else back
    appointment = book(clinic, clinic.at(day + timedelta(days=3), 10), patient=reachable(clinic))
    [reminder] = reminders(appointment.pk)
    # when the dispatcher asks at 23:00 the evening before
    until = postponed(reminder, now=clinic.at(day - timedelta(days=1), 23))
    # then it waits until 08:00 on the wall clock of the day of the change
    assert until is not None
    local = until.astimezone(clinic.tz)
    assert (local.date(), local.time()) == (day, time(8))


@pytest.mark.parametrize("change", ["forward", "back"])
@pytest.mark.parametrize("side", [-1, 1])
def test_times_are_written_on_the_branchs_clock_on_both_sides_of_a_clock_change(clinic, change, side):
    # given an appointment at 10:00 on the day before or after the branch's clocks change
    forward, back = clock_changes(clinic.branch.timezone, after=local_today(clinic.tz) + timedelta(days=2))
    day = (forward if change == "forward" else back) + timedelta(days=side)
    patient = reachable(clinic, language="de")
    appointment = book(clinic, clinic.at(day, 10), patient=patient)
    confirmation = Message.objects.filter(appointment_id=appointment.pk, kind=Kind.CONFIRMATION).first()
    # when its message is composed
    values = placeholders(confirmation).values
    # then it says 10:00, in German, with the German weekday
    assert confirmation.language == "de"
    assert values["time"] == "10:00"
    weekday = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"][day.weekday()]
    assert values["date"].startswith(weekday)
    assert values["when"] == f"{values['date']}, 10:00"


def test_the_patients_language_else_the_chains(clinic):
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    [reminder] = reminders(appointment.pk)
    assert reminder.language == "en"
    assert placeholders(reminder).values["time"] in {"10:00\u202fAM", "10:00 AM"}


def test_a_patient_writing_english_in_a_british_chain_reads_british_dates(clinic):
    # given a British chain and a patient whose language is plain English
    from patients.models import Patient
    from tenants.org import services as org

    org.chain_settings_update(actor=clinic.owner, locale="en-GB")
    patient = reachable(clinic)
    Patient.objects.filter(pk=patient.pk).update(preferred_language="en")
    # when her visit at 10:00 is reminded
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=Patient.objects.get(pk=patient.pk))
    [reminder] = reminders(appointment.pk)
    values = placeholders(reminder).values
    # then she is written to as the chain's patients write: a 24-hour clock, the day before the month
    assert reminder.language == "en-gb"
    assert values["time"] == "10:00"
    assert values["date"].split(", ")[1].split(" ")[0].isdigit()
