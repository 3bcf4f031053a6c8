"""Reporting reads on a read replica (reporting.replica, config.db_router, README "Reporting on a
read replica"): with the replica configured, the dashboards' reads go to it, on the chain the
request is in and only that chain, and a write there fails; reads inside a transaction on the primary,
and every read without the setting, stay on the primary; the replica is never migrated.

The replica here is what settings make of CLINICFLOW_REPORTING_DB_HOST, pointed at this run's test
database: a second, read-only session on the same data, as a streaming replica's would be. It sees
committed rows only, so the figures it reads are committed in two chains of this module's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Sum
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from reporting import replica as replica_module
from reporting.models import DoctorDay
from reporting.replica import REPORTING, reading_alias, reading_connection, replica_configured
from reporting.rollups import rollups_refresh_all
from tenants.db import owner_connection
from tenants.models import Clinic
from tests.factories import Chain, chain_create
from tests.factories.scheduling import MONDAY, book, clinic_setup
from tests.helpers import committed

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TABLE = DoctorDay._meta.db_table
READ_ONLY = {"options": "-c default_transaction_read_only=on", "connect_timeout": 3}


@pytest.fixture(scope="module")
def chains(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Chain, Chain]]:
    """Two chains with their figures committed: one visit booked in the first, two in the second,
    counted by the rollups' own refresh."""
    made: list[Chain] = []
    with django_db_blocker.unblock():
        with committed():
            for slug, visits in (("replica-one", 1), ("replica-two", 2)):
                chain = chain_create(slug, branches=1)
                with schema_context(chain.schema):
                    clinic = clinic_setup(chain, doctors=1)
                    for hour in range(10, 10 + visits):
                        book(clinic, clinic.at(MONDAY, hour))
                    rollups_refresh_all()
                made.append(chain)
        yield made[0], made[1]
        with owner_connection():
            for chain in made:
                Clinic.objects.get(pk=chain.clinic.pk).delete(force_drop=True)


@pytest.fixture(scope="class")
def replica(django_db_setup: None) -> Iterator[BaseDatabaseWrapper]:
    """The "reporting" alias as settings make it (see test_the_setting_makes_a_read_only_replica_alias),
    on this run's test database. Configured before each test's own database set-up, which is then
    told of it (``databases``) and, as it is a mirror, opens no transaction on it."""
    primary = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    alias = {**primary, "OPTIONS": READ_ONLY, "TEST": {"MIRROR": DEFAULT_DB_ALIAS}}
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: primary, REPORTING: alias})
    connections.settings[REPORTING] = configured[REPORTING]
    try:
        yield connections[REPORTING]
    finally:
        connections[REPORTING].close()
        del connections[REPORTING]
        del connections.settings[REPORTING]


def visits_booked() -> int:
    return int(DoctorDay.objects.aggregate(n=Sum("appointments"))["n"] or 0)


@pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPORTING])
class TestWithTheReplica:
    def test_reporting_reads_go_to_the_replica_on_the_current_chain_only(self, chains, replica):
        one, two = chains
        read_alias, read_orm, read_raw = [], [], []
        # given the replica, and the connection of a request or task (autocommit, as under a server)
        with committed():
            primary = connections[DEFAULT_DB_ALIAS]
            with CaptureQueriesContext(replica) as on_replica, CaptureQueriesContext(primary) as on_primary:
                # when one worker reads the figures of chain one, then of chain two, then of chain one again
                for chain in (one, two, one):
                    with schema_context(chain.schema):
                        read_alias.append(
                            DoctorDay.objects.using(reading_alias()).aggregate(n=Sum("appointments"))["n"]
                        )
                        read_orm.append(visits_booked())  # the router's choice, no alias named
                        with reading_connection().cursor() as cursor:
                            cursor.execute(f"SELECT current_schema(), sum(appointments) FROM {TABLE}")  # noqa: S608
                            read_raw.append(cursor.fetchone())
        # then each read saw that chain's figures and no other's, the replica following the chain
        assert read_alias == [1, 2, 1]
        assert read_orm == [1, 2, 1]
        assert read_raw == [(one.schema, 1), (two.schema, 2), (one.schema, 1)]
        # and every one of them ran on the replica, none on the primary
        assert sum(TABLE in q["sql"] for q in on_replica.captured_queries) == 9
        assert not any(TABLE in q["sql"] for q in on_primary.captured_queries)

    def test_a_write_through_the_replica_fails_and_changes_nothing(self, chains, replica):
        one, _ = chains
        with committed(), schema_context(one.schema):
            # when a write goes through the reading alias or connection
            with pytest.raises(DatabaseError, match="read-only transaction"), transaction.atomic(using=REPORTING):
                DoctorDay.objects.using(reading_alias()).update(appointments=99)
            with (
                pytest.raises(DatabaseError, match="read-only transaction"),
                transaction.atomic(using=REPORTING),
                reading_connection().cursor() as cursor,
            ):
                cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
            # then the figures are as they were, and the models' own writes go to the primary
            assert DoctorDay.objects.using(DEFAULT_DB_ALIAS).aggregate(n=Sum("appointments"))["n"] == 1
            assert router.db_for_write(DoctorDay) == DEFAULT_DB_ALIAS
            read_there = DoctorDay.objects.using(REPORTING).first()
            assert router.db_for_write(DoctorDay, instance=read_there) == DEFAULT_DB_ALIAS

    def test_a_read_inside_a_transaction_on_the_primary_stays_on_the_primary(self, chains, replica):
        one, _ = chains
        # given a transaction open on the primary (a refresh, a test's own)
        with committed(), schema_context(one.schema), transaction.atomic():
            # when reporting reads within it, then they go to the primary, which sees its writes
            assert reading_alias() == DEFAULT_DB_ALIAS
            assert reading_connection() is connections[DEFAULT_DB_ALIAS]
            with CaptureQueriesContext(replica) as on_replica:
                assert visits_booked() == 1
            assert on_replica.captured_queries == []

    def test_an_unreachable_replica_leaves_the_reads_to_the_primary(self, chains, replica, caplog, monkeypatch):
        one, _ = chains
        # given the replica down: nothing answers where it should be
        backend = load_backend(replica.settings_dict["ENGINE"])
        down = backend.DatabaseWrapper({**replica.settings_dict, "PORT": "9"}, REPORTING)
        monkeypatch.setitem(replica_module._unreachable, "until", 0.0)
        connections[REPORTING] = down
        try:
            with committed(), schema_context(one.schema):
                # when figures are read, then the primary answers them, and the log says why
                with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
                    assert reading_alias() == DEFAULT_DB_ALIAS
                    assert visits_booked() == 1
                assert any(TABLE in q["sql"] for q in on_primary.captured_queries)
                assert "The reporting replica cannot be reached" in caplog.text
                # and the reads that follow do not wait on it again until its time is up
                caplog.clear()
                assert reading_connection() is connections[DEFAULT_DB_ALIAS]
                assert caplog.text == ""
        finally:
            down.close()
            connections[REPORTING] = replica

    def test_the_replica_is_never_migrated(self, chains, replica):
        one, _ = chains
        with schema_context(one.schema):
            assert router.allow_migrate(REPORTING, "reporting") is False
            assert router.allow_migrate(REPORTING, "scheduling") is False
            assert router.allow_migrate_model(REPORTING, DoctorDay) is False
            assert router.allow_migrate_model(DEFAULT_DB_ALIAS, DoctorDay) is True


def test_without_a_replica_every_read_goes_to_the_primary(chain_a):
    # given no replica configured
    assert not replica_configured()
    for fresh in (False, True):  # inside the test's transaction, and on an autocommit connection
        with committed() if fresh else nullcontext(), schema_context(chain_a.schema):
            # when reporting reads, then everything reads the primary
            assert reading_alias() == DEFAULT_DB_ALIAS
            assert reading_connection() is connections[DEFAULT_DB_ALIAS]
            assert router.db_for_read(DoctorDay) == DEFAULT_DB_ALIAS
            with CaptureQueriesContext(connection) as on_primary:
                visits_booked()
            assert any(TABLE in q["sql"] for q in on_primary.captured_queries)


def settings_made(**variables: str) -> dict[str, Any]:
    """DATABASES and DATABASE_ROUTERS as config/settings/base.py makes them from these variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLINICFLOW_REPORTING_DB_")}
    code = (
        "import json; from config.settings import base as s; "
        "print(json.dumps({'databases': s.DATABASES, 'routers': s.DATABASE_ROUTERS}, default=str))"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", code], env={**environ, **variables}, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def test_the_setting_makes_a_read_only_replica_alias():
    # when the replica's host (and its own database name) are set
    made = settings_made(CLINICFLOW_REPORTING_DB_HOST="replica.internal", CLINICFLOW_REPORTING_DB_NAME="cf_replica")
    primary, alias = made["databases"]["default"], made["databases"]["reporting"]
    # then the alias is a django-tenants connection to that host, read-only, mirrored in tests
    assert alias["ENGINE"] == primary["ENGINE"] == "django_tenants.postgresql_backend"
    assert (alias["HOST"], alias["NAME"]) == ("replica.internal", "cf_replica")
    assert (alias["PORT"], alias["USER"], alias["PASSWORD"]) == (primary["PORT"], primary["USER"], primary["PASSWORD"])
    assert alias["OPTIONS"] == READ_ONLY
    assert alias["TEST"] == {"MIRROR": "default"}
    # and django-tenants' router decides first, then reporting's
    assert made["routers"] == ["django_tenants.routers.TenantSyncRouter", "config.db_router.ReportingRouter"]
    # when it is not set, then there is no replica
    assert "reporting" not in settings_made()["databases"]
