"""What the patient record announces."""

from __future__ import annotations

from dataclasses import dataclass

from config.events import Event


@dataclass(frozen=True)
class PatientsMerged(Event):
    """`merged_id` was folded into `kept_id`: modules holding patient rows move them over, in the
    same transaction (a refusal by any of them undoes the whole merge)."""

    kept_id: int
    merged_id: int
    actor_id: int | None
