"""Sign-in for API clients: e-mail + password (+ a two-factor code where due) gives a token for one
client. Works on the public site (platform operators) and on each clinic chain's site (its own
users) alike. Tokens are knox's: only a digest is stored, each expires, and each can be listed and
revoked on its own."""

from __future__ import annotations

from typing import cast

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from tenants.accounts import selectors, services
from tenants.accounts.exceptions import (
    InvalidCredentials,
    LoginLocked,
    OtpInvalid,
    OtpRequired,
    OtpSetupRequired,
    OtpTooSoon,
    TokenLimitReached,
    TokenNotFound,
)
from tenants.accounts.models import ApiToken, User


class UserOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class TokenOut(serializers.Serializer):
    id = serializers.CharField(source="token_key", help_text="The token's public prefix; names it in /auth/tokens/.")
    client_name = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    last_used = serializers.DateTimeField(allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, token: ApiToken) -> bool:
        current = self.context.get("current")
        return current is not None and token.pk == current.pk


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)
        otp = serializers.CharField(
            required=False, allow_blank=True, help_text="The authenticator app's code, or a recovery code."
        )
        client_name = serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text="Names this client in the token list."
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "LoginOut",
                {
                    "token": serializers.CharField(help_text="Shown once: send it as `Authorization: Token <token>`."),
                    "token_id": serializers.CharField(),
                    "expiry": serializers.DateTimeField(allow_null=True),
                    "user": UserOut(),
                },
            ),
            **errors(
                InvalidCredentials,
                OtpRequired,
                OtpSetupRequired,
                OtpInvalid,
                OtpTooSoon,
                TokenLimitReached,
                LoginLocked,
            ),
        },
        summary="Sign in and get an API token for this client",
    )
    def post(self, request: Request) -> Response:
        d = validated(self.InputSerializer, request)
        # The plain HttpRequest, so django-axes can count the failure and lock the login.
        user = authenticate(request._request, username=d["email"], password=d["password"])
        if user is None:
            raise InvalidCredentials()
        user = cast(User, user)
        if selectors.two_factor_enabled(user):
            if not d.get("otp"):
                raise OtpRequired()
            services.second_factor_check(request=request._request, user=user, code=d["otp"])
        elif selectors.two_factor_required(user):
            raise OtpSetupRequired()
        client = d.get("client_name") or request.headers.get("User-Agent", "")[:100]
        token, secret = services.api_token_issue(user=user, client_name=client)
        return Response(
            {
                "token": secret,
                "token_id": token.token_key,
                "expiry": serializers.DateTimeField().to_representation(token.expiry) if token.expiry else None,
                "user": UserOut(user).data,
            }
        )


class LogoutApi(APIView):
    """Revokes the token this request carries; the person's other clients stay signed in."""

    @extend_schema(summary="Sign this client out (revoke its token)", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            services.api_token_revoke(user=cast(User, request.user), token_key=request.auth.token_key)
        return Response(status=204)


class LogoutAllApi(APIView):
    """Revokes every token of the caller (every client, this one included)."""

    @extend_schema(summary="Sign every client out (revoke all your tokens)", request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        services.api_tokens_revoke_all(user=cast(User, request.user))
        return Response(status=204)


class TokenListApi(APIView):
    @extend_schema(summary="List your API tokens", responses=TokenOut(many=True))
    def get(self, request: Request) -> Response:
        tokens = selectors.api_token_list(user=cast(User, request.user))
        return Response(TokenOut(tokens, many=True, context={"current": request.auth}).data)


class TokenDetailApi(APIView):
    @extend_schema(
        summary="Revoke one of your API tokens", request=None, responses={204: None, **errors(TokenNotFound)}
    )
    def delete(self, request: Request, token_id: str) -> Response:
        services.api_token_revoke(user=cast(User, request.user), token_key=token_id)
        return Response(status=204)


class MeApi(APIView):
    @extend_schema(summary="Who is signed in", responses=UserOut)
    def get(self, request: Request) -> Response:
        return Response(UserOut(request.user).data)
