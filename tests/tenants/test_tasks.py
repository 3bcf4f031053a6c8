"""Celery tasks run on a real worker, over real Redis, inside the schema of the chain that sent them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.org.models import Invitation
from tenants.org.tasks import invitations_expire
from tenants.selectors import clinic_list_active
from tenants.tasks import for_each_clinic
from tests.conftest import WORLD
from tests.helpers import committed

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PGDATABASE": connection.settings_dict["NAME"],  # the test database
    }
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "test-artifacts" / "celery-worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.clock",  # the worker keeps the run's clock, moved or not (tests/clock.py)
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"worker exited early; see {log.name}")
        if app.control.ping(timeout=0.5):
            break
    else:
        pytest.fail("worker did not answer a ping within 60 s")
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _stale(schema: str, email: str) -> int:
    with schema_context(schema):
        return Invitation.objects.create(
            email=email,
            roles=["doctor"],
            token_hash=os.urandom(16).hex(),
            expires_at=timezone.now() - timedelta(hours=1),
        ).pk


def test_task_runs_in_the_schema_of_the_chain_that_sent_it(worker):
    a, b = WORLD["a"], WORLD["b"]
    with committed():
        # given an expired invitation in each chain (committed: the worker has its own connection)
        pk_a, pk_b = _stale(a.schema, "stale@a.example"), _stale(b.schema, "stale@b.example")
        try:
            # when chain A enqueues the expiry task
            with schema_context(a.schema):
                result = invitations_expire.delay().get(timeout=30)

            # then it ran in A's schema and touched only A's row
            assert result == {"schema": a.schema, "expired": 1}
            with schema_context(a.schema):
                assert Invitation.objects.get(pk=pk_a).status == Invitation.Status.EXPIRED
            with schema_context(b.schema):
                assert Invitation.objects.get(pk=pk_b).status == Invitation.Status.PENDING

            # and the periodic fan-out reaches B too
            sent = for_each_clinic.delay("tenants.org.tasks.invitations_expire").get(timeout=30)
            assert sent == len(clinic_list_active())  # one task per active chain, A and B among them
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with schema_context(b.schema):
                    if Invitation.objects.get(pk=pk_b).status == Invitation.Status.EXPIRED:
                        break
                time.sleep(0.2)
            else:
                pytest.fail("the fan-out did not expire chain B's invitation")
        finally:
            for schema, pk in ((a.schema, pk_a), (b.schema, pk_b)):
                with schema_context(schema):
                    Invitation.objects.filter(pk=pk).delete()


def test_beat_schedule_names_real_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        for name in entry.get("args", ()):
            assert name in app.tasks
