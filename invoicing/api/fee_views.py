"""The API of fees and cards on file: the chain's fee policy (owners), the fees list with retry and
waive (billing and owners; reception reads), a patient's card on file (read, remove). Views are
thin: the services decide and check."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.fields import StrictIntegerField
from config.openapi import errors
from invoicing.cards import SavedCard
from invoicing.connect.exceptions import StripeNotConnected, StripeUnavailable
from invoicing.exceptions import (
    FeeNotRetryable,
    FeeNotWaivable,
    InvoiceHasPayments,
    InvoiceNotOpen,
    NoCardOnFile,
    PatientHasNoEmail,
)
from invoicing.fee_selectors import fee_charge_list, fee_policy_read
from invoicing.fees import FeeCharge, FeePolicy, FeeRule, FeeStatus
from invoicing.services import card_link, cards, fees
from invoicing.services.fees import MAX_FIXED_FEE_MINOR, FeeRuleIn
from patients.models import Patient
from tenants.audit.services import access_log_patients, access_log_records
from tenants.authz import authorize

AMOUNT_HELP = "minor units of the chain's currency (pence, cents)"


class FeePolicyOut(serializers.ModelSerializer):
    class Meta:
        model = FeePolicy
        fields = [
            "no_show_rule",
            "no_show_amount_minor",
            "no_show_percent_bp",
            "late_cancel_rule",
            "late_cancel_amount_minor",
            "late_cancel_percent_bp",
            "updated_at",
        ]


class FeePolicyIn(serializers.Serializer):
    no_show_rule = serializers.ChoiceField(choices=FeeRule.choices)
    no_show_amount_minor = StrictIntegerField(
        min_value=0, max_value=MAX_FIXED_FEE_MINOR, required=False, default=0, help_text=AMOUNT_HELP
    )
    no_show_percent_bp = StrictIntegerField(
        min_value=0, max_value=10_000, required=False, default=0, help_text="basis points of the service's price"
    )
    late_cancel_rule = serializers.ChoiceField(choices=FeeRule.choices)
    late_cancel_amount_minor = StrictIntegerField(
        min_value=0, max_value=MAX_FIXED_FEE_MINOR, required=False, default=0, help_text=AMOUNT_HELP
    )
    late_cancel_percent_bp = StrictIntegerField(
        min_value=0, max_value=10_000, required=False, default=0, help_text="basis points of the service's price"
    )


class CardOut(serializers.ModelSerializer):
    class Meta:
        model = SavedCard
        fields = ["id", "brand", "last4", "exp_month", "exp_year", "saved_at"]


class CardOnFileOut(serializers.Serializer):
    card = CardOut(allow_null=True, help_text="The live card, or null when the patient has none.")


class CardLinkOut(serializers.Serializer):
    url = serializers.CharField(source="session_url", help_text="Stripe's page where the patient saves a card.")
    expires_at = serializers.DateTimeField(help_text="The link stops working then (about 23 hours after sending).")


class FeeChargeOut(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.__str__", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    card = CardOut(read_only=True, allow_null=True)

    class Meta:
        model = FeeCharge
        fields = [
            "id",
            "kind",
            "status",
            "amount_minor",
            "currency",
            "attempts",
            "last_error",
            "last_error_by_stripe",
            "deposit_kept_minor",
            "payment_intent_id",
            "patient",
            "patient_name",
            "appointment",
            "invoice",
            "invoice_number",
            "card",
            "waived_reason",
            "created_at",
            "charged_at",
        ]


class FeeWaiveIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class FeePolicyApi(APIView):
    @extend_schema(summary="The chain's no-show and late-cancellation fees", responses=FeePolicyOut)
    def get(self, request: Request) -> Response:
        return Response(FeePolicyOut(fee_policy_read(actor=request.user)).data)

    @extend_schema(
        summary="Set the chain's no-show and late-cancellation fees (owners)",
        request=FeePolicyIn,
        responses=FeePolicyOut,
    )
    def put(self, request: Request) -> Response:
        v = validated(FeePolicyIn, request)
        policy = fees.fee_policy_update(
            actor=request.user,
            no_show=FeeRuleIn(v["no_show_rule"], v["no_show_amount_minor"], v["no_show_percent_bp"]),
            late_cancellation=FeeRuleIn(
                v["late_cancel_rule"], v["late_cancel_amount_minor"], v["late_cancel_percent_bp"]
            ),
        )
        return Response(FeePolicyOut(policy).data)


def _fee(request: Request, pk: int) -> FeeCharge:
    """A fee of a branch this user sees (another branch's or another chain's is not found)."""
    return get_object_or_404(fee_charge_list(actor=request.user), pk=pk)


class FeeListApi(GenericAPIView):
    queryset = FeeCharge.objects.none()

    @extend_schema(
        summary="Fees of the branches you see, failed charges first",
        parameters=[OpenApiParameter("status", str, enum=FeeStatus.values, required=False)],
        responses=FeeChargeOut(many=True),
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status")
        rows = fee_charge_list(actor=request.user, status=status if status in FeeStatus.values else None)
        page = self.paginate_queryset(rows)
        access_log_records(request, action="list", object_type="fee", records=page or [])
        return self.get_paginated_response(FeeChargeOut(page, many=True).data)


class FeeRetryApi(APIView):
    @extend_schema(
        summary="Charge a failed fee again (a new attempt) with the patient's card on file now",
        request=None,
        responses={200: FeeChargeOut, **errors(FeeNotRetryable, NoCardOnFile, StripeNotConnected)},
    )
    def post(self, request: Request, pk: int) -> Response:
        charge = fees.fee_charge_retry(actor=request.user, fee_charge=_fee(request, pk))
        access_log_records(request, action="update", object_type="fee", records=[charge])
        return Response(FeeChargeOut(charge).data)


class FeeWaiveApi(APIView):
    @extend_schema(
        summary="Waive a fee not yet charged, with the reason (its invoice is voided)",
        request=FeeWaiveIn,
        responses={200: FeeChargeOut, **errors(FeeNotWaivable, InvoiceNotOpen, InvoiceHasPayments)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(FeeWaiveIn, request)
        charge = fees.fee_charge_waive(actor=request.user, fee_charge=_fee(request, pk), reason=v["reason"])
        access_log_records(request, action="update", object_type="fee", records=[charge])
        return Response(FeeChargeOut(charge).data)


class PatientCardApi(APIView):
    @extend_schema(
        summary="The patient's card on file (brand, last four digits, expiry), or null",
        responses=CardOnFileOut,
    )
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.view_card")
        patient = get_object_or_404(Patient, pk=pk)
        card = cards.card_on_file(actor=request.user, patient=patient)
        # "no card" is the patient's too: the read is logged either way
        if card:
            access_log_records(request, action="view", object_type="card", records=[card])
        else:
            access_log_patients(request, action="view", patients=[patient])
        return Response(CardOnFileOut({"card": card}).data)

    @extend_schema(
        summary="Remove the patient's card on file (kept in its history; fees are no longer charged to it)",
        request=None,
        responses={204: None, **errors(NoCardOnFile, StripeNotConnected, StripeUnavailable)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.remove_card")
        patient = get_object_or_404(Patient, pk=pk)
        card = cards.card_on_file_remove(actor=request.user, patient=patient, reason="removed through the API")
        access_log_records(request, action="update", object_type="card", records=[card])
        return Response(status=204)


class PatientCardLinkApi(APIView):
    @extend_schema(
        summary="E-mail the patient a link to save a card for the clinic's fees (Stripe's page; nothing charged)",
        description=(
            "Opens Stripe's card-saving page (Checkout in setup mode) for the patient and e-mails its link to the "
            "patient's e-mail address; the link is also answered, to give another way (SMS, phone). Once the "
            "patient saves a card there it becomes their card on file. Refused with 409 `stripe_not_connected` "
            "(the chain's Stripe account cannot take payments) or `patient_has_no_email` (nothing is opened "
            "at Stripe), 503 `stripe_unavailable` (Stripe could not be reached: try again)."
        ),
        request=None,
        responses={201: CardLinkOut, **errors(PatientHasNoEmail, StripeNotConnected, StripeUnavailable)},
    )
    def post(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.remove_card")
        patient = get_object_or_404(Patient, pk=pk)
        link = card_link.card_link_send(actor=request.user, patient=patient)
        access_log_patients(request, action="update", patients=[patient])
        return Response(CardLinkOut(link).data, status=201)
