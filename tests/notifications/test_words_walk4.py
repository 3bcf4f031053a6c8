"""Counting and wording of messages where they said less than the truth: the morning summary counts
only the failures still needing someone (as the log's Failed tab), a reminder the quiet-hours rule
drops says so, and the settings notice counts the waitlist offers the old quiet hours held and says
which go now and which wait."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from frontend.message_settings_views import _saved_text
from notifications import services
from notifications.compose import compose
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from notifications.reminders import QUIET_DROPPED
from notifications.summary import day_summary
from scheduling.intervals import wall_clock
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.notifications.sent_world import messaging, reachable, reminders, settings_in
from tests.notifications.test_waitlist_quiet_retime import _offered_at_dawn
from tests.scheduling.waitlist_world import DAY, join

pytestmark = pytest.mark.django_db


def _failed(clinic, due, *, resend_of=None, status=MessageStatus.FAILED):
    message = message_enqueue(
        kind=Kind.REMINDER, channel=Channel.SMS, recipient="+447700900001", due_at=due, branch_id=clinic.branch.pk
    )
    sent_at = timezone.now() if status == MessageStatus.SENT else None
    Message.objects.filter(pk=message.pk).update(status=status, resend_of=resend_of, sent_at=sent_at)
    return message


def test_the_morning_summary_leaves_out_a_failure_sent_again_that_went(in_a):
    # given two messages that failed yesterday, the first sent again since and gone
    messaging(offsets=[], quiet=None)
    clinic = clinic_setup(in_a, doctors=1)
    sunday = MONDAY - timedelta(days=1)
    handled = _failed(clinic, clinic.at(sunday, 18))
    _failed(clinic, clinic.at(sunday, 19))
    _failed(clinic, clinic.at(sunday, 20), resend_of=handled, status=MessageStatus.SENT)

    # when Monday's summary is counted
    summary = day_summary(branch=clinic.branch, day=MONDAY)

    # then only the failure still needing someone counts, as in the log's Failed tab
    assert summary.failed == 1


def test_a_reminder_the_quiet_hours_rule_drops_says_so(in_a):
    # given a visit at 08:30 with a day-before and a two-hour reminder, no quiet hours
    messaging(offsets=[24 * 60, 120], quiet=None)
    clinic = clinic_setup(in_a, doctors=1, shift=(time(7), time(19)), opens=time(7), closes=time(19))
    visit = book(clinic, clinic.at(MONDAY, 8, 30), patient=reachable(clinic))
    _day_before, two_hours = reminders(visit.pk)

    # when the owner sets quiet hours 21:00-08:00 (the two-hour one would go before 21:00 the evening
    # before, less than 24 hours after the day-before one)
    services.messaging_settings_change(
        actor=clinic.owner, values=settings_in(quiet_hours_start=time(21), quiet_hours_end=time(8))
    )

    # then it is dropped with the quiet-hours reason, not "fewer reminders, or its time has passed"
    dropped = Message.objects.get(pk=two_hours.pk)
    assert dropped.status == MessageStatus.CANCELLED
    assert dropped.last_error == QUIET_DROPPED
    assert "less than 24 hours after another reminder" in dropped.last_error


@pytest.fixture
def quiet_clinic(in_a):
    messaging(quiet=(time(21), time(8)))
    return clinic_setup(in_a)


def _parked(clinic):
    """A follow-up the old quiet hours hold until 08:00."""
    due = wall_clock(DAY, time(8), clinic.tz)
    return message_enqueue(kind=Kind.FOLLOW_UP, channel=Channel.EMAIL, recipient="p@example.com", due_at=due)


@pytest.mark.parametrize(
    ("ends", "counted", "said"),
    [
        (time(6), (1, 1, 2), "1 message (confirmations, notices) and 1 waitlist offer; 2 go now."),
        (time(9), (1, 1, 0), "1 message (confirmations, notices) and 1 waitlist offer; 2 wait until 09:00."),
    ],
)
def test_the_settings_notice_counts_a_held_offer_and_says_when_they_go(quiet_clinic, time_machine, ends, counted, said):
    # given at 06:53 an offer and a follow-up, both waiting for the end of quiet hours at 08:00
    _offered_at_dawn(quiet_clinic, time_machine)
    _parked(quiet_clinic)

    # when the owner makes quiet hours end at 06:00 (they hold neither back) or at 09:00
    change = services.messaging_settings_change(
        actor=quiet_clinic.owner, values=settings_in(quiet_hours_start=time(21), quiet_hours_end=ends)
    )

    # then the change counts both, and the notice says whether they go now or wait until the new end
    assert (change.held_retimed, change.offers_retimed, change.retimed_now) == counted
    assert _saved_text(change).endswith(f"Held for quiet hours and given the new time: {said}")


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("", "You are on the waitlist: {service} at {branch}"),
        ("de", "Sie stehen auf der Warteliste: {service} in {branch}"),
    ],
)
def test_the_waitlist_joined_e_mail_has_its_own_subject(in_a, language, subject):
    # given a patient who reads e-mail in the language
    messaging(quiet=None)
    clinic = clinic_setup(in_a)
    who = reachable(clinic, sms=False, language=language)

    # when the desk puts them on the waitlist
    entry = join(clinic, who)

    # then the e-mail saying so is headed with what they wait for and where, not "A message from ..."
    message = Message.objects.get(key=f"waitlist-joined:{entry.pk}:email")
    assert compose(message).subject == subject.format(service=clinic.service.name, branch=clinic.branch.name)
