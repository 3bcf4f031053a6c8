"""Twilio's SDK against the local fake: what the recovery sweep reads back (paged lists by number and
date), and how the SDK's failures are sorted into permanent and transient ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.sms import Sms, SmsNotSent, SmsOutcomeUnknown, SmsRefused, TwilioBackend, twilio_client
from tests.fakes.twilio_server import FakeTwilio


def test_recent_reads_every_page_of_one_number_newest_first(twilio_fake: FakeTwilio) -> None:
    # given 120 messages to one number and one to another
    backend = TwilioBackend()
    before = datetime.now(UTC) - timedelta(seconds=1)
    sids = [backend.send(Sms(to="+447700900501", body=f"Message {i}")) for i in range(120)]
    backend.send(Sms(to="+447700900502", body="Someone else"))

    # when the recovery sweep's question is asked
    found = TwilioBackend().recent(to="+447700900501", since=before)

    # then all 120 came back, over the SDK's paging (50 a page), newest first, none of the other number's
    assert [m.provider_id for m in found] == sids[::-1]
    assert {m.to for m in found} == {"+447700900501"}
    assert found[0].body == "Message 119"


def test_the_fake_filters_by_date_sent_as_twilio_does(twilio_fake: FakeTwilio) -> None:
    # given a message sent now
    TwilioBackend().send(Sms(to="+447700900503", body="Hello"))
    today = datetime.now(UTC)

    # when the SDK lists by DateSent
    after = twilio_client().messages.list(to="+447700900503", date_sent_after=today - timedelta(hours=1))
    later = twilio_client().messages.list(to="+447700900503", date_sent_after=today + timedelta(hours=1))

    # then only the window that holds it answers it
    assert [m.body for m in after] == ["Hello"]
    assert later == []


def test_an_unreachable_twilio_is_a_transient_failure(settings: object) -> None:
    # given the SDK pointed where nothing listens
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # type: ignore[attr-defined]

    # when an SMS is sent, then it is "try again later", not "refused"
    with pytest.raises(SmsNotSent):
        TwilioBackend().send(Sms(to="+447700900504", body="Hello"))


def test_a_refused_number_is_permanent_and_a_server_error_transient(twilio_fake: FakeTwilio) -> None:
    # given one number Twilio refuses and one it fails on once
    twilio_fake.fail_permanently("+447700900505", code=21610)
    twilio_fake.fail_transiently("+447700900506", times=1, status=500)
    backend = TwilioBackend()

    # when each is sent, then the first is refused with Twilio's code, the second may be tried again and then goes
    with pytest.raises(SmsRefused) as refused:
        backend.send(Sms(to="+447700900505", body="Hello"))
    assert refused.value.code == 21610
    with pytest.raises(SmsNotSent):
        backend.send(Sms(to="+447700900506", body="Hello"))
    assert backend.send(Sms(to="+447700900506", body="Hello")).startswith("SM")
    assert len(twilio_fake.received) == 1


def test_an_answer_that_never_comes_is_an_unknown_outcome_and_a_refused_connection_is_not(
    twilio_fake: FakeTwilio, settings: object
) -> None:
    # given Twilio taking a message but answering after the SDK stops waiting
    settings.TWILIO_TIMEOUT_SECONDS = 0.5  # type: ignore[attr-defined]
    twilio_fake.delay("+447700900507", 1.5)

    # when it is sent, then the outcome is unknown (Twilio may hold it), not a plain "try again"
    with pytest.raises(SmsOutcomeUnknown):
        TwilioBackend().send(Sms(to="+447700900507", body="Hello"))
    assert len(twilio_fake.sent_to("+447700900507")) == 1

    # and a connection never made is a plain transient failure: nothing can have reached Twilio
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    with pytest.raises(SmsNotSent) as refused:
        TwilioBackend().send(Sms(to="+447700900508", body="Hello"))
    assert not isinstance(refused.value, SmsOutcomeUnknown)
