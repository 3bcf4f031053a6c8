"""The rollups' periodic work (reporting.rollups): thin and idempotent, run in each chain."""

from __future__ import annotations

from celery import shared_task

from reporting import rollups
from tenants.selectors import current_schema


@shared_task(name="reporting.tasks.rollups_refresh")
def rollups_refresh() -> dict[str, object]:
    """Compute again the cells changed since the last run (every few seconds: figures stay well
    under a minute old)."""
    return {"schema": current_schema(), "marks": rollups.rollups_refresh_all()}


@shared_task(name="reporting.tasks.rollups_repair")
def rollups_repair() -> dict[str, object]:
    """Compute the recent weeks and the weeks ahead again, whatever the marks say."""
    cells = rollups.rollups_repair()
    return {"schema": current_schema(), "visit_cells": len(cells.visits)}
