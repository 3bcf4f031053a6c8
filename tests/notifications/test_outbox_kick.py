"""A kick of the outbox's dispatcher says when it was made; one made before a dispatch of its chain
began is dropped (that dispatch saw its message), so a burst of kicks queued while the worker was
down dispatches once. The periodic run always dispatches."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from notifications.models import Channel, Kind, MessageStatus
from notifications.outbox import message_enqueue
from notifications.tasks import STARTED, outbox_dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(in_a):
    cache.delete(STARTED)
    return in_a


def test_a_burst_of_kicks_made_while_the_worker_was_down_dispatches_once(chain):
    # given a due message and five kicks made for it a while ago (the worker was down)
    message = message_enqueue(
        kind=Kind.REPLY, channel=Channel.EMAIL, recipient="burst@example.com", due_at=timezone.now(),
        context={"text": "hello"},
    )  # fmt: skip
    made = time.time() - 30
    # when the worker runs the five kicks one after another
    answers = [outbox_dispatch(kicked_at=made) for _ in range(5)]
    # then the first dispatched the outbox (the message went) and the other four were dropped
    assert "dispatched" in answers[0]
    assert ["dropped" in a for a in answers[1:]] == [True] * 4
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_kick_made_after_the_last_dispatch_began_dispatches(chain):
    # given a dispatch that began a minute ago
    outbox_dispatch(kicked_at=time.time() - 120)
    cache.set(STARTED, time.time() - 60)
    # when a message is written now and its kick runs
    message = message_enqueue(
        kind=Kind.REPLY, channel=Channel.EMAIL, recipient="late@example.com", due_at=timezone.now(),
        context={"text": "hello"},
    )  # fmt: skip
    answer = outbox_dispatch(kicked_at=time.time())
    # then it dispatched and the message went
    assert "dispatched" in answer
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_the_periodic_run_dispatches_whatever_began_before(chain):
    # given a dispatch that began just now
    outbox_dispatch()
    # when the periodic run comes (no kick time)
    answer = outbox_dispatch()
    # then it dispatches
    assert "dispatched" in answer


def test_a_kick_sent_after_a_commit_says_when_it_was_made(chain, settings, monkeypatch):
    # given a worker (not inline dispatch)
    settings.NOTIFICATIONS_DISPATCH_INLINE = False
    sent: list[dict[str, object]] = []
    monkeypatch.setattr(outbox_dispatch, "delay", lambda **kwargs: sent.append(kwargs))
    before = time.time()
    # when a message due now is written and its transaction commits
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        message_enqueue(
            kind=Kind.REPLY, channel=Channel.EMAIL, recipient="kick@example.com",
            due_at=timezone.now() - timedelta(seconds=1), context={"text": "hello"},
        )  # fmt: skip
    # then one kick went, with the moment it was made
    assert len(sent) == 1
    assert before <= float(sent[0]["kicked_at"]) <= time.time()  # type: ignore[arg-type]


@pytest.mark.parametrize("kicked_at", ["garbage", None, True, [1]])
def test_a_kick_whose_time_is_not_a_number_dispatches(chain, kicked_at):
    # given a dispatch that began just now, and a kick whose time is not a number
    cache.set(STARTED, time.time())
    # when the task runs it
    answer = outbox_dispatch(kicked_at=kicked_at)
    # then it dispatches like the periodic run, and never fails on the value
    assert "dispatched" in answer
