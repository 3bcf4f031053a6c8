"""Change history from django-simple-history's records: who changed what, when, from what to what.

Modules keep their own history tables (``history = HistoricalRecords()``) and their own rule of who
may read them; this turns a record's historical rows into readable entries, one per save, each with
the fields that changed (``diff_against`` between consecutive rows)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

#: How a value of a field is shown, when str() is not enough (a time range in a branch's zone).
Formatter = Callable[[Any], str]

KINDS = {"+": "Created", "~": "Changed", "-": "Deleted"}


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    kind: str  # Created, Changed or Deleted
    reason: str
    changes: list[FieldChange] = field(default_factory=list)


def _shown(model_field: models.Field[Any, Any], value: Any, formatter: Formatter | None) -> str:
    if value is None or value == "":
        return "—"
    if formatter is not None:
        return formatter(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%d %b %Y %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _who(record: Any) -> str:
    user = record.history_user
    if user is None:
        return "the system (online booking, a patient, or an automatic task)"
    return user.get_full_name() or user.get_username()


def history_entries(
    records: Iterable[Any],
    *,
    fields: Sequence[str],
    formatters: Mapping[str, Formatter] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[HistoryEntry]:
    """Entries of one object's history, newest first. ``records`` are its historical rows (any
    order); ``fields`` the fields worth showing, in the order they are shown; ``labels`` what a
    reader calls a field whose name says it badly (``span`` is the time). A save that changed
    none of them is left out; the first row (the object's creation) lists the values it began with."""
    formatters = formatters or {}
    labels = labels or {}
    ordered = sorted(records, key=lambda r: (r.history_date, r.history_id))
    entries: list[HistoryEntry] = []
    previous = None
    for record in ordered:
        model_fields = {f.name: f for f in record.instance_type._meta.get_fields() if f.name in fields}
        if previous is None or record.history_type == "+":
            pairs = [(name, None, getattr(record, name)) for name in fields if getattr(record, name) not in (None, "")]
        else:
            delta = record.diff_against(previous, included_fields=list(fields), foreign_keys_are_objs=True)
            changed = {c.field: (c.old, c.new) for c in delta.changes}
            pairs = [(name, *changed[name]) for name in fields if name in changed]
        previous = record
        if not pairs and record.history_type == "~":
            continue
        changes = [
            FieldChange(
                label=labels.get(name) or str(model_fields[name].verbose_name).capitalize(),
                old=_shown(model_fields[name], old, formatters.get(name)),
                new=_shown(model_fields[name], new, formatters.get(name)),
            )
            for name, old, new in pairs
        ]
        entries.append(
            HistoryEntry(
                at=record.history_date,
                who=_who(record),
                kind=KINDS.get(record.history_type, record.history_type),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
    entries.reverse()
    return entries
