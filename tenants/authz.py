"""Permission checks for services. Views check too, but a service never trusts its caller."""

from __future__ import annotations

from typing import Any

from config.errors import NotAuthenticated, PermissionDenied


def authorize(actor: Any, perm: str, obj: Any = None) -> None:
    """Raise unless ``actor`` holds ``perm`` (a django-rules permission) on ``obj``."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not actor.has_perm(perm, obj):
        raise PermissionDenied()
