"""The platform operator's API (public site): clinic chains and their lifecycle."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import paginated, validated
from config.openapi import errors
from tenants import services
from tenants.authz import authorize
from tenants.exceptions import ClinicSlugTaken, ClinicStateConflict
from tenants.models import Clinic
from tenants.selectors import clinic_host, site_url


class ClinicOut(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code", default=None, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Clinic
        fields = ["slug", "name", "schema_name", "plan", "status", "status_reason", "owner_email", "url", "created_at"]

    def get_url(self, obj: Clinic) -> str:
        return site_url(clinic_host(obj))


class ClinicIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=40)
    owner_email = serializers.EmailField()
    timezone = serializers.CharField(max_length=64)
    currency = serializers.CharField(max_length=3)
    locale = serializers.CharField(max_length=16, required=False, default="en")
    plan = serializers.CharField(max_length=40, required=False, allow_null=True, default=None)


class ClinicCreatedOut(ClinicOut):
    owner_setup_link = serializers.CharField()

    class Meta(ClinicOut.Meta):
        fields = [*ClinicOut.Meta.fields, "owner_setup_link"]


class SuspendIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


def _clinics():  # type: ignore[no-untyped-def]
    return Clinic.objects.exclude(schema_name="public").exclude(status__in=Clinic.NOT_CHAINS).select_related("plan")


class ClinicListApi(GenericAPIView):
    queryset = Clinic.objects.none()
    filterset_fields = ["status"]

    @extend_schema(summary="List clinic chains", responses=ClinicOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "tenants.manage_clinics")
        return paginated(self, request, _clinics(), ClinicOut)

    @extend_schema(
        summary="Create a clinic chain", request=ClinicIn, responses={201: ClinicCreatedOut, **errors(ClinicSlugTaken)}
    )
    def post(self, request: Request) -> Response:
        authorize(request.user, "tenants.manage_clinics")
        clinic, link = services.clinic_create(actor=request.user, **validated(ClinicIn, request))
        clinic.owner_setup_link = link  # type: ignore[attr-defined]
        return Response(ClinicCreatedOut(clinic).data, status=201)


class ClinicDetailApi(APIView):
    @extend_schema(summary="Read a clinic chain", responses=ClinicOut)
    def get(self, request: Request, slug: str) -> Response:
        authorize(request.user, "tenants.manage_clinics")
        return Response(ClinicOut(get_object_or_404(_clinics(), slug=slug)).data)


class ClinicSuspendApi(APIView):
    @extend_schema(
        summary="Suspend a clinic chain", request=SuspendIn, responses={200: ClinicOut, **errors(ClinicStateConflict)}
    )
    def post(self, request: Request, slug: str) -> Response:
        authorize(request.user, "tenants.manage_clinics")
        clinic = get_object_or_404(_clinics(), slug=slug)
        reason = validated(SuspendIn, request)["reason"]
        clinic = services.clinic_suspend(actor=request.user, clinic=clinic, reason=reason)
        return Response(ClinicOut(clinic).data)


class ClinicReactivateApi(APIView):
    @extend_schema(
        summary="Reactivate a suspended clinic chain",
        request=None,
        responses={200: ClinicOut, **errors(ClinicStateConflict)},
    )
    def post(self, request: Request, slug: str) -> Response:
        authorize(request.user, "tenants.manage_clinics")
        clinic = get_object_or_404(_clinics(), slug=slug)
        return Response(ClinicOut(services.clinic_reactivate(actor=request.user, clinic=clinic)).data)
