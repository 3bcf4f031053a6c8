"""The waitlist over the API: a branch's entries (list, add a patient, remove one) and the offers
made of freed times with their state. The desk's waitlist page calls the same services and
selectors (frontend/waitlist_views.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.fields import StrictDateField, StrictIntegerField, max_length
from config.fields import StrictPrimaryKeyRelatedField as Ref
from config.openapi import errors
from patients.models import Patient
from scheduling import services as sched
from scheduling.api import serializers as s
from scheduling.exceptions import WaitlistLinkInvalid
from scheduling.models import OfferStatus, Service, WaitlistEntry, WaitlistOffer, WaitlistStatus
from scheduling.waitlist import waitlist_entry_get, waitlist_list, waitlist_offer_list
from tenants.audit.services import access_log_records
from tenants.authz import authorize
from tenants.org.models import Branch


class BranchQuery(serializers.Serializer):
    branch = Ref(queryset=Branch.objects.all(), required=False, allow_null=True, default=None)


class OfferQuery(BranchQuery):
    status = serializers.ChoiceField(choices=OfferStatus.choices, required=False, allow_null=True, default=None)


class WaitlistEntryIn(serializers.Serializer):
    patient = Ref(queryset=Patient.objects.all())
    branch = Ref(queryset=Branch.objects.all())
    service = Ref(queryset=Service.objects.all())
    doctor = Ref(queryset=s.DOCTORS, required=False, allow_null=True, default=None, help_text="empty: any doctor")
    date_from = StrictDateField()
    date_to = StrictDateField()
    time_from = serializers.TimeField(help_text="earliest start on the branch's clock")
    time_to = serializers.TimeField(help_text="latest end of the visit on the branch's clock")
    weekdays = serializers.ListField(
        child=StrictIntegerField(min_value=0, max_value=6),
        required=False,
        default=list,
        max_length=7,
        help_text="0 is Monday; empty: any day",
    )
    notes = serializers.CharField(
        max_length=max_length(WaitlistEntry, "notes"), required=False, allow_blank=True, default=""
    )


class WaitlistOfferOut(serializers.Serializer):
    id = serializers.IntegerField()
    entry = serializers.IntegerField(source="entry_id")
    patient = serializers.IntegerField(source="entry.patient_id")
    status = serializers.ChoiceField(choices=OfferStatus.choices)
    doctor = serializers.IntegerField(source="hold.doctor_id")
    start = serializers.DateTimeField(source="hold.span.lower")
    end = serializers.DateTimeField(source="hold.span.upper")
    service = serializers.IntegerField(source="hold.service_id")
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    appointment = serializers.IntegerField(source="appointment_id", allow_null=True)


class WaitlistEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    branch = serializers.IntegerField(source="branch_id")
    service = serializers.IntegerField(source="service_id")
    doctor = serializers.IntegerField(source="doctor_id", allow_null=True)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    time_from = serializers.TimeField()
    time_to = serializers.TimeField()
    weekdays = serializers.ListField(child=serializers.IntegerField())
    status = serializers.ChoiceField(choices=WaitlistStatus.choices)
    origin = serializers.CharField(source="source", help_text="staff: added by the desk; online: from the booking page")
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    appointment = serializers.IntegerField(source="appointment_id", allow_null=True)


def _window(v: dict[str, Any]) -> sched.Window:
    return sched.Window(
        date_from=v["date_from"],
        date_to=v["date_to"],
        time_from=v["time_from"],
        time_to=v["time_to"],
        weekdays=[int(d) for d in v["weekdays"]],
    )


class WaitlistApi(APIView):
    @extend_schema(
        summary="The waitlist: patients waiting, first joined first",
        description="Entries still waiting at the branches you see (at one branch with `branch`).",
        parameters=[OpenApiParameter("branch", int, required=False)],
        responses=WaitlistEntryOut(many=True),
    )
    def get(self, request: Request) -> Response:
        q = validated(BranchQuery, request, request.query_params)
        entries = list(waitlist_list(actor=request.user, branch=q["branch"])[:500])
        access_log_records(request, action="list", object_type="waitlist_entry", records=entries)
        return Response(WaitlistEntryOut(entries, many=True).data)

    @extend_schema(
        summary="Put a patient on the waitlist",
        description=(
            "For a service at a branch, with one doctor or any, between two dates and two times of day on the "
            "branch's clock (and on some weekdays). Freed times that suit are offered in the order patients "
            "joined. One waiting entry per patient, service and branch."
        ),
        request=WaitlistEntryIn,
        responses={201: WaitlistEntryOut},
    )
    def post(self, request: Request) -> Response:
        v = validated(WaitlistEntryIn, request)
        authorize(request.user, "patients.view_patient", v["patient"])
        joined = sched.waitlist_join(
            actor=request.user,
            patient=v["patient"],
            branch=v["branch"],
            service=v["service"],
            doctor=v["doctor"],
            window=_window(v),
            notes=v["notes"],
        )
        access_log_records(request, action="create", object_type="waitlist_entry", records=[joined.entry])
        return Response(WaitlistEntryOut(joined.entry).data, status=201)


class WaitlistEntryApi(APIView):
    @extend_schema(
        summary="Take a patient off the waitlist",
        description="An offer they have open goes to the next patient. Removing again changes nothing.",
        request=None,
        responses={200: WaitlistEntryOut, **errors(WaitlistLinkInvalid)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        entry = waitlist_entry_get(actor=request.user, entry_id=pk)
        entry = sched.waitlist_remove(actor=request.user, entry=entry)
        access_log_records(request, action="update", object_type="waitlist_entry", records=[entry])
        return Response(WaitlistEntryOut(entry).data)


class WaitlistOffersApi(APIView):
    @extend_schema(
        summary="Offers of freed times to the waitlist, newest first",
        description=(
            "Each offer holds its time for the patient until `expires_at`; `taken`: another patient accepted "
            "it first; `expired` offers moved on to the next patient."
        ),
        parameters=[
            OpenApiParameter("branch", int, required=False),
            OpenApiParameter("status", str, required=False, enum=[c.value for c in OfferStatus]),
        ],
        responses=WaitlistOfferOut(many=True),
    )
    def get(self, request: Request) -> Response:
        q = validated(OfferQuery, request, request.query_params)
        rows: list[WaitlistOffer] = list(
            waitlist_offer_list(actor=request.user, branch=q["branch"], status=q["status"])[:500]
        )
        access_log_records(request, action="list", object_type="waitlist_entry", records=[o.entry for o in rows])
        return Response(WaitlistOfferOut(rows, many=True).data)
