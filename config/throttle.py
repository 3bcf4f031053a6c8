"""Fixed-window counters in the cache, for rate limits and failure budgets.

The cache's key function carries the chain's schema (django-tenants), so every count is per chain."""

from __future__ import annotations

from django.core.cache import cache


def hit(key: str, *, limit: int, window: int = 3600) -> bool:
    """Count one more event under ``key``; False once more than ``limit`` happened in the window.

    ``add`` then ``incr`` is atomic in Redis, so two requests racing for the last place cannot both
    get it. The window starts with the first event and is not extended by later ones."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between the two calls
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def used(key: str) -> int:
    """How many events the window under ``key`` holds so far."""
    return int(cache.get(key) or 0)


def forget(key: str) -> None:
    cache.delete(key)
