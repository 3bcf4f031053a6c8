"""In-process domain events.

A module announces what happened through an event class declared in its ``events.py``; modules
above it subscribe in their ``AppConfig.ready``. ``publish`` runs the subscribers synchronously,
inside the caller's transaction, so their writes commit or roll back together with the change that
caused them. Side effects outside the database (SMS, e-mail, payment calls) belong in
``transaction.on_commit`` or an outbox row, never in a subscriber directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

E = TypeVar("E", bound="Event")
_subscribers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)


@dataclass(frozen=True)
class Event:
    """Base of every domain event: a frozen record of a fact."""


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def publish(event: Event) -> None:
    for event_type in type(event).__mro__:
        for handler in list(_subscribers.get(event_type, ())):
            handler(event)
