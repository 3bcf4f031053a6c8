"""Which database a query goes to, beyond django-tenants' own router (settings.DATABASE_ROUTERS).

Reads of the reporting app's models go where reporting.replica says: the read replica when one is
configured (on the current chain's schema, outside a transaction on the primary), else the primary.
Writes stay on the primary, and nothing is ever migrated on the replica: it follows the primary's
schema by replication.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model

from reporting.replica import REPORTING, reading_alias

REPORTING_APP = "reporting"


class ReportingRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if model._meta.app_label == REPORTING_APP:
            return reading_alias()
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        # Named, not left to Django: a row read from the replica would otherwise be saved back there.
        if model._meta.app_label == REPORTING_APP:
            return DEFAULT_DB_ALIAS
        return None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPORTING else None
