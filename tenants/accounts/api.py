"""Sign-in for API clients: e-mail + password gives a token. Works on the public site (platform
operators) and on each clinic chain's site (its own users) alike."""

from __future__ import annotations

from typing import cast

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from tenants.accounts.models import User


class InvalidCredentials(ApplicationError):
    status = 400
    code = "invalid_credentials"
    default_message = "The e-mail address or password is not correct."


class UserOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class LoginApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer("LoginOut", {"token": serializers.CharField(), "user": UserOut()}),
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The plain HttpRequest, so django-axes can count the failure and lock the login.
        user = authenticate(
            request._request, username=data.validated_data["email"], password=data.validated_data["password"]
        )
        if user is None:
            raise InvalidCredentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "user": UserOut(user).data})


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        Token.objects.filter(user=cast(User, request.user)).delete()  # IsAuthenticated: never anonymous
        return Response(status=204)


class MeApi(APIView):
    @extend_schema(responses=UserOut)
    def get(self, request: Request) -> Response:
        return Response(UserOut(request.user).data)
