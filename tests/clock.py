"""The run's clock, moved on purpose: with CLINICFLOW_TEST_CLOCK_SHIFT_DAYS=N (`make test-future`)
every test runs N days from now, proving that no test depends on the date it is run.

Python's clock moves with time-machine (every thread: the live server's too). Of the clocks that do
not move with it, the Celery worker starts through this module (``python -m tests.clock celery
...``) and the browser's is set by tests/browser/conftest.py. PostgreSQL's stays on the real date:
its now() stamps only the access log's ``at``, which nothing compares with Python's clock (rows
are read by patient or reader, the hash chain is ordered by seq); running the server under
libfaketime was tried and dropped, as it stops PostgreSQL's timers (statement and deadlock
timeouts never fire, so a deadlock test hangs). Redis' expiries are relative (SET ... EX), Celery
ETAs are judged by the worker, which is on the run's clock."""

from __future__ import annotations

import os
import runpy
import sys
from datetime import UTC, datetime, timedelta

import time_machine

SHIFT_ENV = "CLINICFLOW_TEST_CLOCK_SHIFT_DAYS"
_travel: time_machine.travel | None = None


def shift_days() -> int:
    return int(os.environ.get(SHIFT_ENV) or 0)


def shift_start() -> None:
    """Move this process's clock by the shift, ticking on from there; nothing without one."""
    global _travel
    days = shift_days()
    if days and _travel is None:
        _travel = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        _travel.start()


def shift_stop() -> None:
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


if __name__ == "__main__":
    # python -m tests.clock MODULE ARGS...: run a module (a Celery worker) on the run's clock.
    shift_start()
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
