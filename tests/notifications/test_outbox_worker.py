"""The outbox on real workers: a real Celery worker over real Redis sending through the real Twilio
SDK to the local fake, killed (SIGKILL) in the middle of sending; the same task run twice; two
dispatchers at once on real connections. A message goes out once, and none is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications.dispatch import messages_dispatch, messages_recover
from notifications.models import Channel, Kind, Message, MessageStatus
from notifications.outbox import message_enqueue
from notifications.tasks import KICK_SKEW, outbox_dispatch
from tests.conftest import WORLD
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import committed, race

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_worker(django_db_setup: None, twilio_server: FakeTwilio) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a real Celery worker (solo pool) sending SMS through the Twilio SDK to the fake."""
    from config.celery import app

    app.control.purge()  # no task left over from an earlier run
    started: list[subprocess.Popen[bytes]] = []

    def start(*, lease_seconds: int = 120, threads: int = 4) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PGDATABASE": connection.settings_dict["NAME"],
            "CLINICFLOW_TEST_SMS_BACKEND": "notifications.sms.TwilioBackend",
            "TWILIO_API_BASE": twilio_server.url,
            "CLINICFLOW_OUTBOX_SENDING_LEASE_SECONDS": str(lease_seconds),
            "CLINICFLOW_OUTBOX_SEND_THREADS": str(threads),
            "CLINICFLOW_NOTIFICATIONS_DISPATCH_INLINE": "0",
        }
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        log = open(ROOT / "test-artifacts" / f"outbox-worker-{len(started)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.clock", "celery", "-A", "config", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"worker exited early; see {log.name}")
            if app.control.ping(timeout=0.5):
                return proc
        pytest.fail("worker did not answer a ping within 60 s")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
def outbox_rows(twilio_server: FakeTwilio, settings: object) -> Iterator[list[int]]:
    """Rows the test commits in chain A (the worker has its own connection), deleted afterwards."""
    twilio_server.reset()
    settings.NOTIFICATIONS_DISPATCH_INLINE = False  # type: ignore[attr-defined]
    made: list[int] = []
    yield made
    with committed(), schema_context(WORLD["a"].schema):
        Message.objects.filter(pk__in=made).delete()


def _write(made: list[int], numbers: list[str]) -> None:
    """One transaction of due SMS (oldest first in the numbers' order); its commit kicks the dispatcher."""
    now = timezone.now()
    with committed(), schema_context(WORLD["a"].schema), transaction.atomic():
        for i, number in enumerate(numbers):
            message = message_enqueue(
                kind=Kind.REPLY,
                channel=Channel.SMS,
                recipient=number,
                due_at=now - timedelta(seconds=len(numbers) - i),
                context={"text": f"Message {i} for {number}"},
            )
            made.append(message.pk)


def _statuses(made: list[int]) -> dict[int, str]:
    with committed(), schema_context(WORLD["a"].schema):
        return dict(Message.objects.filter(pk__in=made).values_list("pk", "status"))


