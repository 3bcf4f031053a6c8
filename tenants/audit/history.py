"""Who made a change: the one helper every service calls before it saves or deletes a row that keeps
a history (django-simple-history's ``HistoricalRecords``), so the history row names its author."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db import models

from tenants.authz import Actor, user_of

if TYPE_CHECKING:
    from tenants.accounts.models import User

M = TypeVar("M", bound=models.Model)


def history_user(actor: Actor | None) -> User | None:
    """The user a history row names for ``actor``: nobody signed in (online booking, a patient's
    link, a task) is recorded as the system, no user."""
    return user_of(actor)


def changed_by(obj: M, actor: Actor | None, *, reason: str = "") -> M:
    """Name ``actor`` as the author of ``obj``'s next save or delete, with an optional ``reason``
    (the history's change reason). Returns ``obj``, so ``changed_by(obj, actor).save()`` reads."""
    setattr(obj, "_history_user", history_user(actor))  # noqa: B010 - simple-history's own attribute
    if reason:
        setattr(obj, "_change_reason", reason)  # noqa: B010
    return obj
