"""The chain's Stripe connection for its owners: read it, start or finish onboarding, re-read it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import errors
from invoicing.connect import selectors, services
from invoicing.connect.exceptions import StripeNotConfigured, StripeNotConnected, StripeUnavailable
from tenants.authz import authorize
from tenants.models import StripeConnection


class ConnectionOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=[s.value for s in selectors.ConnectState])
    account_id = serializers.CharField(allow_null=True)
    account_type = serializers.CharField(allow_null=True)
    charges_enabled = serializers.BooleanField()
    payouts_enabled = serializers.BooleanField()
    details_submitted = serializers.BooleanField()
    requirements_due = serializers.ListField(child=serializers.CharField())
    refreshed_at = serializers.DateTimeField(allow_null=True)


class OnboardingOut(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe's onboarding page for this chain's account (single use, short-lived).")
    connection = ConnectionOut()


def _out(connection: StripeConnection | None) -> dict[str, object]:
    return {
        "state": selectors.connect_state(connection).value,
        "account_id": connection.account_id if connection else None,
        "account_type": connection.account_type if connection else None,
        "charges_enabled": bool(connection and connection.charges_enabled),
        "payouts_enabled": bool(connection and connection.payouts_enabled),
        "details_submitted": bool(connection and connection.details_submitted),
        "requirements_due": list(connection.requirements_due) if connection else [],
        "refreshed_at": connection.refreshed_at if connection else None,
    }


class StripeConnectionApi(APIView):
    @extend_schema(summary="Read the chain's Stripe connection", responses=ConnectionOut)
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.manage_payments")
        return Response(ConnectionOut(_out(selectors.connection_get())).data)


class StripeOnboardingApi(APIView):
    @extend_schema(
        summary="Connect the chain's Stripe account (or finish onboarding): a link to Stripe's form",
        request=None,
        responses={200: OnboardingOut, **errors(StripeNotConfigured, StripeUnavailable)},
    )
    def post(self, request: Request) -> Response:
        link = services.connect_onboarding_link(actor=request.user)
        return Response(OnboardingOut({"url": link.url, "connection": _out(link.connection)}).data)


class StripeRefreshApi(APIView):
    @extend_schema(
        summary="Read the chain's Stripe account again from Stripe",
        request=None,
        responses={200: ConnectionOut, **errors(StripeNotConfigured, StripeNotConnected, StripeUnavailable)},
    )
    def post(self, request: Request) -> Response:
        return Response(ConnectionOut(_out(services.connect_status_refresh(actor=request.user))).data)