def _wait(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail("timed out")


def test_a_worker_killed_mid_send_loses_no_message_and_sends_none_twice(
    start_worker: Callable[..., subprocess.Popen[bytes]], twilio_server: FakeTwilio, outbox_rows: list[int]
) -> None:
    # given a worker sending one SMS at a time, and Twilio holding back its answer to the first number
    worker = start_worker(lease_seconds=3, threads=1)
    numbers = ["+447700900101", "+447700900102", "+447700900103"]
    twilio_server.delay(numbers[0], 60)

    # when three messages are committed (their commit kicks the dispatcher) and the worker is killed
    # once Twilio has accepted the first: the first reached Twilio, the other two never did
    _write(outbox_rows, numbers)
    _wait(lambda: len(twilio_server.sent_to(numbers[0])) == 1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert set(_statuses(outbox_rows).values()) == {MessageStatus.SENDING}
    assert [len(twilio_server.sent_to(n)) for n in numbers] == [1, 0, 0]

    # and a new worker runs the dispatcher once the dead one's lease is over
    start_worker(lease_seconds=3)
    time.sleep(3.5)
    with schema_context(WORLD["a"].schema):
        result = outbox_dispatch.delay().get(timeout=60)

    # then the first was recognised at Twilio and not sent again, the other two were sent: each once
    assert result["recovered"] == {"claimed": 3, "sent": 1, "pending": 2}
    _wait(lambda: set(_statuses(outbox_rows).values()) == {MessageStatus.SENT})
    assert [len(twilio_server.sent_to(n)) for n in numbers] == [1, 1, 1]
    with committed(), schema_context(WORLD["a"].schema):
        first = Message.objects.get(pk=outbox_rows[0])
    assert first.provider_id == twilio_server.sent_to(numbers[0])[0].sid
    assert first.attempts == 1


def test_the_same_task_run_twice_sends_each_once(
    start_worker: Callable[..., subprocess.Popen[bytes]], twilio_server: FakeTwilio, outbox_rows: list[int]
) -> None:
    # given a worker, and twenty due messages whose commit already kicked the dispatcher once
    start_worker()
    numbers = [f"+4477009002{i:02d}" for i in range(20)]
    _write(outbox_rows, numbers)

    # when the dispatch task is run twice more
    with schema_context(WORLD["a"].schema):
        runs = [outbox_dispatch.delay(), outbox_dispatch.delay()]
    for run in runs:
        run.get(timeout=60)

    # then every message went out exactly once
    _wait(lambda: set(_statuses(outbox_rows).values()) == {MessageStatus.SENT})
    assert sorted(r.to for r in twilio_server.received) == numbers


def test_two_dispatchers_at_once_send_each_message_once(twilio_fake: FakeTwilio, outbox_rows: list[int]) -> None:
    # given sixty due messages, committed
    numbers = [f"+4477009003{i:02d}" for i in range(60)]
    _write(outbox_rows, numbers)

    # when two dispatchers claim at the same moment, each on its own connection, in small batches
    def dispatch(_: int) -> None:
        while messages_dispatch(limit=7).claimed:
            pass

    outcomes = race(2, dispatch, WORLD["a"].schema)

    # then each message was sent once, and all are marked sent
    assert outcomes == ["ok", "ok"]
    assert sorted(r.to for r in twilio_fake.received) == numbers
    assert set(_statuses(outbox_rows).values()) == {MessageStatus.SENT}


def test_recovery_leaves_a_live_lease_alone_and_resends_what_never_reached_twilio(
    twilio_fake: FakeTwilio, outbox_rows: list[int]
) -> None:
    # given a message claimed by a worker that died before handing it over (no digest written)
    _write(outbox_rows, ["+447700900401"])
    with committed(), schema_context(WORLD["a"].schema):
        claimed = timezone.now() - timedelta(minutes=10)
        Message.objects.filter(pk=outbox_rows[0]).update(status=MessageStatus.SENDING, claimed_at=claimed, attempts=1)

        # when the sweep runs within the lease, nothing happens
        assert messages_recover(now=claimed + timedelta(seconds=30)).claimed == 0

        # and after it, the message is put back and then sent, once
        assert messages_recover().as_dict() == {"claimed": 1, "pending": 1}
        while messages_dispatch().claimed:
            pass
        message = Message.objects.get(pk=outbox_rows[0])
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
    assert len(twilio_fake.sent_to("+447700900401")) == 1


def test_a_worker_started_after_a_burst_of_kicks_dispatches_the_outbox_once(
    start_worker: Callable[..., subprocess.Popen[bytes]], twilio_server: FakeTwilio, outbox_rows: list[int]
) -> None:
    # given no worker running, ten due messages, and five kicks queued for them meanwhile
    numbers = [f"+4477009005{i:02d}" for i in range(10)]
    _write(outbox_rows, numbers)
    with schema_context(WORLD["a"].schema):
        kicks = [outbox_dispatch.delay(kicked_at=time.time()) for _ in range(5)]
    time.sleep(KICK_SKEW + 0.5)

    # when the worker starts
    start_worker()
    answers = [kick.get(timeout=60) for kick in kicks]

    # then at most one of the kicks dispatched the outbox, the others were dropped, and each message went once
    assert sum("dropped" in answer for answer in answers) >= len(kicks) - 1
    _wait(lambda: set(_statuses(outbox_rows).values()) == {MessageStatus.SENT})
    assert sorted(r.to for r in twilio_server.received) == numbers
