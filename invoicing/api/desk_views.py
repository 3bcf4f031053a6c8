"""The billing desk's API: one payment towards a patient's whole balance (allocated oldest first)
and a branch's takings of one day. Views are thin: the service and the report decide and check."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.errors import NotFound
from config.openapi import errors
from invoicing.api.serializers import AMOUNT_HELP, PaymentIn, PaymentOut
from invoicing.exceptions import Overpayment, PaymentMethodNotRecordable
from invoicing.reports import daily_takings, takings_access_logged
from invoicing.services.allocation import balance_pay
from patients.models import Patient
from tenants.audit.services import access_log_response
from tenants.authz import authorize


class BalancePaymentIn(PaymentIn):
    currency = serializers.CharField(min_length=3, max_length=3, help_text="The currency of the balance paid")


class BalancePaymentOut(serializers.Serializer):
    invoice = serializers.IntegerField(source="invoice_id")
    invoice_number = serializers.CharField(source="invoice.number")
    payment = PaymentOut(source="*")


class BalancePaymentApi(APIView):
    @extend_schema(
        summary=(
            "Record one cash or card-terminal payment towards a patient's whole balance: spread over the open "
            "invoices oldest first (the earliest due), one payment per invoice it reaches"
        ),
        request=BalancePaymentIn,
        responses={201: BalancePaymentOut(many=True), **errors(Overpayment, PaymentMethodNotRecordable)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(BalancePaymentIn, request)
        authorize(request.user, "invoicing.record_payment")
        patient = get_object_or_404(Patient, pk=pk)
        payments = balance_pay(actor=request.user, patient_id=patient.pk, **v)
        ids = [p.invoice_id for p in payments]
        access_log_response(
            request, action="update", object_type="invoice", object_ids=ids, patient_ids=[patient.pk] * len(ids)
        )
        return Response(BalancePaymentOut(payments, many=True).data, status=201)


class MethodTakingsOut(serializers.Serializer):
    currency = serializers.CharField()
    method = serializers.CharField()
    payments = serializers.IntegerField()
    taken_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    refunds = serializers.IntegerField()
    refunded_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    net_minor = serializers.IntegerField(help_text=AMOUNT_HELP)


class CurrencyTakingsOut(serializers.Serializer):
    currency = serializers.CharField()
    taken_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    refunded_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    net_minor = serializers.IntegerField(help_text=AMOUNT_HELP)


class TakingsOut(serializers.Serializer):
    branch = serializers.IntegerField(source="branch.pk")
    day = serializers.DateField()
    by_method = MethodTakingsOut(many=True)
    totals = CurrencyTakingsOut(many=True)
    pending_refunds = serializers.IntegerField(
        source="pending_refund_count", help_text="Refunds through Stripe still pending (not counted)"
    )


class TakingsQuery(serializers.Serializer):
    branch = serializers.IntegerField(required=False, min_value=1)
    day = serializers.DateField(required=False)


class TakingsApi(APIView):
    @extend_schema(
        summary="A branch's takings of one day (its wall-clock day): payments and refunds by method, and the net",
        parameters=[
            OpenApiParameter("branch", int, description="A branch you see (default: the first by name)"),
            OpenApiParameter("day", str, description="YYYY-MM-DD (default: today at the branch)"),
        ],
        responses={200: TakingsOut, **errors(NotFound)},
    )
    def get(self, request: Request) -> Response:
        query = validated(TakingsQuery, request, request.query_params)
        report = daily_takings(actor=request.user, branch_id=query.get("branch"), day=query.get("day"))
        takings_access_logged(request, report)
        return Response(TakingsOut(report).data)
