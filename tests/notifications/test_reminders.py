"""Reminders follow their appointment inside the transaction that changes it: written on booking at
the chain's offsets (the past ones skipped), moved on reschedule (sent once per time), dropped on
cancel, no-show and visit; a series gets each occurrence's reminders once; holds get none; quiet
hours move a reminder to their end or before them (test_reminders_quiet.py); a day before is the
same wall-clock time the day before, across a clock change too."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from notifications import notices
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.policy import QUIET_MARGIN
from notifications.reminders import reminders_planned
from scheduling import services as sched
from scheduling.events import AppointmentBooked
from scheduling.models import Source
from tests.factories.scheduling import MONDAY, book, clinic_setup, clock_changes, local_today
from tests.notifications.sent_world import kinds, messaging, reachable, reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[24 * 60, 120], quiet=(time(21), time(8)))
    return clinic_setup(in_a, doctors=2, shift=(time(7), time(19)), opens=time(7), closes=time(19))


def test_booking_writes_one_reminder_per_offset(clinic):
    # given a patient who can be texted
    patient = reachable(clinic)
    # when reception books them for Monday 10:00
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # then two SMS reminders wait: Sunday 10:00 and Monday 08:00 on the branch's clock, to the patient's phone
    due = [m.due_at.astimezone(clinic.tz) for m in reminders(appointment.pk)]
    assert [(d.date(), d.time()) for d in due] == [(MONDAY - timedelta(days=1), time(10)), (MONDAY, time(8))]
    assert {m.recipient for m in reminders(appointment.pk)} == {patient.phone}
    # and none by e-mail (a reminder goes on one channel: SMS first)
    assert reminders(appointment.pk, channel=Channel.EMAIL) == []


def test_offsets_already_past_are_skipped(clinic):
    # given an appointment booked for Monday 10:00
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    # when the reminders are planned as if it were Monday 07:00 (the day-before one is past)
    planned = reminders_planned(appointment, now=clinic.at(MONDAY, 7))
    # then only the two-hour one is left
    assert list(planned) == [120]
    # and none at all once both moments are past
    assert reminders_planned(appointment, now=clinic.at(MONDAY, 9)) == {}


def test_a_reminder_moves_on_reschedule_and_is_sent_once(clinic):
    # given a booked appointment with its two reminders
    patient = reachable(clinic)
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    first_day, two_hours = reminders(appointment.pk)
    # when it is moved to Wednesday 15:00
    sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=clinic.at(MONDAY + timedelta(days=2), 15)
    )
    # then the same two rows wait, due a day and two hours before the new time
    moved = reminders(appointment.pk)
    assert [m.pk for m in moved] == [first_day.pk, two_hours.pk]
    wednesday = MONDAY + timedelta(days=2)
    assert [m.due_at for m in moved] == [clinic.at(wednesday - timedelta(days=1), 15), clinic.at(wednesday, 13)]
    # and nothing else about reminders was written or dropped
    assert Message.objects.filter(appointment_id=appointment.pk, kind=Kind.REMINDER).count() == 2


def test_a_sent_reminder_is_not_sent_again_for_the_same_time(clinic):
    # given an appointment whose day-before reminder went out
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    sent = reminders(appointment.pk)[0]
    Message.objects.filter(pk=sent.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    # when it is moved a week later and back to the same time
    later = sched.appointment_reschedule(
        actor=clinic.receptionist, appointment=appointment, start=clinic.at(MONDAY + timedelta(days=7), 10)
    )
    # then the week-later time gets a day-before reminder of its own, the sent one stays as it was
    pending = reminders(later.pk)
    assert [m.due_at for m in pending] == [
        clinic.at(MONDAY + timedelta(days=6), 10),
        clinic.at(MONDAY + timedelta(days=7), 8),
    ]
    sched.appointment_reschedule(actor=clinic.receptionist, appointment=later, start=clinic.at(MONDAY, 10))
    # and back at Monday 10:00 the day-before reminder is not written again (it was sent for this time)
    back = reminders(appointment.pk, status=None)
    day_before = [m for m in back if m.due_at == clinic.at(MONDAY - timedelta(days=1), 10)]
    assert [(m.pk, m.status) for m in day_before] == [(sent.pk, MessageStatus.SENT)]
    assert [m.due_at for m in reminders(appointment.pk)] == [clinic.at(MONDAY, 8)]


def test_cancelling_drops_the_reminders(clinic):
    # given a booked appointment with its reminders
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    assert len(reminders(appointment.pk)) == 2
    # when reception cancels it
    sched.appointment_cancel(actor=clinic.receptionist, appointment=appointment, reason="Unwell")
    # then no reminder waits any more: both are dropped, with the reason
    assert reminders(appointment.pk) == []
    dropped = reminders(appointment.pk, status=MessageStatus.CANCELLED)
    assert len(dropped) == 2
    assert {m.last_error for m in dropped} == {"The appointment is cancelled."}
    # and the patient is told instead
    assert (Kind.CANCELLED, Channel.SMS) in kinds(appointment.pk)


def test_a_no_show_and_a_visit_drop_what_is_left(clinic):
    # given two appointments on Monday, with reminders
    missed = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    came = book(clinic, clinic.at(MONDAY, 11), patient=reachable(clinic))
    # when one is marked missed and the other's patient checks in, on the day
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=missed, now=clinic.at(MONDAY, 10, 30))
    import time_machine

    with time_machine.travel(clinic.at(MONDAY, 10, 50), tick=False):
        sched.appointment_check_in(actor=clinic.receptionist, appointment=came)
    # then neither has a reminder waiting
    assert reminders(missed.pk) == reminders(came.pk) == []


def test_a_series_gets_each_reminder_once(clinic):
    # given a patient booked for three weekly visits as a series
    patient = reachable(clinic)
    _series, occurrences = sched.series_book(
        actor=clinic.receptionist,
        patient=patient,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        first_start=clinic.at(MONDAY, 10),
        count=3,
    )
    ids = [o.appointment.pk for o in occurrences if o.appointment]
    # then each occurrence has its two reminders, and the series one confirmation
    assert [len(reminders(pk)) for pk in ids] == [2, 2, 2]
    confirmations = Message.objects.filter(kind=Kind.CONFIRMATION, patient=patient)
    assert sorted(confirmations.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.SMS]
    # when the same booking events are handled again (a retried task, a replay)
    before = Message.objects.count()
    for pk in ids:
        notices.on_booked(AppointmentBooked(pk, None))
    # then nothing more is written
    assert Message.objects.count() == before


def test_a_hold_gets_nothing_until_it_is_confirmed(clinic):
    # given reception holding Monday 10:00 while a caller makes up their mind
    start = clinic.at(MONDAY, 10)
    hold = sched.appointment_hold(
        actor=clinic.receptionist,
        doctor=clinic.doctors[0],
        branch=clinic.branch,
        service=clinic.service,
        start=start,
        source=Source.PHONE,
    )
    # then nothing is written for it
    assert Message.objects.filter(appointment_id=hold.pk).count() == 0
    # when the hold is confirmed for a patient
    booked = sched.appointment_hold_confirm(
        actor=clinic.receptionist, hold=hold, hold_token=hold.hold_token, patient=reachable(clinic)
    )
    # then it gets its reminders and confirmation
    assert len(reminders(booked.pk)) == 2
    assert (Kind.CONFIRMATION, Channel.EMAIL) in kinds(booked.pk)


def test_a_reminder_in_quiet_hours_goes_when_they_end_if_an_hour_is_left(clinic):
    # given quiet hours from 21:00 to 08:00 and an appointment at 09:00 (its two-hour reminder would be 07:00)
    appointment = book(clinic, clinic.at(MONDAY, 9), patient=reachable(clinic))
    # then the two-hour reminder goes at 08:00, when quiet hours end (an hour before the visit), not the evening before
    sunday = MONDAY - timedelta(days=1)
    due = [m.due_at for m in reminders(appointment.pk)]
    assert due == [clinic.at(sunday, 9), clinic.at(MONDAY, 8)]


def test_two_offsets_brought_to_one_moment_make_one_reminder(clinic):
    # given reminders 10 and 11 hours before, which both fall in quiet hours for a 08:00 visit
    messaging(offsets=[600, 660])
    appointment = book(clinic, clinic.at(MONDAY, 8), patient=reachable(clinic))
    # then one reminder goes before quiet hours, not two at the same moment
    assert [m.due_at for m in reminders(appointment.pk)] == [clinic.at(MONDAY - timedelta(days=1), 21) - QUIET_MARGIN]


@pytest.mark.parametrize("change", ["forward", "back"])
def test_a_day_before_is_the_same_wall_clock_time_across_a_clock_change(clinic, change):
    # given the day the branch's clocks change (London: the last Sunday of March or October)
    forward, back = clock_changes(clinic.branch.timezone, after=local_today(clinic.tz) + timedelta(days=2))
    day = forward if change == "forward" else back
    # when a patient is booked for 10:00 that day
    appointment = book(clinic, clinic.at(day, 10), patient=reachable(clinic))
    # then the day-before reminder is due at 10:00 the day before, on the clock of that day: 23 or 25 hours earlier
    first = reminders(appointment.pk)[0].due_at
    assert first.astimezone(clinic.tz).time() == time(10)
    assert first.astimezone(clinic.tz).date() == day - timedelta(days=1)
    hours = (appointment.span.lower - first) / timedelta(hours=1)
    assert hours == (23 if change == "forward" else 25)


def test_a_patient_who_cannot_be_texted_is_reminded_by_email(clinic):
    # given a patient with only an e-mail address
    patient = reachable(clinic, sms=False)
    # when booked
    appointment = book(clinic, clinic.at(MONDAY, 10), patient=patient)
    # then the reminders go by e-mail
    assert [m.recipient for m in reminders(appointment.pk, channel=Channel.EMAIL)] == [patient.email] * 2
    assert reminders(appointment.pk) == []
