"""Leave that meets appointments: the proposal (the appointments in a leave's way, each with its
options) and saving the leave with a decision per appointment or for all, in one transaction. The
pages call the same selector and service (frontend/calendar_views.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.fields import StrictDateTimeField, StrictIntegerField, max_length, visible_text
from config.fields import StrictPrimaryKeyRelatedField as Ref
from config.openapi import errors
from scheduling import services as sched
from scheduling.api import serializers as s
from scheduling.exceptions import CalendarBusy, LeaveConflicts, LeaveDecisionsFailed
from scheduling.leave_plan import LeaveAction, leave_proposal
from scheduling.models import CalendarEntry
from scheduling.services import LeaveDecision
from tenants.audit.services import access_log_records
from tenants.authz import authorize

REASON_MAX = max_length(CalendarEntry, "cancellation_reason")


# What a manager may decide for an appointment in a leave's way (named LeaveDecisionActionEnum in the schema).
LEAVE_ACTIONS = [a.value for a in LeaveAction]


class LeaveWindow(serializers.Serializer):
    doctor = Ref(queryset=s.DOCTORS)
    start = StrictDateTimeField()
    end = StrictDateTimeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The leave must end after it starts."]})
        return attrs


class DecisionIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=LEAVE_ACTIONS)
    doctor = Ref(
        queryset=s.DOCTORS,
        required=False,
        allow_null=True,
        default=None,
        help_text="move_to_doctor: the doctor to move to; empty: the first free doctor (by name) "
        "who offers the service at that branch at that time.",
    )
    reason = serializers.CharField(
        max_length=REASON_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="cancel: the reason the patient is told (required).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] == LeaveAction.CANCEL and not visible_text(attrs["reason"].strip()):
            raise serializers.ValidationError({"reason": ["Give the reason the patient will be told."]})
        return attrs


class AppointmentDecisionIn(DecisionIn):
    appointment = StrictIntegerField(min_value=1)


class LeaveResolveIn(LeaveWindow):
    reason = serializers.CharField(
        max_length=max_length(CalendarEntry, "notes"), required=False, allow_blank=True, default=""
    )
    for_all = DecisionIn(required=False, allow_null=True, default=None, help_text="for every appointment not named")
    decisions = AppointmentDecisionIn(many=True, required=False, default=list, max_length=500)  # type: ignore[call-arg]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        ids = [d["appointment"] for d in attrs["decisions"]]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError({"decisions": ["Decide once for each appointment."]})
        return attrs


def _decision(data: dict[str, Any]) -> LeaveDecision:
    return LeaveDecision(LeaveAction(data["action"]), doctor=data["doctor"], reason=data["reason"])


class _Doctor(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


class LeaveItemOut(serializers.Serializer):
    appointment = s.EntryOut()
    free_doctors = _Doctor(many=True, help_text="free at the same time and offering the service at that branch")
    next_free = serializers.DateTimeField(allow_null=True, help_text="the doctor's next free time after the leave")
    movable = serializers.BooleanField()
    cancellable = serializers.BooleanField()


class LeaveProposalOut(serializers.Serializer):
    appointments = LeaveItemOut(many=True, source="items")
    hidden = serializers.IntegerField(help_text="appointments at branches you do not see: they block the leave")
    holds = serializers.IntegerField(help_text="held times in the way, given back when the leave is saved")
    doctors = _Doctor(many=True)


class LeaveResolvedOut(serializers.Serializer):
    leave = s.EntryOut()
    moved = s.EntryOut(many=True)
    cancelled = s.EntryOut(many=True)
    holds_released = serializers.IntegerField()


class LeaveProposalApi(APIView):
    @extend_schema(
        summary="The appointments in a leave's way, each with its options",
        parameters=[
            OpenApiParameter("doctor", int, required=True),
            OpenApiParameter("start", str, required=True, description="date-time with its offset"),
            OpenApiParameter("end", str, required=True, description="date-time with its offset"),
        ],
        responses=LeaveProposalOut,
    )
    def get(self, request: Request) -> Response:
        q = validated(LeaveWindow, request, request.query_params)
        authorize(request.user, "scheduling.manage_leave", q["doctor"])
        proposal = leave_proposal(actor=request.user, doctor=q["doctor"], start=q["start"], end=q["end"])
        access_log_records(
            request, action="list", object_type="appointment", records=[i.appointment for i in proposal.items]
        )
        return Response(LeaveProposalOut(proposal).data)


class LeaveResolveApi(APIView):
    @extend_schema(
        summary="Put a doctor on leave, moving or cancelling the appointments in its way",
        description=(
            "One transaction: each appointment in the leave's way is moved to another doctor at the same "
            "time (`move_to_doctor`, a given doctor or the first free one), moved to the doctor's next "
            "free time after the leave (`next_free_time`) or cancelled with a reason told to the patient "
            "(`cancel`), as `decisions` names it or else as `for_all` says; then the leave is saved. "
            "Without a decision for each, or with one at a branch you do not see, it is refused like a "
            "plain leave (409 leave_conflicts_appointments). A decision that cannot be carried out "
            "refuses all (409 leave_decisions_failed, `fields` by appointment id)."
        ),
        request=LeaveResolveIn,
        responses={201: LeaveResolvedOut, **errors(LeaveConflicts, LeaveDecisionsFailed, CalendarBusy)},
    )
    def post(self, request: Request) -> Response:
        v = validated(LeaveResolveIn, request)
        done = sched.leave_create_resolving(
            actor=request.user,
            doctor=v["doctor"],
            start=v["start"],
            end=v["end"],
            reason=v["reason"],
            decisions={d["appointment"]: _decision(d) for d in v["decisions"]},
            for_all=_decision(v["for_all"]) if v["for_all"] else None,
        )
        access_log_records(request, action="update", object_type="appointment", records=done.moved + done.cancelled)
        return Response(LeaveResolvedOut(done).data, status=201)
