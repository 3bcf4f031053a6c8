"""The branch managers' morning summary, on each branch's own clock, written once a day; and the
patients' follow-up reminders, once each, not to a patient who already booked."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine

from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from notifications.schedule_tasks import scheduled_messages_write
from notifications.summary import daily_summaries_write, follow_up_reminders_write
from patients.services import care_team_assign, follow_up_create
from scheduling import services as sched
from tenants.org import services as org
from tenants.org.models import Role
from tests.factories import user_with_roles
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.notifications.sent_world import messaging, reachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(in_a):
    messaging(offsets=[], quiet=(time(21), time(8)))
    return clinic_setup(in_a, doctors=1)


def _summaries():
    return list(Message.objects.filter(kind=Kind.DAILY_SUMMARY).order_by("pk"))


def test_each_branch_is_summarised_on_its_own_morning(clinic, in_a):
    # given a London branch (the clinic's) and a Tokyo branch, each with a manager
    tokyo = org.branch_create(actor=clinic.owner, name="Tokyo Ginza", timezone_name="Asia/Tokyo")
    london_manager = in_a.users["branch_manager"]  # manages the chain's first branch
    tokyo_manager = user_with_roles(email="tokyo.manager@alpha.example", roles=[Role.BRANCH_MANAGER], branches=[tokyo])
    # and yesterday a no-show and a cancellation at London, three visits today
    sunday = MONDAY - timedelta(days=1)
    missed = book(clinic, clinic.at(sunday, 10), patient=reachable(clinic))
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=missed, now=clinic.at(sunday, 11))
    called_off = book(clinic, clinic.at(sunday, 12), patient=reachable(clinic))
    sched.appointment_cancel(actor=clinic.receptionist, appointment=called_off, now=clinic.at(sunday, 9))
    for hour in (9, 11, 14):
        book(clinic, clinic.at(MONDAY, hour), patient=reachable(clinic))
    # and a message to a London patient failed yesterday
    failed = message_enqueue(
        kind=Kind.REMINDER,
        channel=Channel.SMS,
        recipient="+447700900001",
        due_at=clinic.at(sunday, 18),
        branch_id=clinic.branch.pk,
    )
    Message.objects.filter(pk=failed.pk).update(status=MessageStatus.FAILED)
    # when the task runs at 07:05 on Monday in London (16:05 in Tokyo: past Tokyo's morning)
    with time_machine.travel(clinic.at(MONDAY, 7, 5), tick=False):
        scheduled_messages_write()
    # then London's manager has Monday's summary by e-mail, and Tokyo's manager nothing
    [london] = _summaries()
    assert (london.channel, london.recipient, london.branch_id) == (
        Channel.EMAIL,
        london_manager.email,
        clinic.branch.pk,
    )
    text = london.context["text"]
    assert text.startswith("3 appointments today, the first at 9:00")
    assert "Yesterday: 1 no-show, 1 cancelled." in text
    assert "1 message could not be sent" in text
    # when it runs again that morning
    with time_machine.travel(clinic.at(MONDAY, 7, 20), tick=False):
        assert daily_summaries_write() == 0
    # then nothing more is written
    assert len(_summaries()) == 1
    # when Tokyo's morning comes (07:05 Tuesday in Tokyo)
    tokyo_morning = clinic.at(MONDAY, 22, 5)
    with time_machine.travel(tokyo_morning, tick=False):
        daily_summaries_write()
    # then Tokyo's manager has the summary of Tokyo's Tuesday
    tokyo_summary = _summaries()[-1]
    assert tokyo_summary.recipient == tokyo_manager.email
    assert tokyo_summary.key.split(":")[2] == (MONDAY + timedelta(days=1)).isoformat()
    assert tokyo_summary.context["text"].startswith("No appointments today.")


def test_no_summary_outside_the_morning(clinic):
    with time_machine.travel(clinic.at(MONDAY, 6, 55), tick=False):
        assert daily_summaries_write() == 0
    with time_machine.travel(clinic.at(MONDAY, 13), tick=False):
        assert daily_summaries_write() == 0
    assert _summaries() == []


def test_a_follow_up_coming_due_reminds_the_patient_once(clinic, in_a):
    # given two patients (in the doctor's care) with follow-ups due in five days; one already booked a visit
    doctor = in_a.users["doctor"]
    waiting, booked = reachable(clinic), reachable(clinic)
    for patient in (waiting, booked):
        care_team_assign(actor=clinic.owner, patient=patient, doctor=doctor.staff)
        follow_up_create(actor=doctor, patient=patient, due_date=clinic.days_ahead(5), reason="Check the knee")
    book(clinic, clinic.at(MONDAY, 10), patient=booked)
    # when the task runs twice
    first = follow_up_reminders_write()
    second = follow_up_reminders_write()
    # then only the patient without a booking is reminded, once, by text (SMS first: texts agreed) with the booking link
    assert (first, second) == (1, 0)
    [reminder] = Message.objects.filter(kind=Kind.FOLLOW_UP)
    assert (reminder.patient_id, reminder.channel) == (waiting.pk, Channel.SMS)
    assert reminder.context["link"].endswith("/book/")
    # and the clinical reason is nowhere in it
    assert "knee" not in str(reminder.context)


def test_a_summary_written_late_in_the_morning_counts_the_whole_day(clinic, in_a):
    # given three visits on Monday at 09:00, 10:00 and 14:00; by 11:30 the first was seen and the second missed
    seen = book(clinic, clinic.at(MONDAY, 9), patient=reachable(clinic))
    missed = book(clinic, clinic.at(MONDAY, 10), patient=reachable(clinic))
    book(clinic, clinic.at(MONDAY, 14), patient=reachable(clinic))
    sched.appointment_check_in(actor=clinic.receptionist, appointment=seen, now=clinic.at(MONDAY, 8, 55))
    sched.appointment_mark_no_show(actor=clinic.receptionist, appointment=missed, now=clinic.at(MONDAY, 10, 30))
    # when the summary is first written at 11:30 (the workers started late that morning)
    with time_machine.travel(clinic.at(MONDAY, 11, 30), tick=False):
        scheduled_messages_write()
    # then it counts the day's three visits, the first at 09:00
    [summary] = _summaries()
    assert summary.context["text"].startswith("3 appointments today, the first at 9:00")
