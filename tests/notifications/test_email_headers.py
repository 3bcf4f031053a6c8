"""An e-mail's headers: a line break in a value never poisons the outbox (the subject is one line;
a header that still cannot be written fails that message alone and the batch goes on), and the
chain's e-mails come from the chain's name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from notifications import compose as compose_module
from notifications.compose import Composed
from notifications.dispatch import messages_dispatch_all
from notifications.models import Channel, Kind, Message, MessageStatus, MessagingSettings, Template
from notifications.outbox import message_enqueue
from patients import services as patients
from scheduling.models import Service
from tenants.org.models import ChainSettings
from tests.conftest import Chain
from tests.factories.scheduling import book, clinic_setup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_quiet_hours(in_a: Chain) -> None:
    """Whatever the hour the tests run at, it is not in quiet hours."""
    MessagingSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_start": None, "quiet_hours_end": None})
    Template.objects.update_or_create(
        kind=Kind.REPLY, channel=Channel.EMAIL, language="en", defaults={"body": "{text}", "subject": "Your answer"}
    )


def _email(to: str, text: str = "Hello") -> Message:
    return message_enqueue(
        kind=Kind.REPLY,
        channel=Channel.EMAIL,
        recipient=to,
        due_at=timezone.now() - timedelta(minutes=1),
        context={"text": text},
    )


def test_a_batch_with_one_poisoned_email_fails_that_one_and_sends_the_others(
    in_a: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three e-mails due, the middle one composed with a header Django refuses to write
    first, poisoned, last = _email("ann@example.com"), _email("bob@example.com"), _email("cat@example.com")
    real = compose_module.compose

    def composed(message: Message) -> Composed:
        done = real(message)
        if message.pk != poisoned.pk:
            return done
        return Composed(subject="Booked\nBcc: all@example.com", body=done.body, logged_body=done.logged_body)

    monkeypatch.setattr("notifications.dispatch.compose", composed)
    mail.outbox.clear()

    # when the dispatcher runs
    messages_dispatch_all(seconds=5)

    # then the poisoned one failed for good, saying why, and the two others went
    for message in (first, poisoned, last):
        message.refresh_from_db()
    assert (poisoned.status, poisoned.attempts) == (MessageStatus.FAILED, 1)
    assert "could not be written" in poisoned.last_error
    assert (first.status, last.status) == (MessageStatus.SENT, MessageStatus.SENT)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "cat@example.com"]
    # and a later run does not pick the failed one up again
    assert messages_dispatch_all(seconds=5).claimed == 0


def test_a_service_name_with_a_line_break_is_sent_on_one_subject_line(in_a: Chain) -> None:
    # given a service whose stored name has a line break (written before names were checked)
    clinic = clinic_setup(in_a)
    Service.objects.filter(pk=clinic.service.pk).update(name="Massage\nBcc: all@example.com")
    mary = patients.patient_create(
        actor=clinic.owner, first_name="Mary", last_name="Lane", email="mary@example.com", ignore_duplicates=True
    )
    appointment = book(clinic, clinic.at(clinic.days_ahead(3), 10), patient=mary)
    confirmation = Message.objects.get(appointment=appointment, channel=Channel.EMAIL, kind=Kind.CONFIRMATION)
    Message.objects.filter(pk=confirmation.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    mail.outbox.clear()

    # when the dispatcher runs
    messages_dispatch_all(seconds=5)

    # then the confirmation went, its subject one line: no header was added
    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.SENT, confirmation.last_error
    (sent,) = [m for m in mail.outbox if m.to == ["mary@example.com"]]
    assert "\n" not in sent.subject
    assert "Massage Bcc: all@example.com" in sent.subject
    assert sent.message().get_all("Bcc") is None


def test_emails_come_from_the_chains_name_and_answers_go_to_its_contact_address(in_a: Chain) -> None:
    # given the chain is called Northwind Health and its contact address is the front desk's
    ChainSettings.objects.filter(pk=1).update(name="Northwind Health", contact_email="desk@northwind.example")
    message = _email("ann@example.com")
    mail.outbox.clear()

    # when the dispatcher sends its e-mail
    messages_dispatch_all(seconds=5)

    # then it comes from the chain's name on the platform's own address, and a reply reaches the chain
    (sent,) = mail.outbox
    platform_address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">")
    assert sent.from_email == f"Northwind Health <{platform_address}>"
    assert sent.reply_to == ["desk@northwind.example"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_chain_name_that_would_break_the_from_header_is_written_safely(in_a: Chain) -> None:
    # given a chain name stored with a line break and quotes (written before names were checked)
    ChainSettings.objects.filter(pk=1).update(name='Smith "&" Co\r\nBcc: all@example.com', contact_email="")
    _email("ann@example.com")
    mail.outbox.clear()

    # when the dispatcher sends
    messages_dispatch_all(seconds=5)

    # then the e-mail went, from one display name on one line, with no Reply-To and no added header
    (sent,) = mail.outbox
    assert sent.message().get_all("Bcc") is None
    assert sent.from_email.startswith('"Smith \\"&\\" Co Bcc: all@example.com" <')
    assert sent.reply_to == []
