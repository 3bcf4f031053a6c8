"""What session packages announce (config.events): invoicing raises the sale's invoice."""

from __future__ import annotations

from dataclasses import dataclass

from config.events import Event


@dataclass(frozen=True)
class PackageSold(Event):
    purchase_id: int
    actor_id: int | None
