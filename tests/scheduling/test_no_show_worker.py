"""The no-show sweep on a real Celery worker over real Redis: beat's fan-out (tenants.tasks.for_each_clinic)
runs scheduling.tasks.no_shows_mark in each chain's schema, and a visit nobody checked in 20 minutes
after its start (by the real clock) becomes a no-show, as the system. Data is committed in chain B."""

from __future__ import annotations

import time
from datetime import time as clock_time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from scheduling.models import Appointment, Status
from tenants.tasks import for_each_clinic
from tests.conftest import WORLD
from tests.factories.scheduling import book, clinic_setup, daytime_branch
from tests.helpers import calendar_clear, committed
from tests.tenants.test_tasks import worker  # noqa: F401 - the real worker fixture

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_beats_fan_out_marks_a_visit_nobody_came_to_on_a_real_worker(worker):  # noqa: F811
    chain = WORLD["b"]
    with committed(), schema_context(chain.schema):
        # given a visit that started 20 minutes ago (booked the day before), nobody checked in
        branch = daytime_branch(chain)
        clinic = clinic_setup(
            chain,
            branch=branch,
            doctors=1,
            opens=clock_time(0),
            closes=clock_time(23, 55),
            shift=(clock_time(0), clock_time(23, 55)),
        )
        now = timezone.now().astimezone(clinic.tz)
        start = (now - timedelta(minutes=20)).replace(second=0, microsecond=0)
        start -= timedelta(minutes=start.minute % 5)
        with time_machine.travel(start - timedelta(days=1), tick=False):
            visit = book(clinic, start, actor=clinic.owner)
    try:
        # when beat's fan-out sends the sweep to every chain
        sent = for_each_clinic.delay("scheduling.tasks.no_shows_mark").get(timeout=30)
        assert sent >= 2
        # then the worker marks the visit a no-show in chain B, with no user in its history
        deadline = time.monotonic() + 60
        status = Status.BOOKED
        while time.monotonic() < deadline and status != Status.NO_SHOW:
            time.sleep(0.3)
            with committed(), schema_context(chain.schema):
                status = Appointment.objects.get(pk=visit.pk).status
        assert status == Status.NO_SHOW
        with committed(), schema_context(chain.schema):
            assert visit.history.filter(status=Status.NO_SHOW).get().history_user_id is None
    finally:
        with committed(), schema_context(chain.schema):
            calendar_clear(clinic.doctors)
