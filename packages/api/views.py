"""The packages API: products (owners shape them), a patient's purchases (the desk sells them),
sessions still pending per patient and per product, and taking a booked visit off its package.
Views are thin: the services decide and check; every read of a patient's packages is access-logged."""

from __future__ import annotations

from collections.abc import Callable

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from packages import services as pkg
from packages.api import serializers as s
from packages.exceptions import NoPackageLeft, NoPackageSession, ProductNotAtBranch, ProductRetired
from packages.models import PackageProduct, PackageSession
from packages.selectors import pending_by_product, pending_sessions, product_list, purchase_list
from patients.models import Patient
from scheduling.selectors import appointment_list
from tenants.audit.services import access_log_records
from tenants.authz import authorize
from tenants.org.selectors import branch_list


def _product(pk: int) -> PackageProduct:
    return get_object_or_404(PackageProduct, pk=pk)


class ProductListApi(APIView):
    @extend_schema(summary="List the chain's package products", responses=s.ProductOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "packages.view_purchase")
        return Response(s.ProductOut(product_list(), many=True).data)

    @extend_schema(summary="Create a package product (owners)", request=s.ProductIn, responses={201: s.ProductOut})
    def post(self, request: Request) -> Response:
        product = pkg.product_create(actor=request.user, **validated(s.ProductIn, request))
        return Response(s.ProductOut(product).data, status=201)


class ProductDetailApi(APIView):
    @extend_schema(
        summary="Change a package product from now on (owners); purchases made keep what was sold",
        request=s.ProductIn,
        responses=s.ProductOut,
    )
    def put(self, request: Request, pk: int) -> Response:
        authorize(request.user, "packages.manage_product")
        product = pkg.product_update(actor=request.user, product=_product(pk), **validated(s.ProductIn, request))
        return Response(s.ProductOut(product).data)


class ProductRetireApi(APIView):
    @extend_schema(summary="Stop selling a package product (owners)", request=None, responses=s.ProductOut)
    def post(self, request: Request, pk: int) -> Response:
        authorize(request.user, "packages.manage_product")
        product = pkg.product_retire(actor=request.user, product=_product(pk))
        return Response(s.ProductOut(product).data)


class PatientPurchasesApi(APIView):
    @extend_schema(
        summary="A patient's packages sold at the branches you see, with their balances",
        responses=s.PurchaseOut(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "packages.view_purchase")
        patient = get_object_or_404(Patient, pk=pk)
        purchases = list(purchase_list(actor=request.user, patient_id=patient.pk))
        access_log_records(request, action="list", object_type="package_purchase", records=purchases)
        return Response(s.PurchaseOut(purchases, many=True).data)

    @extend_schema(
        summary="Sell a package to a patient at a branch (its invoice is raised and issued)",
        request=s.SellIn,
        responses={201: s.PurchaseOut, **errors(ProductRetired, ProductNotAtBranch)},
    )
    def post(self, request: Request, pk: int) -> Response:
        v = validated(s.SellIn, request)
        authorize(request.user, "packages.sell")
        patient = get_object_or_404(Patient, pk=pk)
        branch = get_object_or_404(branch_list(actor=request.user), pk=v["branch"])
        purchase = pkg.package_sell(actor=request.user, product=_product(v["product"]), patient=patient, branch=branch)
        access_log_records(request, action="create", object_type="package_purchase", records=[purchase])
        return Response(s.PurchaseOut(purchase).data, status=201)


class PatientPendingSessionsApi(APIView):
    @extend_schema(
        summary="A patient's package sessions reserved by visits not yet taken place",
        responses=s.SessionOut(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "packages.view_purchase")
        patient = get_object_or_404(Patient, pk=pk)
        sessions = list(pending_sessions(actor=request.user, patient_id=patient.pk))
        access_log_records(
            request, action="list", object_type="package_purchase", records=[x.purchase for x in sessions]
        )
        return Response(s.SessionOut(sessions, many=True).data)


class PendingByProductApi(APIView):
    @extend_schema(
        summary="Sessions still owed on active packages, per product, at the branches you see (managers)",
        responses=s.ProductPendingOut(many=True),
    )
    def get(self, request: Request) -> Response:
        authorize(request.user, "packages.view_report")
        return Response(s.ProductPendingOut(pending_by_product(actor=request.user), many=True).data)


def _session_changed(request: Request, pk: int, change: Callable[..., PackageSession]) -> Response:
    """Take a visit off its package or put it on one (``change``), logged as an update of the purchase."""
    authorize(request.user, "packages.change_session")
    appointment = get_object_or_404(appointment_list(actor=request.user).select_related("branch"), pk=pk)
    session = change(actor=request.user, appointment=appointment)
    access_log_records(request, action="update", object_type="package_purchase", records=[session.purchase])
    return Response(s.SessionOut(session).data)


class AppointmentReleaseApi(APIView):
    @extend_schema(
        summary="Take a booked visit off its package: the session goes back, the visit is paid as usual",
        request=None,
        responses={200: s.SessionOut, **errors(NoPackageSession)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return _session_changed(request, pk, pkg.package_session_release)


class AppointmentUseApi(APIView):
    @extend_schema(
        summary="Put a booked visit on the patient's package (one booked before the sale, or taken off it)",
        request=None,
        responses={200: s.SessionOut, **errors(NoPackageLeft)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return _session_changed(request, pk, pkg.package_session_use)
