"""Read-only lookups shared by the messages of one dispatch batch: the chain's settings, its
messaging settings, a template's wording are read once per batch instead of once per message.

Outside a batch ``memoized`` simply calls the loader, so the same code serves a single preview or
a page. Only values that cannot change meaningfully during one batch (a few hundred milliseconds)
belong here."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_batch: ContextVar[dict[Hashable, object] | None] = ContextVar("notifications_batch_memo", default=None)


@contextmanager
def batch_memo() -> Iterator[None]:
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def memoized(key: Hashable, loader: Callable[[], T]) -> T:
    """``loader()``, read once per dispatch batch under ``key`` (every call outside a batch)."""
    memo = _batch.get()
    if memo is None:
        return loader()
    if key not in memo:
        memo[key] = loader()
    return memo[key]  # type: ignore[return-value]
