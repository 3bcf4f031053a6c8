"""Where reporting reads go: the read replica when one is configured, otherwise the primary.

With CLINICFLOW_REPORTING_DB_HOST set, settings name a second connection, ``reporting``: a
read-only session on a streaming replica of the primary (README, "Reporting on a read replica").
The dashboards' selectors read through ``reading_alias()`` (the ORM, ``.using(...)``) or
``reading_connection()`` (raw SQL), and config.db_router sends any other read of this app's models
the same way. Without the setting both answer the primary, as everything else does.

Three rules hold the replica to what the primary would answer:

* **The chain.** The replica connection is a connection of its own, with its own search_path. Each
  call sets it to the chain the primary connection is on now (the request's, the task's, a
  ``schema_context``'s), so a worker thread that served chain A and now serves chain B, or a task that
  moves between chains, reads each chain's own rows and never another's. Ask for the alias where the
  query is made, not once and kept.
* **Transactions.** A read inside a transaction on the primary stays on the primary: the replica
  cannot see what that transaction wrote (a refresh reads what it is about to change; a test's rows
  are never committed).
* **Freshness.** The replica is behind the primary by its replication lag, so its figures are at most
  the lag plus the rollups' refresh interval old (CLINICFLOW_ROLLUPS_REFRESH_SECONDS).

A replica that cannot be reached is no outage: the reads go to the primary, with a warning in the log,
and the replica is tried again after ``RETRY_SECONDS``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

#: The alias settings give the replica (config/settings/base.py).
REPORTING = "reporting"
#: After the replica could not be reached, this process reads the primary for so long before trying again.
RETRY_SECONDS = 30.0
_unreachable: dict[str, float] = {"until": 0.0}


def replica_configured() -> bool:
    """Whether settings name a replica for reporting."""
    return REPORTING in connections.settings


def _follow(primary: Any, replica: Any) -> None:
    """Put the replica connection on the primary's chain (both django-tenants' DatabaseWrapper, which
    has no types). Only a change is applied: setting a tenant makes the next query SET search_path."""
    if replica.schema_name == primary.schema_name and replica.include_public_schema == primary.include_public_schema:
        return
    replica.set_tenant(primary.tenant, include_public=primary.include_public_schema)


def _reachable(replica: BaseDatabaseWrapper) -> bool:
    """Whether the replica's connection is open or opens now (an open one is not asked again)."""
    if replica.connection is None and time.monotonic() < _unreachable["until"]:
        return False
    try:
        replica.ensure_connection()
    except DatabaseError:
        _unreachable["until"] = time.monotonic() + RETRY_SECONDS
        logger.warning("The reporting replica cannot be reached: reading the primary for %.0f s", RETRY_SECONDS)
        return False
    return True


def reading_alias() -> str:
    """The database alias of the dashboards' ORM reads (``.using(...)``), set to the current chain:
    the replica's when one is configured, reachable, and no transaction is open on the primary; else
    the primary's."""
    primary = connections[DEFAULT_DB_ALIAS]
    if not replica_configured() or primary.in_atomic_block:
        return DEFAULT_DB_ALIAS
    replica = connections[REPORTING]
    if not _reachable(replica):
        return DEFAULT_DB_ALIAS
    _follow(primary, replica)
    return REPORTING


def reading_connection() -> BaseDatabaseWrapper:
    """The connection the dashboards' raw reads run on, set to the current chain's schema."""
    return connections[reading_alias()]
