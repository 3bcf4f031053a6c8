"""The reconciliation report's API for owners and billing: the overview (runs, open mismatches by
kind, payouts), the mismatches, resolving one with a note, and a payout with the payments it
contains. Answers carry Stripe ids, amounts and the ledger's payment ids, no patient and no invoice."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from invoicing.exceptions import InvoiceNotOpen, Overpayment
from invoicing.models import Invoice
from invoicing.reconciliation import selectors, services
from invoicing.reconciliation.exceptions import (
    MismatchAlreadyResolved,
    MismatchNotRecordable,
    StripePaymentAlreadyRecorded,
)
from invoicing.reconciliation.models import Mismatch, MismatchKind, Payout, ReconciliationRun, RunStatus
from tenants.authz import authorize

NOTE_MAX_LENGTH = 2000
AMOUNT_HELP = "minor units of the currency (pence, cents); refunds and payouts are negative"


class RunOut(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=RunStatus.choices)

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "period_start",
            "period_end",
            "status",
            "started_at",
            "finished_at",
            "transactions",
            "matched",
            "payouts",
            "mismatches",
        ]


class MismatchOut(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=MismatchKind.choices)
    stripe_description = serializers.CharField(
        default="", allow_blank=True, help_text="The description of Stripe's charge, as Stripe has it."
    )
    stripe_customer = serializers.CharField(default="", allow_blank=True, help_text="Stripe's Customer id (cus_…).")
    stripe_charge = serializers.CharField(
        default="", allow_blank=True, help_text="Stripe's charge (or refund) id behind the movement."
    )
    stripe_amount_minor = serializers.IntegerField(allow_null=True, help_text=AMOUNT_HELP)
    local_amount_minor = serializers.IntegerField(allow_null=True, help_text=AMOUNT_HELP)

    class Meta:
        model = Mismatch
        fields = [
            "id",
            "kind",
            "stripe_id",
            "transaction_type",
            "payment",
            "refund",
            "stripe_amount_minor",
            "stripe_currency",
            "local_amount_minor",
            "local_currency",
            "stripe_description",
            "stripe_customer",
            "stripe_charge",
            "found_in",
            "found_at",
            "resolved_at",
            "resolved_by",
            "resolution_note",
        ]


class KindCountOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MismatchKind.choices)
    open = serializers.IntegerField()


class PayoutOut(serializers.ModelSerializer):
    amount_minor = serializers.IntegerField(help_text=AMOUNT_HELP)

    class Meta:
        model = Payout
        fields = ["id", "stripe_id", "amount_minor", "currency", "arrival_date", "status", "created_at_stripe"]


class OverviewOut(serializers.Serializer):
    runs = RunOut(many=True)
    open_by_kind = KindCountOut(many=True)
    open_total = serializers.IntegerField()
    payouts = PayoutOut(many=True)


class PayoutLineOut(serializers.Serializer):
    stripe_id = serializers.CharField()
    type = serializers.CharField(help_text="Stripe's balance transaction type: charge, refund, payout…")
    amount_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    fee_minor = serializers.IntegerField()
    net_minor = serializers.IntegerField()
    currency = serializers.CharField()
    payment = serializers.IntegerField(source="payment.pk", allow_null=True, default=None)
    payment_intent = serializers.CharField(allow_blank=True)


class PayoutDetailOut(serializers.Serializer):
    payout = PayoutOut()
    lines = PayoutLineOut(many=True)
    payments_minor = serializers.IntegerField()
    fees_minor = serializers.IntegerField()


class ResolveIn(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class RecordIn(serializers.Serializer):
    invoice = serializers.IntegerField(min_value=1, help_text="The open invoice the Stripe payment pays.")


class MismatchFilterIn(serializers.Serializer):
    open = serializers.BooleanField(default=True)
    kind = serializers.ChoiceField(choices=MismatchKind.choices, required=False)


class ReconciliationApi(APIView):
    @extend_schema(
        summary="Reconciliation with the chain's Stripe account: recent runs, open mismatches by kind, payouts",
        responses=OverviewOut,
    )
    def get(self, request: Request) -> Response:
        overview = selectors.reconciliation_overview(actor=request.user)
        return Response(OverviewOut(overview).data)


class MismatchListApi(APIView):
    @extend_schema(
        summary="Mismatches between Stripe and the ledger (open ones unless open=false)",
        parameters=[
            OpenApiParameter("open", bool, description="Only open ones (the default)."),
            OpenApiParameter("kind", str, enum=MismatchKind.values),
        ],
        responses=MismatchOut(many=True),
    )
    def get(self, request: Request) -> Response:
        authorize(request.user, "invoicing.view_reconciliation")
        v = validated(MismatchFilterIn, request, request.query_params)
        found = selectors.mismatch_list(actor=request.user, open_only=v["open"], kind=v.get("kind"))
        return Response(MismatchOut(found[: selectors.OPEN_SHOWN], many=True).data)


class MismatchResolveApi(APIView):
    @extend_schema(
        summary="Mark a mismatch resolved, saying how",
        request=ResolveIn,
        responses={200: MismatchOut, **errors(MismatchAlreadyResolved)},
    )
    def post(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.resolve_mismatch")
        v = validated(ResolveIn, request)
        mismatch = get_object_or_404(Mismatch, pk=pk)
        services.mismatch_resolve(actor=request.user, mismatch=mismatch, **v)
        return Response(MismatchOut(_read_back(request, mismatch)).data)


class MismatchRecordApi(APIView):
    @extend_schema(
        summary="Record a Stripe payment missing here against the invoice it pays (resolves the mismatch)",
        request=RecordIn,
        responses={
            200: MismatchOut,
            **errors(
                MismatchAlreadyResolved,
                MismatchNotRecordable,
                StripePaymentAlreadyRecorded,
                InvoiceNotOpen,
                Overpayment,
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.resolve_mismatch")
        v = validated(RecordIn, request)
        mismatch = get_object_or_404(Mismatch, pk=pk)
        invoice = get_object_or_404(Invoice, pk=v["invoice"])
        services.mismatch_record_payment(actor=request.user, mismatch=mismatch, invoice=invoice)
        return Response(MismatchOut(_read_back(request, mismatch)).data)


def _read_back(request: Request, mismatch: Mismatch) -> Mismatch:
    """The mismatch as the list answers it (with what Stripe says of it), after a change."""
    return selectors.mismatch_list(actor=request.user, open_only=False).get(pk=mismatch.pk)


class PayoutDetailApi(APIView):
    @extend_schema(
        summary="A payout with the balance transactions (payments, refunds) it contains", responses=PayoutDetailOut
    )
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.view_reconciliation")
        payout = get_object_or_404(Payout, pk=pk)
        return Response(PayoutDetailOut(selectors.payout_detail(actor=request.user, payout_id=payout.pk)).data)
