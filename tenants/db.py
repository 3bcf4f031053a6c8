"""Which database role a piece of work runs as.

The app connects as the runtime role (settings.DATABASE_ROLES["runtime"]): it reads and writes data
but owns nothing, so it can neither create a chain's schema nor alter the access log. Creating,
renaming and dropping schemas (and migrating them) needs the owner role: `owner_connection()` runs a
block of code on a connection of the owner, in whatever process it is (web, worker, command).

While the block runs, `connections["default"]` of the current thread *is* the owner's connection.
Everything that reaches the database through the alias, and not through a connection object it kept
from before, then runs as the owner: the ORM, `django.db.connection` (a proxy resolved on each use),
django-tenants (it reads `connections[get_tenant_database_alias()]` when it creates or drops a schema)
and the `migrate_schemas` command it calls. The owner's connection is opened for the block and closed
after it, so no owner session outlives the provisioning it was opened for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError
from django.db.utils import load_backend


def role_settings(role: str) -> dict[str, str]:
    """USER and PASSWORD of one of settings.DATABASE_ROLES ("owner", "runtime")."""
    return dict(settings.DATABASE_ROLES[role])


def _in_application_transaction(connection: BaseDatabaseWrapper) -> bool:
    # A test case wraps each test in atomic blocks of its own (marked _from_testcase, as Django's
    # durable check knows them); they are never committed, so they are not the caller's transaction.
    return connection.in_atomic_block and any(
        not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
    )


@contextmanager
def owner_connection() -> Iterator[BaseDatabaseWrapper]:
    """Run the block as the owner role on a connection of its own, set to the public schema.

    Refused inside a transaction of the runtime connection: the owner's work commits on its own
    connection, so it could neither roll back with the caller's transaction nor see its uncommitted
    rows. Entering it again inside the block, or in a process that already connects as the owner
    (make migrate), changes nothing."""
    current = connections[DEFAULT_DB_ALIAS]
    owner_settings = role_settings("owner")
    if current.settings_dict["USER"] == owner_settings["USER"]:
        yield current
        return
    if _in_application_transaction(current):
        raise TransactionManagementError(
            "Schema provisioning runs as the database owner on its own connection; "
            "call it outside transaction.atomic()."
        )
    settings_dict: dict[str, Any] = {**current.settings_dict, **owner_settings}
    owner = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = owner
    try:
        owner.set_schema_to_public()
        yield owner
    finally:
        connections[DEFAULT_DB_ALIAS] = current
        owner.close()
