"""The morning summary on a real Celery worker over real Redis: the periodic task runs in the chain's
schema, and a branch whose own clock is in its morning gets its manager's summary once, however
often the task runs. Data is committed in chain B (the worker has its own connection)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, available_timezones

import pytest
from django_tenants.utils import schema_context

from notifications.models import Channel, Kind, Message
from notifications.schedule_tasks import scheduled_messages_write
from tenants.org import services as org
from tenants.org.models import Branch, Role
from tests.conftest import WORLD
from tests.factories import user_with_roles
from tests.helpers import committed
from tests.tenants.test_tasks import worker  # noqa: F401 - the real worker fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
_seq = itertools.count(1)


def _morning_zone() -> str:
    """A zone whose clock reads between 08:00 and 11:00 now (inside the summary's morning, with room)."""
    now = datetime.now(UTC)
    for name in sorted(available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            if time(8) <= now.astimezone(ZoneInfo(name)).time() < time(11):
                return name
    pytest.fail("no zone is in its morning now")  # the world's clocks span 26 hours: never


def test_the_summary_task_writes_each_morning_summary_once_on_a_real_worker(worker):  # noqa: F811
    chain = WORLD["b"]
    n = next(_seq)
    with committed(), schema_context(chain.schema):
        # given a branch whose clock is in its morning, with a manager
        branch = org.branch_create(actor=chain.users["owner"], name=f"Morning {n}", timezone_name=_morning_zone())
        manager = user_with_roles(
            email=f"morning.manager{n}@bravo.example", roles=[Role.BRANCH_MANAGER], branches=[branch]
        )
    try:
        # when the task runs twice on the worker, in the chain's schema
        with schema_context(chain.schema):
            first = scheduled_messages_write.delay().get(timeout=60)
            second = scheduled_messages_write.delay().get(timeout=60)
        # then it ran in chain B, and the manager has one summary by e-mail, written by the first run only
        assert first["schema"] == second["schema"] == chain.schema
        with committed(), schema_context(chain.schema):
            rows = list(Message.objects.filter(kind=Kind.DAILY_SUMMARY, branch=branch))
        assert [(m.channel, m.recipient) for m in rows] == [(Channel.EMAIL, manager.email)]
        assert second["summaries"] == 0
    finally:
        with committed(), schema_context(chain.schema):
            Message.objects.filter(branch__name=f"Morning {n}").delete()
            manager.staff.branches.clear()
            Branch.objects.filter(name=f"Morning {n}").delete()
