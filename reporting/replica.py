"""Where reporting reads go: the read replica when one is configured, otherwise the primary."""

from __future__ import annotations

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper


def reading_connection() -> BaseDatabaseWrapper:
    """The connection the dashboards' reads run on, set to the current chain's schema."""
    return connection


def reading_alias() -> str:
    """The database alias of the dashboards' ORM reads (``.using(...)``), set to the current chain."""
    return str(reading_connection().alias)
