from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django_tenants.utils import schema_context

from tenants.db import role_settings
from tenants.services import platform_ensure_public
from tests import clock
from tests.factories import PASSWORD, Chain, chain_create
from tests.fakes.stripe_server import FakeStripe
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import Api

# The whole run on a moved clock when CLINICFLOW_TEST_CLOCK_SHIFT_DAYS is set (`make test-future`),
# started as this first conftest is imported, before the nested conftests and the test modules
# compute their dates (tests/factories/scheduling.py: MONDAY).
clock.shift_start()


def pytest_unconfigure(config: pytest.Config) -> None:
    clock.shift_stop()


# Two chains, A and B, are provisioned once per run (schema creation is the slow part) and
# committed; each test then runs inside a transaction that is rolled back.
WORLD: dict[str, Chain] = {}


def _connect_as(role: str) -> None:
    """Point the default alias at one of the two database roles. Its connection is closed; every
    connection opened after it, in any thread, uses the role's credentials (they all read the one
    settings dict), and so does a worker process, whose settings name the runtime role."""
    connections[DEFAULT_DB_ALIAS].close()
    connections[DEFAULT_DB_ALIAS].settings_dict.update(role_settings(role))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    # The test database is created and migrated by the owner: the runtime role may do neither.
    _connect_as("owner")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        # pytest-django sets up the test database only when a collected test asks for one; never
        # let this fixture write into a developer's database.
        assert connection.settings_dict["NAME"].startswith("test_"), "no test database was set up"
        # Every test, live-server thread and worker runs as the app does in production: as the
        # runtime role, with provisioning switching to the owner by itself (tenants.db).
        _connect_as("runtime")
        platform_ensure_public()
        from tenants.accounts.models import User

        User.objects.create_superuser(email="operator@platform.example", password=PASSWORD)
        WORLD["a"] = chain_create("alpha", branches=2)
        WORLD["b"] = chain_create("bravo", branches=3, timezone_name="America/New_York")
        connection.set_schema_to_public()
    yield
    # The owner drops the test database (pytest-django's teardown, after this one).
    _connect_as("owner")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # Live-server request threads and worker processes may still hold connections; the test
        # database can only be dropped once they are gone.
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def _fresh_cache() -> None:
    """Each run starts with an empty cache (the tests' own Redis database): a run's ids repeat the
    last run's, so its rate-limit counters and access-log coalescing marks must not leak in."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def chain_a(db: None) -> Chain:
    return WORLD["a"]


@pytest.fixture
def chain_b(db: None) -> Chain:
    return WORLD["b"]


@pytest.fixture
def in_a(chain_a: Chain) -> Iterator[Chain]:
    """Run the test body inside chain A's schema."""
    with schema_context(chain_a.schema):
        yield chain_a


@pytest.fixture
def api(db: None) -> Any:
    def make(chain: Chain | None, role: str | None = None, *, as_email: str | None = None) -> Api:
        host = chain.host if chain else "localhost"
        email = as_email or (chain.email(role) if chain and role else None)
        return Api(host, email)

    return make


@pytest.fixture(scope="session", autouse=True)
def stripe_server() -> Iterator[FakeStripe]:
    """The local fake of the Stripe API (tests/fakes/stripe_server.py), one per run: the SDK's
    requests go to it in every test (live servers and the API fuzzer included), never to Stripe."""
    from django.test.utils import override_settings

    fake = FakeStripe().start()
    pointed = override_settings(STRIPE_API_BASE=fake.url)
    pointed.enable()
    yield fake
    pointed.disable()
    fake.stop()


@pytest.fixture
def stripe_fake(stripe_server: FakeStripe, settings: Any) -> FakeStripe:
    """The fake, emptied, with the SDK pointed at it."""
    stripe_server.reset()
    settings.STRIPE_API_BASE = stripe_server.url
    return stripe_server


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[FakeTwilio]:
    """The local fake of Twilio's Messages API (tests/fakes/twilio_server.py), one per run, started
    by the first test that sends through the real SDK."""
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_fake(twilio_server: FakeTwilio, settings: Any) -> FakeTwilio:
    """The fake, emptied, with SMS sent through the real Twilio SDK pointed at it."""
    twilio_server.reset()
    settings.SMS_BACKEND = "notifications.sms.TwilioBackend"
    settings.TWILIO_API_BASE = twilio_server.url
    return twilio_server
