"""Cancelling a package sale (billing, owners): the purchase, its credit note and its refund."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from invoicing.exceptions import RefundExceedsPaid
from invoicing.package_ledger import GiveBack, package_cancel
from packages.api.serializers import PurchaseOut
from packages.exceptions import PurchaseNotCancellable
from packages.selectors import purchase_list
from tenants.audit.services import access_log_records
from tenants.authz import authorize


class PackageCancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="why the package is cancelled (kept, audited)")
    give_back = serializers.ChoiceField(
        choices=[(g.value, g.value) for g in GiveBack],
        help_text="pro_rata: the unused sessions' share of the sale's invoice is credited (what is still owed) "
        "and refunded (what was paid); none: nothing is given back",
    )


class PackageCancelOut(serializers.Serializer):
    purchase = PurchaseOut()
    credit_note_id = serializers.IntegerField(allow_null=True)
    credited_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()


class PurchaseCancelApi(APIView):
    @extend_schema(
        summary="Cancel a patient's package (billing, owners), giving back the unused sessions pro rata or nothing",
        request=PackageCancelIn,
        responses={200: PackageCancelOut, **errors(PurchaseNotCancellable, RefundExceedsPaid)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(PackageCancelIn, request)
        authorize(request.user, "packages.cancel_purchase")
        purchase = get_object_or_404(purchase_list(actor=request.user), pk=pk)
        done = package_cancel(
            actor=request.user, purchase=purchase, reason=v["reason"], give_back=GiveBack(v["give_back"])
        )
        access_log_records(request, action="update", object_type="package_purchase", records=[done.purchase])
        note = done.credit_note
        return Response(
            PackageCancelOut(
                {
                    "purchase": done.purchase,
                    "credit_note_id": note.pk if note is not None else None,
                    "credited_minor": note.amount_minor if note is not None else 0,
                    "refunded_minor": sum(r.amount_minor for r in done.refunds),
                }
            ).data
        )
