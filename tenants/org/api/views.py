from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import StrictBooleanFilter, paginated, validated
from config.fields import IdFilter, StrictFilterSet
from config.openapi import errors
from tenants.accounts.api import UserOut
from tenants.authz import authorize
from tenants.org import selectors, services
from tenants.org.api import serializers as s
from tenants.org.exceptions import BranchNameTaken, EmailInUse, InvitationInvalid, InvitationNotPending, LastOwner
from tenants.org.models import Branch, Invitation, Role, StaffMember


class ChainSettingsApi(APIView):
    @extend_schema(summary="Read the chain's settings", responses=s.ChainSettingsOut)
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_settings")
        return Response(s.ChainSettingsOut(selectors.chain_settings_get()).data)

    @extend_schema(summary="Change the chain's settings", request=s.ChainSettingsIn, responses=s.ChainSettingsOut)
    def patch(self, request: Request) -> Response:
        chain = services.chain_settings_update(actor=request.user, **validated(s.ChainSettingsIn, request))
        return Response(s.ChainSettingsOut(chain).data)


class BranchFilter(StrictFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    is_active = StrictBooleanFilter()

    class Meta:
        model = Branch
        fields = ["name", "is_active"]


class BranchListApi(GenericAPIView):
    filterset_class = BranchFilter
    queryset = Branch.objects.none()

    @extend_schema(summary="List branches", responses=s.BranchOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_branch")
        return paginated(self, request, selectors.branch_list(actor=request.user), s.BranchOut)

    @extend_schema(summary="Open a branch", request=s.BranchIn, responses={201: s.BranchOut, **errors(BranchNameTaken)})
    def post(self, request: Request) -> Response:
        branch = services.branch_create(actor=request.user, **validated(s.BranchIn, request))
        return Response(s.BranchOut(branch).data, status=201)


class BranchDetailApi(APIView):
    @extend_schema(summary="Read a branch", responses=s.BranchOut)
    def get(self, request: Request, pk: int) -> Response:
        authorize(request.user, "org.view_branch")
        return Response(s.BranchOut(get_object_or_404(selectors.branch_list(actor=request.user), pk=pk)).data)

    @extend_schema(
        summary="Change a branch", request=s.BranchPatch, responses={200: s.BranchOut, **errors(BranchNameTaken)}
    )
    def patch(self, request: Request, pk: int) -> Response:
        branch = get_object_or_404(Branch, pk=pk)
        v = validated(s.BranchPatch, request)
        return Response(s.BranchOut(services.branch_update(actor=request.user, branch=branch, **v)).data)


class StaffFilter(StrictFilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices, method="filter_role")
    branch = IdFilter(field_name="branches")
    is_active = StrictBooleanFilter()

    class Meta:
        model = StaffMember
        fields = ["role", "branch", "is_active"]

    def filter_role(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset.filter(roles__contains=[value])


class StaffListApi(GenericAPIView):
    filterset_class = StaffFilter
    queryset = StaffMember.objects.none()

    @extend_schema(summary="List staff", responses=s.StaffOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_staff")
        return paginated(self, request, selectors.staff_list(actor=request.user), s.StaffOut)


class StaffDetailApi(APIView):
    def _get(self, request: Request, pk: int) -> StaffMember:
        authorize(request.user, "org.view_staff")
        # Outside the actor's view (another manager's branch) is answered like a missing row.
        return get_object_or_404(selectors.staff_list(actor=request.user), pk=pk)

    @extend_schema(summary="Read a staff member", responses=s.StaffOut)
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.StaffOut(self._get(request, pk)).data)

    @extend_schema(
        summary="Change a staff member's roles, branches or status",
        request=s.StaffPatch,
        responses={200: s.StaffOut, **errors(LastOwner)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        staff = self._get(request, pk)
        staff = services.staff_update(actor=request.user, staff=staff, **validated(s.StaffPatch, request))
        return Response(s.StaffOut(staff).data)


class InvitationListApi(GenericAPIView):
    queryset = Invitation.objects.none()
    filterset_fields = ["status"]

    @extend_schema(summary="List invitations", responses=s.InvitationOut(many=True))
    def get(self, request: Request) -> Response:
        authorize(request.user, "org.view_staff")
        return paginated(self, request, selectors.invitation_list(actor=request.user), s.InvitationOut)

    @extend_schema(
        summary="Invite someone to join the staff",
        request=s.InvitationIn,
        responses={201: s.InvitationOut, **errors(EmailInUse)},
    )
    def post(self, request: Request) -> Response:
        invitation, _link = services.staff_invite(actor=request.user, **validated(s.InvitationIn, request))
        return Response(s.InvitationOut(invitation).data, status=201)


class InvitationRevokeApi(APIView):
    @extend_schema(
        summary="Revoke an invitation", request=None, responses={200: s.InvitationOut, **errors(InvitationNotPending)}
    )
    def post(self, request: Request, pk: int) -> Response:
        authorize(request.user, "org.view_staff")
        invitation = get_object_or_404(selectors.invitation_list(actor=request.user), pk=pk)
        return Response(s.InvitationOut(services.invitation_revoke(actor=request.user, invitation=invitation)).data)


class InvitationAcceptApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        summary="Accept an invitation and create one's account",
        request=s.InvitationAcceptIn,
        responses={201: UserOut, **errors(InvitationInvalid, InvitationNotPending, EmailInUse)},
    )
    def post(self, request: Request) -> Response:
        user = services.invitation_accept(**validated(s.InvitationAcceptIn, request))
        return Response(UserOut(user).data, status=201)
