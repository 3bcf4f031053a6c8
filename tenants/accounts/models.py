"""Users. The table exists in the public schema (platform operators) and in every clinic chain's
schema (that chain's staff and patients): a user belongs to exactly one chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from knox.models import AbstractAuthToken
from simple_history.models import HistoricalRecords


class EmailUserManager(UserManager["User"]):
    use_in_migrations = True

    def _create_user_object(self, username: Any, email: str | None, password: str | None, **extra: Any) -> User:
        return self.model(email=self.normalize_email(email or "").lower(), **extra)

    def _create_user(self, username: Any, email: str | None, password: str | None, **extra: Any) -> User:
        user = self._create_user_object(username, email, password, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:  # type: ignore[override]
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:  # type: ignore[override]
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(None, email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractUser):  # type: ignore[django-manager-missing]  # knox's token model is untyped
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address")

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = EmailUserManager()  # type: ignore[misc]
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox): only its SHA-512 digest is stored, with the client that asked
    for it, so that a person can list their tokens and revoke one without touching the others.
    ``token_key`` is the token's first characters: public, it names the token in lists and URLs."""

    client_name: models.CharField[str, str] = models.CharField(max_length=100, blank=True)
    last_used: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.token_key} ({self.client_name or 'API client'})"
