"""The patient API (demographics). Every read is written to the access log."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from patients import selectors, services
from patients.models import Patient
from tenants.audit.services import access_log_record
from tenants.authz import authorize


class PatientOut(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "first_name", "last_name", "date_of_birth", "phone", "email", "created_at"]


class PatientIn(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class PatientListApi(GenericAPIView):
    queryset = Patient.objects.none()

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="name, phone, MRN or e-mail")],
        responses=PatientOut(many=True),
    )
    def get(self, request: Request) -> Response:
        authorize(request.user, "patients.view_patient")
        page = self.paginate_queryset(selectors.patient_search(q=request.query_params.get("q", "")))
        ids = [p.pk for p in page or []]
        access_log_record(
            actor=request.user,
            action="search",
            object_type="patient",
            object_ids=ids,
            patient_ids=ids,
            request=request._request,
        )
        return self.get_paginated_response(PatientOut(page, many=True).data)

    @extend_schema(request=PatientIn, responses={201: PatientOut})
    def post(self, request: Request) -> Response:
        data = PatientIn(data=request.data)
        data.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, request=request._request, **data.validated_data)
        return Response(PatientOut(patient).data, status=201)


class PatientDetailApi(APIView):
    @extend_schema(responses=PatientOut)
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "patients.view_patient")
        patient = get_object_or_404(Patient, pk=pk)
        access_log_record(
            actor=request.user,
            action="view",
            object_type="patient",
            object_ids=[patient.pk],
            patient_ids=[patient.pk],
            request=request._request,
        )
        return Response(PatientOut(patient).data)
