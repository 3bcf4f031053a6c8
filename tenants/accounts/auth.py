"""How API requests authenticate: a knox token (one per client, stored as a digest) or the browser's
session, the latter only once the session passed two-factor sign-in where it is due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from tenants.accounts.models import ApiToken
from tenants.accounts.selectors import second_factor_due

# "Last used" is for people judging which token to revoke: to the minute is enough, and a write per
# request would not be.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    """knox's token check (digest, expiry, active user), plus the token's last use."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, ApiToken]:
        # A token is printable ASCII; anything else (a NUL, bytes that are not UTF-8) is a bad
        # credential, answered 401 like any other, not an error in the lookup.
        if not token.isascii() or not token.decode("ascii").isprintable():
            raise AuthenticationFailed("The credentials are not valid.")
        return super().authenticate_credentials(token)  # type: ignore[no-any-return]

    def validate_user(self, auth_token: ApiToken) -> tuple[Any, ApiToken]:
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used is None or now - token.last_used >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
            token.last_used = now
        return user, token


class VerifiedSessionAuthentication(SessionAuthentication):
    """The page session, unless it still owes its second factor: then the API sees no one (401)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is not None and second_factor_due(result[0]):
            return None
        return result


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.accounts.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.accounts.auth.VerifiedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
