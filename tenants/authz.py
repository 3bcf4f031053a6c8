"""Permission checks for services. Views check too, but a service never trusts its caller."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

from django.contrib.auth.models import AnonymousUser

from config.errors import NotAuthenticated, PermissionDenied

if TYPE_CHECKING:
    from tenants.accounts.models import User

#: Who is acting: the signed-in user a request carries (a staff member, a patient's portal user or a
#: platform operator), or an anonymous one, whom ``authorize`` refuses. Services take ``actor: Actor``.
Actor: TypeAlias = "User | AnonymousUser"


class SystemActor(AnonymousUser):
    """Clinicflow itself acting in the background, for nobody signed in (a periodic task marking a
    missed appointment a no-show): no user, so history and "by" columns record the system
    (``user_of`` answers None), and it holds only the permissions it is made with, whatever the
    object, never through a user's roles."""

    def __init__(self, name: str, perms: Iterable[str]) -> None:
        self.name = name
        self.perms = frozenset(perms)

    def __str__(self) -> str:
        return f"Clinicflow ({self.name})"

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]  # it acts, as nobody anonymous does
        return True

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.perms


def user_of(actor: Actor | None) -> User | None:
    """The signed-in user acting, or None for nobody signed in or the system (a row's "by" column, a
    history row)."""
    if actor is None or isinstance(actor, SystemActor) or not actor.is_authenticated:
        return None
    return actor


def authorize(actor: Actor | None, perm: str, obj: Any = None) -> None:
    """Raise unless ``actor`` holds ``perm`` (a django-rules permission) on ``obj``."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not actor.has_perm(perm, obj):
        raise PermissionDenied()
