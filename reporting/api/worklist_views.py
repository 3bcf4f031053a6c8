"""The work lists' API under /api/v1/reports/: the patients to call back, the invoices to chase and
the package sessions still owed, each a paginated list (``?format=csv|xlsx``: the whole list as a
file) with its counts or totals for the dashboards. Views are thin: reporting.worklists decides who
sees what; every answer and file that names patients is in the access log."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import validated
from config.fields import IdListField
from config.openapi import errors
from invoicing.api.serializers import AMOUNT_HELP
from invoicing.models import Invoice
from packages.models import PackagePurchase
from patients.models import FollowUp
from reporting import worklists as wl
from reporting.api.views import ReportListView, ReportView
from reporting.exceptions import BranchNotInReach, DoctorNotInReach
from reporting.export import CONTENT_TYPES, Format
from tenants.org.models import Branch, StaffMember

FORMAT_HELP = "csv or xlsx: the whole list (every page) as a file to download, in the access log"
FILES = {
    (200, CONTENT_TYPES[Format.CSV].split(";")[0]): OpenApiResponse(
        OpenApiTypes.STR, description="The whole list as CSV (UTF-8 with a byte-order mark), with format=csv"
    ),
    (200, CONTENT_TYPES[Format.XLSX]): OpenApiResponse(
        OpenApiTypes.BINARY, description="The whole list as an Excel workbook, with format=xlsx"
    ),
}
REFUSALS = errors(BranchNotInReach, DoctorNotInReach)


class _Query(serializers.Serializer):  # type: ignore[type-arg]
    branch = IdListField(Branch, required=False, help_text="Branches (repeat the parameter); default: all you see")
    format = serializers.ChoiceField(choices=[f.value for f in Format], required=False, help_text=FORMAT_HELP)


class CallBackQuery(_Query):
    doctor = IdListField(
        StaffMember, required=False, help_text="The follow-ups with these doctors (a doctor: herself only)"
    )
    bucket = serializers.ChoiceField(
        choices=[b.value for b in wl.CallBackBucket],
        required=False,
        help_text="due (within 14 days), overdue (missed ones included), missed (after a paid visit)",
    )


class ReceivableQuery(_Query):
    doctor = IdListField(StaffMember, required=False, help_text="The invoices of visits with these doctors")
    bucket = serializers.ChoiceField(
        choices=list(wl.AGE_BUCKET_NAMES), required=False, help_text="Days past due (current: not yet due)"
    )


class PackageQuery(_Query):
    bucket = serializers.ChoiceField(
        choices=[b.value for b in wl.PackageBucket],
        required=False,
        help_text="expiring (within 30 days), later (active, ending after that), expired (in the last 30 days)",
    )


class CountsQuery(serializers.Serializer):  # type: ignore[type-arg]
    branch = IdListField(Branch, required=False, help_text="Branches (repeat the parameter); default: all you see")


class ListedVisitOut(serializers.Serializer):  # type: ignore[type-arg]
    appointment = serializers.IntegerField(source="appointment_id")
    start = serializers.DateTimeField(help_text="With the branch's UTC offset")
    branch = serializers.IntegerField(source="branch_id", allow_null=True)
    branch_name = serializers.CharField()
    service = serializers.CharField(source="service_name")
    doctor = serializers.CharField(source="doctor_name")


class ListedPatientOut(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(source="patient_id")
    name = serializers.CharField(source="patient_name")
    mrn = serializers.CharField()
    phone = serializers.CharField()


class CallBackOut(serializers.Serializer):  # type: ignore[type-arg]
    follow_up = serializers.IntegerField(source="follow_up_id")
    patient = ListedPatientOut(source="*")
    due_date = serializers.DateField()
    days_overdue = serializers.IntegerField()
    bucket = serializers.ChoiceField(choices=[b.value for b in wl.CallBackBucket])
    reason = serializers.CharField(
        help_text="The follow-up's reason for doctors, managers and owners; 'Follow-up with Dr X' for reception"
    )
    reason_shown = serializers.BooleanField(help_text="Whether reason is the follow-up's own")
    doctor = serializers.IntegerField(source="doctor_id", allow_null=True)
    doctor_name = serializers.CharField()
    branch = serializers.IntegerField(source="branch_id", allow_null=True, help_text="The patient's last visit's")
    branch_name = serializers.CharField()
    last_paid_visit = ListedVisitOut(allow_null=True)
    next_appointment = ListedVisitOut(allow_null=True)


class CallBackCountsOut(serializers.Serializer):  # type: ignore[type-arg]
    due = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="Missed ones included")
    missed = serializers.IntegerField()


class InvoiceToChaseOut(serializers.Serializer):  # type: ignore[type-arg]
    invoice = serializers.IntegerField(source="invoice_id")
    number = serializers.CharField()
    patient = ListedPatientOut(source="*")
    branch = serializers.IntegerField(source="branch_id")
    branch_name = serializers.CharField()
    issued_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    currency = serializers.CharField()
    total_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    owed_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    bucket = serializers.ChoiceField(choices=list(wl.AGE_BUCKET_NAMES))
    days_past_due = serializers.IntegerField()
    last_payment_at = serializers.DateTimeField(allow_null=True)


class BranchAgingOut(serializers.Serializer):  # type: ignore[type-arg]
    branch = serializers.IntegerField(source="branch_id")
    branch_name = serializers.CharField()
    currency = serializers.CharField()
    invoices = serializers.IntegerField()
    buckets = serializers.DictField(child=serializers.IntegerField(), help_text="Per age bucket, " + AMOUNT_HELP)
    past_due_minor = serializers.IntegerField(help_text=AMOUNT_HELP)
    total_minor = serializers.IntegerField(help_text=AMOUNT_HELP)


class PackagePendingOut(serializers.Serializer):  # type: ignore[type-arg]
    purchase = serializers.IntegerField(source="purchase_id")
    patient = ListedPatientOut(source="*")
    branch = serializers.IntegerField(source="branch_id")
    branch_name = serializers.CharField()
    product = serializers.IntegerField(source="product_id")
    package_name = serializers.CharField()
    sessions_total = serializers.IntegerField()
    sessions_used = serializers.IntegerField()
    sessions_reserved = serializers.IntegerField(help_text="Booked, not yet taken")
    sessions_left = serializers.IntegerField(help_text="Neither used nor booked")
    sold_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    days_to_expiry = serializers.IntegerField(help_text="Negative once it has ended")
    bucket = serializers.ChoiceField(choices=[b.value for b in wl.PackageBucket])


class ProductSessionsOut(serializers.Serializer):  # type: ignore[type-arg]
    product = serializers.IntegerField(source="product_id")
    name = serializers.CharField()
    purchases = serializers.IntegerField()
    sessions_left = serializers.IntegerField()
    expiring_purchases = serializers.IntegerField()
    sessions_expiring = serializers.IntegerField()
    expired_purchases = serializers.IntegerField()
    sessions_expired = serializers.IntegerField()


def _list(
    view: GenericAPIView[Any],
    request: Request,
    *,
    sheet: wl.Sheet,
    rows: wl.Rows[Any, Any],
    out: type[serializers.Serializer],  # type: ignore[type-arg]
    fmt: str | None,
) -> Response | HttpResponse:
    """One page of a work list (or all of it as a file), its patients in the access log."""
    if fmt:
        return wl.export_logged(request, sheet=sheet, rows=rows, fmt=fmt)
    page = view.paginate_queryset(rows)  # type: ignore[arg-type]  # a Rows slices and counts as a queryset does
    shown = list(page or [])
    wl.log_rows(request, sheet=sheet, rows=shown)
    return view.get_paginated_response(out(shown, many=True).data)


class CallBackListApi(ReportListView):
    queryset = FollowUp.objects.none()  # the schema's model; the list is reporting.worklists'

    @extend_schema(
        summary=(
            "Patients to call back: open follow-ups due within 14 days or overdue, the longest overdue first "
            "(missed after a paid visit: overdue, with a paid visit before the due date and nothing booked since)"
        ),
        parameters=[CallBackQuery],
        responses={(200, "application/json"): CallBackOut(many=True), **FILES, **REFUSALS},
    )
    def get(self, request: Request) -> Response | HttpResponse:
        q = validated(CallBackQuery, request, request.query_params)
        rows = wl.call_back_list(
            actor=request.user,
            branch_ids=q.get("branch"),
            doctor_ids=q.get("doctor"),
            bucket=wl.CallBackBucket(q["bucket"]) if q.get("bucket") else None,
        )
        return _list(self, request, sheet=wl.CALL_BACKS, rows=rows, out=CallBackOut, fmt=q.get("format"))


class CallBackCountsApi(ReportView):
    @extend_schema(
        summary="How many follow-ups are due, overdue and missed after a paid visit (the dashboards' counts)",
        parameters=[CountsQuery],
        responses={200: CallBackCountsOut, **errors(BranchNotInReach)},
    )
    def get(self, request: Request) -> Response:
        q = validated(CountsQuery, request, request.query_params)
        counts = wl.call_back_counts(actor=request.user, branch_ids=q.get("branch"))
        return Response(CallBackCountsOut(counts).data)


class ReceivableListApi(ReportListView):
    queryset = Invoice.objects.none()

    @extend_schema(
        summary=(
            "Invoices to chase: issued or partly paid with something owed, by days past due "
            "(current, 1_30, 31_60, 61_90, over_90), the longest past due first"
        ),
        parameters=[ReceivableQuery],
        responses={(200, "application/json"): InvoiceToChaseOut(many=True), **FILES, **errors(BranchNotInReach)},
    )
    def get(self, request: Request) -> Response | HttpResponse:
        q = validated(ReceivableQuery, request, request.query_params)
        rows = wl.receivable_list(
            actor=request.user, branch_ids=q.get("branch"), doctor_ids=q.get("doctor"), bucket=q.get("bucket")
        )
        return _list(self, request, sheet=wl.RECEIVABLES, rows=rows, out=InvoiceToChaseOut, fmt=q.get("format"))


class ReceivablesAgingApi(ReportView):
    @extend_schema(
        summary="What is owed per branch and currency by days past due (the dashboards' aging table)",
        parameters=[CountsQuery],
        responses={200: BranchAgingOut(many=True), **errors(BranchNotInReach)},
    )
    def get(self, request: Request) -> Response:
        q = validated(CountsQuery, request, request.query_params)
        rows = wl.receivables_aging(actor=request.user, branch_ids=q.get("branch"))
        return Response(BranchAgingOut(rows, many=True).data)


class PackageListApi(ReportListView):
    queryset = PackagePurchase.objects.none()

    @extend_schema(
        summary=(
            "Package sessions still owed: active purchases with sessions neither used nor booked, those ending "
            "within 30 days first, then purchases that ended in the last 30 days with sessions unused"
        ),
        parameters=[PackageQuery],
        responses={(200, "application/json"): PackagePendingOut(many=True), **FILES, **errors(BranchNotInReach)},
    )
    def get(self, request: Request) -> Response | HttpResponse:
        q = validated(PackageQuery, request, request.query_params)
        rows = wl.package_list(
            actor=request.user,
            branch_ids=q.get("branch"),
            bucket=wl.PackageBucket(q["bucket"]) if q.get("bucket") else None,
        )
        return _list(self, request, sheet=wl.PACKAGES, rows=rows, out=PackagePendingOut, fmt=q.get("format"))


class PackageTotalsApi(ReportView):
    @extend_schema(
        summary="Per package product: sessions still owed, those ending within 30 days, and those lost to expiry",
        parameters=[CountsQuery],
        responses={200: ProductSessionsOut(many=True), **errors(BranchNotInReach)},
    )
    def get(self, request: Request) -> Response:
        q = validated(CountsQuery, request, request.query_params)
        rows = wl.package_totals(actor=request.user, branch_ids=q.get("branch"))
        return Response(ProductSessionsOut(rows, many=True).data)
