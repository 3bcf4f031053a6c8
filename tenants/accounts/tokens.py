"""Password-reset links bound to their clinic chain.

Django's default generator signs (user id, password hash, last login, e-mail, time) with the
platform-wide SECRET_KEY. User ids repeat in every chain's schema, so the link's only tie to its
chain would be the user row happening to differ. The chain's schema name goes into the signed
value: a link made in chain A never opens at chain B, whatever the rows there look like."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import PasswordResetTokenGenerator

from tenants.selectors import current_schema


class ChainPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "clinicflow.accounts.ChainPasswordResetTokenGenerator"

    def _make_hash_value(self, user: AbstractBaseUser, timestamp: int) -> str:
        return f"{current_schema()}:{super()._make_hash_value(user, timestamp)}"  # type: ignore[arg-type]


password_reset_token = ChainPasswordResetTokenGenerator()
