"""The ledger's API: invoices (list, detail, issue, void, credit note), payments taken at the desk,
refunds, a patient's balance and aged receivables. Views are thin: the services decide and check."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from invoicing import services as billing
from invoicing.api import serializers as s
from invoicing.document import invoice_pdf
from invoicing.exceptions import (
    AlreadyInvoiced,
    CreditFreesPayment,
    InvoiceHasPayments,
    InvoiceNotOpen,
    NotInvoiceable,
    Overpayment,
    PaymentMethodNotRecordable,
    RefundExceedsPaid,
)
from invoicing.models import Invoice, Payment
from invoicing.selectors import aged_receivables, invoice_list, patient_balance
from patients.models import Patient
from scheduling.selectors import appointment_list
from tenants.audit.services import access_log_records, access_log_response
from tenants.authz import authorize


def _invoice(request: Request, pk: int) -> Invoice:
    """An invoice of a branch this user sees (another branch's or another chain's is not found)."""
    authorize(request.user, "invoicing.view_invoice")
    return get_object_or_404(
        invoice_list(actor=request.user).prefetch_related("lines", "payments", "credit_notes"), pk=pk
    )


def _one(request: Request, invoice: Invoice, action: str = "view", status: int = 200) -> Response:
    invoice.refresh_from_db()
    access_log_records(request, action=action, object_type="invoice", records=[invoice])
    return Response(s.InvoiceDetailOut(invoice).data, status=status)


class InvoiceListApi(GenericAPIView):
    queryset = Invoice.objects.none()
    filterset_fields = ["status", "branch", "patient", "appointment"]

    @extend_schema(summary="List invoices of the branches you see", responses=s.InvoiceOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "invoicing.view_invoice")
        page = self.paginate_queryset(self.filter_queryset(invoice_list(actor=request.user)))
        access_log_records(request, action="list", object_type="invoice", records=page or [])
        return self.get_paginated_response(s.InvoiceOut(page, many=True).data)


class InvoiceDetailApi(APIView):
    @extend_schema(summary="Read an invoice with its lines, payments and credit notes", responses=s.InvoiceDetailOut)
    def get(self, request: Request, pk: int) -> Response:
        return _one(request, _invoice(request, pk))


class InvoicePdfApi(APIView):
    @extend_schema(
        summary="Download an invoice as a PDF (the printable invoice: chain, branch, patient, lines, tax, totals)",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The invoice's PDF")},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        document, pdf = invoice_pdf(actor=request.user, invoice_id=pk)
        access_log_records(request, action="view", object_type="invoice", records=[document.invoice])
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
        return response


class AppointmentInvoiceApi(APIView):
    @extend_schema(
        summary="Raise and issue a completed visit's invoice (normally raised when the visit is completed)",
        request=None,
        responses={201: s.InvoiceDetailOut, **errors(AlreadyInvoiced, NotInvoiceable)},
    )
    def post(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.manage_invoice")
        appointment = get_object_or_404(appointment_list(actor=request.user).select_related("branch"), pk=pk)
        invoice = billing.invoice_raise_for_appointment(actor=request.user, appointment=appointment)
        return _one(request, invoice, "create", status=201)


class InvoiceIssueApi(APIView):
    @extend_schema(
        summary="Issue a draft invoice (it takes the chain's next number)",
        request=None,
        responses={200: s.InvoiceDetailOut, **errors(InvoiceNotOpen)},
    )
    def post(self, request: Request, pk: int) -> Response:
        invoice = billing.invoice_issue(actor=request.user, invoice=_invoice(request, pk))
        return _one(request, invoice, "update")


class InvoiceVoidApi(APIView):
    @extend_schema(
        summary="Void an invoice that has no payment",
        request=s.VoidIn,
        responses={200: s.InvoiceDetailOut, **errors(InvoiceNotOpen, InvoiceHasPayments)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(s.VoidIn, request)
        invoice = billing.invoice_void(actor=request.user, invoice=_invoice(request, pk), reason=v["reason"])
        return _one(request, invoice, "update")


class PaymentRecordApi(APIView):
    @extend_schema(
        summary="Record a cash or card-terminal payment (all or part of what is owed)",
        request=s.PaymentIn,
        responses={201: s.PaymentOut, **errors(InvoiceNotOpen, Overpayment, PaymentMethodNotRecordable)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(s.PaymentIn, request)
        invoice = _invoice(request, pk)
        payment = billing.payment_record(actor=request.user, invoice=invoice, **v)
        access_log_records(request, action="update", object_type="invoice", records=[invoice])
        return Response(s.PaymentOut(payment).data, status=201)


class RefundRecordApi(APIView):
    @extend_schema(
        summary="Refund all or part of a payment, with the reason",
        request=s.AmountReasonIn,
        responses={201: s.RefundOut, **errors(RefundExceedsPaid)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(s.AmountReasonIn, request)
        authorize(request.user, "invoicing.view_invoice")
        payment = get_object_or_404(Payment, pk=pk, invoice__in=invoice_list(actor=request.user))
        refund = billing.refund_record(actor=request.user, payment=payment, **v)
        access_log_records(request, action="update", object_type="invoice", records=[payment.invoice])
        return Response(s.RefundOut(refund).data, status=201)


class CreditNoteApi(APIView):
    @extend_schema(
        summary="Credit part or all of an issued, partly paid or paid invoice (past what is owed, with refund_freed)",
        request=s.CreditNoteIn,
        responses={201: s.CreditNoteOut, **errors(InvoiceNotOpen, Overpayment, CreditFreesPayment)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(s.CreditNoteIn, request)
        invoice = _invoice(request, pk)
        note = billing.credit_note_issue(actor=request.user, invoice=invoice, **v)
        access_log_records(request, action="update", object_type="invoice", records=[invoice])
        return Response(s.CreditNoteOut(note).data, status=201)


class PatientBalanceApi(APIView):
    @extend_schema(
        summary="What a patient owes on invoices of the branches you see, per currency",
        responses=s.BalanceOut(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "invoicing.view_invoice")
        patient = get_object_or_404(Patient, pk=pk)
        balances = patient_balance(actor=request.user, patient_id=patient.pk)
        access_log_response(
            request, action="view", object_type="patient_balance", object_ids=[patient.pk], patient_ids=[patient.pk]
        )
        return Response(s.BalanceOut(balances, many=True).data)


class ReceivablesApi(APIView):
    @extend_schema(
        summary="Aged receivables: what each patient owes by days past due (0-30, 31-60, 61-90, over 90)",
        responses=s.ReceivableOut(many=True),
    )
    def get(self, request: Request) -> Response:
        authorize(request.user, "invoicing.view_receivables")
        rows = aged_receivables(actor=request.user)
        ids = [r.patient_id for r in rows]
        access_log_response(request, action="list", object_type="patient_balance", object_ids=ids, patient_ids=ids)
        return Response(s.ReceivableOut(rows, many=True).data)
