"""A dispatch batch is prepared in bulk: its appointments read in one query, shared by the policy
and the wording, and its manage links issued in one INSERT, so the queries a batch costs do not grow
with the number of messages in it. Each message still carries its own new link, which opens its own
appointment."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.dispatch import messages_dispatch
from notifications.models import Kind, Message, MessageStatus
from scheduling.models import Appointment, ManageLink
from scheduling.services import manage_link_resolve
from tests.factories.scheduling import MONDAY, Clinic, book, clinic_setup
from tests.fakes.twilio_server import FakeTwilio
from tests.notifications.sent_world import messaging, reachable

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"/manage/([A-Za-z0-9_-]{20,})/")


@pytest.fixture
def clinic(in_a):  # type: ignore[no-untyped-def]
    messaging(offsets=[120], quiet=None)
    return clinic_setup(in_a, doctors=2, shift=(time(7), time(19)), opens=time(7), closes=time(19))


def booked(clinic: Clinic, count: int, *, first: int) -> list[Appointment]:
    """``count`` visits on Monday and Tuesday, half of them for patients reached by SMS, half by e-mail
    only (whose reminder carries a manage link and the visit's calendar file)."""
    visits = []
    for i in range(first, first + count):
        day = MONDAY + timedelta(days=i // 40)
        start = clinic.at(day, 8) + timedelta(minutes=30 * ((i % 40) // 2))
        patient = reachable(clinic, sms=i % 2 == 0, email=True)
        visits.append(book(clinic, start, doctor=clinic.doctors[i % 2], patient=patient))
    return visits


def dispatched(clinic: Clinic) -> tuple[int, int, int, list[mail.EmailMessage]]:
    """One dispatch batch of every due message (the visits' confirmations, their reminders, all due by
    Tuesday evening): the messages sent, the queries it cost, the manage links it issued and the
    e-mails it sent."""
    links, emails = ManageLink.objects.count(), len(mail.outbox)
    with CaptureQueriesContext(connection) as queries:
        tally = messages_dispatch(limit=500, now=clinic.at(MONDAY + timedelta(days=1), 20))
    assert tally.counts == {"sent": tally.claimed}
    return tally.claimed, len(queries), ManageLink.objects.count() - links, mail.outbox[emails:]


def test_a_batchs_queries_do_not_grow_with_its_messages(clinic: Clinic, twilio_fake: FakeTwilio) -> None:
    # given 5 reminders due, sent in one batch
    booked(clinic, 5, first=0)
    few, for_few, _, _ = dispatched(clinic)
    # and 40 more due
    booked(clinic, 40, first=5)

    # when the dispatcher sends the 40 (and their confirmations) in one batch
    many, for_many, links, emails = dispatched(clinic)

    # then that batch costs no more queries than the one of 5
    assert many > 5 * few
    assert for_many <= for_few, (for_few, for_many)
    # and every reminder was sent once
    reminders = Message.objects.filter(kind=Kind.REMINDER)
    assert reminders.count() == 45
    assert set(reminders.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert sum(" reminder: " in text.body for text in twilio_fake.received) == 20 + 3
    # and each message about a visit carries one new link of its own (as composing them one by one issued)
    assert links == many
    # and an e-mail's link opens its own patient's visit
    assert len(emails) == 40 + 20
    for email in emails:
        (token,) = set(TOKEN.findall(email.body))
        assert manage_link_resolve(token=token).patient.email == email.to[0]
