"""Permission checks for services. Views check too, but a service never trusts its caller."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from config.errors import NotAuthenticated, PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from tenants.accounts.models import User

#: Who is acting: the signed-in user a request carries (a staff member, a patient's portal user or a
#: platform operator), or an anonymous one, whom ``authorize`` refuses. Services take ``actor: Actor``.
Actor: TypeAlias = "User | AnonymousUser"


def user_of(actor: Actor | None) -> User | None:
    """The signed-in user acting, or None for nobody signed in (a row's "by" column, a history row)."""
    return actor if actor is not None and actor.is_authenticated else None


def authorize(actor: Actor | None, perm: str, obj: Any = None) -> None:
    """Raise unless ``actor`` holds ``perm`` (a django-rules permission) on ``obj``."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not actor.has_perm(perm, obj):
        raise PermissionDenied()
